// The daemon's settings: embedded defaults, then an optional JSON file
// (TANDEM_SIGNER_CONFIG or --config), then environment variables. Every value is checked at
// start, and a wrong one stops the daemon with an error naming the setting.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type SessionLimits } from './context.ts';
import { type PermitPolicy } from './permits/checkPermit.ts';

export interface TlsFiles {
  caCert: string;
  serverCert: string;
  serverKey: string;
}

export interface DaemonConfig {
  dataDir: string;
  host: string;
  /** gRPC port; 0 picks a free one. */
  port: number;
  /** Health and metrics over HTTP on 127.0.0.1; 0 picks a free one, -1 turns it off. */
  opsPort: number;
  /** Unset: a development CA and certificates are generated under <dataDir>/tls. */
  tls?: TlsFiles;
  /** Client-certificate identities (CN or SAN) allowed to call the signer. */
  allowedClients: string[];
  kekFile: string;
  /** Production refuses generated certificates and a generated KEK. */
  production: boolean;
  permit: PermitPolicy & { rotationGraceMs: number };
  limits: SessionLimits;
  logLevel: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function defaultConfig(dataDir: string): DaemonConfig {
  return {
    dataDir,
    host: '127.0.0.1',
    port: 7443,
    opsPort: 9464,
    allowedClients: ['tandem-coordinator'],
    kekFile: join(dataDir, 'kek.hex'),
    production: false,
    permit: { maxTtlMs: 120_000, clockSkewMs: 5_000, rotationGraceMs: 600_000 },
    limits: {
      signSessionTtlMs: 120_000,
      dkgSessionTtlMs: 600_000,
      maxSigningSessionsPerKeyset: 64,
      maxSessionsTotal: 1_000,
      signingRate: { global: { perSecond: 200, burst: 400 }, perKeyset: { perSecond: 50, burst: 100 } },
    },
    logLevel: 'info',
  };
}

type Env = Record<string, string | undefined>;

function int(v: string, name: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(v)) throw new ConfigError(`${name}: expected an integer, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(`${name}: must be between ${min} and ${max}`);
  return n;
}

/** Merges a parsed JSON config file over the defaults (only known keys; unknown ones are errors). */
function mergeFile(base: DaemonConfig, file: string): DaemonConfig {
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
      if (!(k in into) && !(path === '' && k === 'tls')) throw new ConfigError(`${p}: unknown setting`);
      const cur = into[k];
      if (cur && typeof cur === 'object' && !Array.isArray(cur)) merge(cur as Record<string, unknown>, v, p);
      else if (k === 'tls' && path === '') into[k] = v;
      else if (cur !== undefined && typeof v !== typeof cur) throw new ConfigError(`${p}: expected a ${typeof cur}`);
      else into[k] = v;
    }
  };
  const out = structuredClone(base) as unknown as Record<string, unknown>;
  merge(out, raw, '');
  return out as unknown as DaemonConfig;
}

export function loadConfig(env: Env = process.env, argv: string[] = []): DaemonConfig {
  // Development default: .tandem/signer where npm was started (INIT_CWD), e.g. the repository root.
  const dataDir = resolve(env.TANDEM_SIGNER_DATA_DIR ?? join(env.INIT_CWD ?? process.cwd(), '.tandem', 'signer'));
  let c = defaultConfig(dataDir);
  const i = argv.indexOf('--config');
  const file = i >= 0 ? argv[i + 1] : env.TANDEM_SIGNER_CONFIG;
  if (file) c = mergeFile(c, file);
  if (env.TANDEM_SIGNER_HOST) c.host = env.TANDEM_SIGNER_HOST;
  if (env.TANDEM_SIGNER_PORT) c.port = int(env.TANDEM_SIGNER_PORT, 'TANDEM_SIGNER_PORT', 0, 65535);
  if (env.TANDEM_SIGNER_OPS_PORT) c.opsPort = int(env.TANDEM_SIGNER_OPS_PORT, 'TANDEM_SIGNER_OPS_PORT', -1, 65535);
  if (env.TANDEM_SIGNER_KEK_FILE) c.kekFile = resolve(env.TANDEM_SIGNER_KEK_FILE);
  if (env.TANDEM_SIGNER_ALLOWED_CLIENTS) c.allowedClients = env.TANDEM_SIGNER_ALLOWED_CLIENTS.split(',');
  if (env.TANDEM_SIGNER_LOG_LEVEL) c.logLevel = env.TANDEM_SIGNER_LOG_LEVEL;
  if (env.TANDEM_SIGNER_TLS_CA || env.TANDEM_SIGNER_TLS_CERT || env.TANDEM_SIGNER_TLS_KEY) {
    const need = (n: string) => {
      const v = env[n];
      if (!v) throw new ConfigError(`${n}: required when any TANDEM_SIGNER_TLS_* is set`);
      return resolve(v);
    };
    c.tls = {
      caCert: need('TANDEM_SIGNER_TLS_CA'),
      serverCert: need('TANDEM_SIGNER_TLS_CERT'),
      serverKey: need('TANDEM_SIGNER_TLS_KEY'),
    };
  }
  if (env.TANDEM_ENV === 'production') c.production = true;
  return validate(c);
}

export function validate(c: DaemonConfig): DaemonConfig {
  const positive = (v: number, n: string) => {
    if (!Number.isInteger(v) || v <= 0) throw new ConfigError(`${n}: must be a positive integer`);
  };
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535) throw new ConfigError('port: must be 0–65535');
  if (!Number.isInteger(c.opsPort) || c.opsPort < -1 || c.opsPort > 65535)
    throw new ConfigError('opsPort: must be -1–65535');
  if (c.allowedClients.length === 0 || c.allowedClients.some((s) => s.trim() === ''))
    throw new ConfigError('allowedClients: list at least one client identity');
  positive(c.permit.maxTtlMs, 'permit.maxTtlMs');
  if (c.permit.maxTtlMs > 3_600_000) throw new ConfigError('permit.maxTtlMs: at most one hour');
  if (!Number.isInteger(c.permit.clockSkewMs) || c.permit.clockSkewMs < 0 || c.permit.clockSkewMs > 60_000)
    throw new ConfigError('permit.clockSkewMs: must be 0–60000');
  if (c.permit.rotationGraceMs < c.permit.maxTtlMs)
    throw new ConfigError('permit.rotationGraceMs: must be at least permit.maxTtlMs');
  positive(c.limits.signSessionTtlMs, 'limits.signSessionTtlMs');
  positive(c.limits.dkgSessionTtlMs, 'limits.dkgSessionTtlMs');
  positive(c.limits.maxSigningSessionsPerKeyset, 'limits.maxSigningSessionsPerKeyset');
  positive(c.limits.maxSessionsTotal, 'limits.maxSessionsTotal');
  for (const k of ['global', 'perKeyset'] as const) {
    positive(c.limits.signingRate[k].perSecond, `limits.signingRate.${k}.perSecond`);
    positive(c.limits.signingRate[k].burst, `limits.signingRate.${k}.burst`);
  }
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(c.logLevel))
    throw new ConfigError('logLevel: one of fatal, error, warn, info, debug, trace, silent');
  if (c.production) {
    if (!c.tls) throw new ConfigError('production: set TANDEM_SIGNER_TLS_CA/CERT/KEY (no generated certificates)');
  }
  return c;
}
