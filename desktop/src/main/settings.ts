// The desktop's settings: built-in defaults (the shell's, e.g. the local stack's), then the user's choices
// (<profile>/settings.json), then IT's machine-wide policy file, which wins and locks what it sets. The policy file
// lives where only an administrator can write: /etc/tandem/policy.json on Linux,
// /Library/Managed Preferences/Tandem/policy.json on macOS, %ProgramData%\Tandem\policy.json on Windows
// (TANDEM_POLICY_FILE overrides, for tests and for IT's own staging).
//
// The signer's identity public key and the chain id are never user choices: they come from the shell's defaults or
// the policy file, because a desktop that let the user (or the coordinator) change them could be pointed at a fake
// signer or another network.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { ensurePrivateDir, replaceFileAtomic } from '../vault/atomicFile.ts';
import { type Settings } from './views.ts';
import { DesktopError } from './errors.ts';

export interface SettingsDefaults {
  coordinatorUrl: string;
  signerPublicKey: string;
  chainId: number;
  idleLockMinutes?: number;
  updateUrl?: string | null;
  /** PEM file of the coordinator's CA, for a private CA (the local stack's). */
  coordinatorCaFile?: string;
}

const httpsUrl = z
  .string()
  .url()
  .max(2048)
  .refine((u) => new URL(u).protocol === 'https:', 'must be https://');
const policySchema = z.strictObject({
  coordinatorUrl: httpsUrl.optional(),
  signerPublicKey: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/)
    .optional(),
  idleLockMinutes: z.number().int().min(1).max(240).optional(),
  updateUrl: httpsUrl.nullable().optional(),
  coordinatorCaFile: z.string().min(1).max(4096).optional(),
});
const userSchema = z.strictObject({
  coordinatorUrl: httpsUrl.optional(),
  idleLockMinutes: z.number().int().min(1).max(240).optional(),
});
type UserChoices = z.infer<typeof userSchema>;

/**
 * The defaults when the shell gives none (the packaged app): the environment, which IT's deployment can set, then
 * values that cannot sign anything (no signer key pinned) until IT's policy file sets them.
 */
export function shellDefaults(env: NodeJS.ProcessEnv = process.env): SettingsDefaults {
  const chainId = Number(env['TANDEM_CHAIN_ID'] ?? '1');
  return {
    coordinatorUrl: env['TANDEM_COORDINATOR_URL'] ?? 'https://tandem-coordinator.invalid',
    signerPublicKey: /^[0-9a-fA-F]{64}$/.test(env['TANDEM_SIGNER_PUBLIC_KEY'] ?? '')
      ? env['TANDEM_SIGNER_PUBLIC_KEY']!
      : '',
    chainId: Number.isSafeInteger(chainId) && chainId > 0 ? chainId : 1,
    ...(env['TANDEM_COORDINATOR_CA_FILE'] ? { coordinatorCaFile: env['TANDEM_COORDINATOR_CA_FILE'] } : {}),
  };
}

export function defaultPolicyFile(): string {
  if (process.env['TANDEM_POLICY_FILE']) return process.env['TANDEM_POLICY_FILE'];
  if (process.platform === 'win32')
    return join(process.env['ProgramData'] ?? 'C:\\ProgramData', 'Tandem', 'policy.json');
  if (process.platform === 'darwin') return '/Library/Managed Preferences/Tandem/policy.json';
  return '/etc/tandem/policy.json';
}

function readJson<T>(file: string, schema: z.ZodType<T>, what: string): T | undefined {
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new DesktopError('SETTINGS_INVALID', `The ${what} (${file}) is not valid JSON. Ask IT to correct it.`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const field = r.error.issues[0]?.path.join('.') || '(file)';
    throw new DesktopError(
      'SETTINGS_INVALID',
      `The ${what} (${file}) has a wrong setting: ${field}. Ask IT to correct it.`,
    );
  }
  return r.data;
}

export class SettingsStore {
  private readonly file: string;
  private current: Settings;
  private caFile: string | undefined;

  constructor(
    profileDir: string,
    private readonly defaults: SettingsDefaults,
    private readonly policyFile = defaultPolicyFile(),
  ) {
    this.file = join(profileDir, 'settings.json');
    this.current = this.load();
  }

  get(): Settings {
    return { ...this.current, managed: [...this.current.managed] };
  }

  /** The coordinator's CA file, if a private CA is configured. */
  coordinatorCaFile(): string | undefined {
    return this.caFile;
  }

  /** Saves the user's choices; a setting IT locked is refused. */
  async update(change: UserChoices): Promise<Settings> {
    const parsed = userSchema.safeParse(change);
    if (!parsed.success)
      throw new DesktopError('BAD_REQUEST', 'The coordinator address must start with https://.', {
        field: String(parsed.error.issues[0]?.path[0] ?? ''),
      });
    for (const k of Object.keys(parsed.data) as Array<keyof UserChoices>)
      if (this.current.managed.includes(k))
        throw new DesktopError(
          'SETTING_MANAGED',
          'This setting is set by your IT department and cannot be changed here.',
          {
            field: k,
          },
        );
    const saved = readJson(this.file, userSchema, 'settings file') ?? {};
    await ensurePrivateDir(dirname(this.file));
    await replaceFileAtomic(this.file, JSON.stringify({ ...saved, ...parsed.data }, null, 2) + '\n');
    this.current = this.load();
    return this.get();
  }

  private load(): Settings {
    const policy = readJson(this.policyFile, policySchema, 'IT policy file') ?? {};
    const user = readJson(this.file, userSchema, 'settings file') ?? {};
    const managed = (['coordinatorUrl', 'idleLockMinutes', 'signerPublicKey', 'updateUrl'] as const).filter(
      (k) => policy[k] !== undefined,
    );
    this.caFile = policy.coordinatorCaFile ?? this.defaults.coordinatorCaFile;
    return {
      coordinatorUrl: policy.coordinatorUrl ?? user.coordinatorUrl ?? this.defaults.coordinatorUrl,
      idleLockMinutes: policy.idleLockMinutes ?? user.idleLockMinutes ?? this.defaults.idleLockMinutes ?? 15,
      signerPublicKey: (policy.signerPublicKey ?? this.defaults.signerPublicKey).toLowerCase(),
      chainId: this.defaults.chainId,
      updateUrl: policy.updateUrl ?? this.defaults.updateUrl ?? null,
      managed: [...managed],
    };
  }
}
