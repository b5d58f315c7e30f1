// What the two services' settings loaders share: the configuration error (a service exits with
// code 2 on it), integer variables, and merging a JSON settings file over the defaults.

import { readFileSync } from 'node:fs';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** An integer setting from an environment variable, within [min, max]. */
export function envInt(v: string, name: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(v)) throw new ConfigError(`${name}: expected an integer, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(`${name}: must be between ${min} and ${max}`);
  return n;
}

/**
 * Merges a JSON file over `base`: only keys `base` has, each of the type it has there (lists of
 * strings for lists, nested objects merged key by key). `special` handles top-level keys that
 * have no default (e.g. `tls`), returning the value to store.
 */
export function mergeConfigFile<T>(base: T, file: string, special: Record<string, (v: unknown) => unknown> = {}): T {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`config file ${file}: ${(e as Error).message}`);
  }
  const merge = (into: Record<string, unknown>, from: unknown, path: string): void => {
    if (typeof from !== 'object' || from === null || Array.isArray(from))
      throw new ConfigError(`${path || 'config'}: expected an object`);
    for (const [k, v] of Object.entries(from)) {
      const p = path ? `${path}.${k}` : k;
      const handler = path === '' ? special[k] : undefined;
      if (handler) {
        into[k] = handler(v);
        continue;
      }
      if (!(k in into)) throw new ConfigError(`${p}: unknown setting`);
      const cur = into[k];
      if (Array.isArray(cur)) {
        if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
          throw new ConfigError(`${p}: expected a list of strings`);
        into[k] = v;
      } else if (cur && typeof cur === 'object') merge(cur as Record<string, unknown>, v, p);
      else if (typeof v !== typeof cur) throw new ConfigError(`${p}: expected a ${typeof cur}`);
      else into[k] = v;
    }
  };
  const out = structuredClone(base) as unknown as Record<string, unknown>;
  merge(out, raw, '');
  return out as unknown as T;
}
