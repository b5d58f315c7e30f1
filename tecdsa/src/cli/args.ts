// Minimal strict argument parsing for the CLIs (no dependency; unknown flags are errors).

export class UsageError extends Error {}

export function parseArgs<const F extends Record<string, 'flag' | 'value'>>(argv: string[], spec: F) {
  const out: Partial<Record<keyof F, string | true>> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.replace(/^--/, '');
    if (!a.startsWith('--') || !(name in spec)) throw new UsageError(`unknown argument ${a}`);
    if (spec[name] === 'flag') out[name as keyof F] = true;
    else {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      out[name as keyof F] = v;
    }
  }
  return out;
}
