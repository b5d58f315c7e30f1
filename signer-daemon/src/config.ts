// The daemon's settings: embedded defaults, then an optional JSON file
// (TANDEM_SIGNER_CONFIG or --config), then environment variables. Every value is checked at
// start, and a wrong one stops the daemon with an error naming the setting.

import { ConfigError, envInt, mergeConfigFile } from '@tandem/common/config';
import { existsSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
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
  /** TANDEM_ENV=production: the development conveniences are refused (refuseUnsafeProduction). */
  production: boolean;
  permit: PermitPolicy & { rotationGraceMs: number };
  limits: SessionLimits;
  logLevel: string;
}

export { ConfigError };

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

const int = envInt;

/** A JSON settings file over the defaults; `tls` has no default, so it is read here. */
function mergeFile(base: DaemonConfig, file: string): DaemonConfig {
  return mergeConfigFile(base, file, {
    tls: (v) => {
      const t = v as Record<string, unknown>;
      const ok =
        typeof t === 'object' &&
        t !== null &&
        ['caCert', 'serverCert', 'serverKey'].every((k) => typeof t[k] === 'string');
      if (!ok) throw new ConfigError('tls: expected {"caCert": FILE, "serverCert": FILE, "serverKey": FILE}');
      return {
        caCert: resolve(String(t.caCert)),
        serverCert: resolve(String(t.serverCert)),
        serverKey: resolve(String(t.serverKey)),
      };
    },
  });
}

export function loadConfig(env: Env = process.env, argv: string[] = []): DaemonConfig {
  // Development default: .tandem/signer where npm was started (INIT_CWD), e.g. the repository root.
  const devDataDir = resolve(join(env.INIT_CWD ?? process.cwd(), '.tandem', 'signer'));
  const dataDir = resolve(env.TANDEM_SIGNER_DATA_DIR ?? devDataDir);
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
  // A typo here would silently mean development (generated KEK and certificates), so only two values exist.
  if (env.TANDEM_ENV !== undefined && !['', 'development', 'production'].includes(env.TANDEM_ENV))
    throw new ConfigError(`TANDEM_ENV: "production" or "development", got ${JSON.stringify(env.TANDEM_ENV)}`);
  if (env.TANDEM_ENV === 'production') c.production = true;
  validate(c);
  if (c.production) refuseUnsafeProduction(c, env, devDataDir);
  return c;
}

/** True when `path` is `dir` or lies under it (symlinks resolved where the files exist). */
function isInside(path: string, dir: string): boolean {
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : p);
  const rel = relative(real(dir), real(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * The development conveniences that production refuses (docs/operator-guide.md, "Production settings"):
 * generated certificates, a generated KEK, a KEK in the environment or beside the data it protects, and
 * the implicit development data directory. Each message names the setting and what to do.
 */
function refuseUnsafeProduction(c: DaemonConfig, env: Env, devDataDir: string): void {
  if (c.dataDir === devDataDir)
    throw new ConfigError(
      `TANDEM_SIGNER_DATA_DIR: production needs an explicit data directory (the development default is ` +
        `${devDataDir}); set it, e.g. to /var/lib/tandem-signer`,
    );
  for (const f of [c.tls!.caCert, c.tls!.serverCert, c.tls!.serverKey])
    if (isInside(f, join(c.dataDir, 'tls')))
      throw new ConfigError(
        `TANDEM_SIGNER_TLS_*: ${f} is in ${join(c.dataDir, 'tls')}, where development certificates are generated; ` +
          `production uses your PKI's CA, server certificate and key, kept outside the data directory`,
      );
  if (env.TANDEM_SIGNER_KEK)
    throw new ConfigError(
      'TANDEM_SIGNER_KEK: a KEK in the environment is refused in production (environments leak into process ' +
        'listings, `docker inspect`, crash reports and support bundles); put it in a file (mode 600) outside the ' +
        'data directory and set TANDEM_SIGNER_KEK_FILE (with systemd: LoadCredential=)',
    );
  if (isInside(c.kekFile, c.dataDir))
    throw new ConfigError(
      `TANDEM_SIGNER_KEK_FILE: ${c.kekFile} is inside the data directory ${c.dataDir}; production keeps the KEK ` +
        `apart from the data it seals, so that a copy of the directory or of its backups is useless without it. ` +
        `Move it (e.g. to /etc/tandem/signer/kek.hex, mode 600) and set TANDEM_SIGNER_KEK_FILE`,
    );
  if (!existsSync(c.kekFile))
    throw new ConfigError(
      `TANDEM_SIGNER_KEK_FILE: ${c.kekFile} does not exist, and production never generates a KEK: create one ` +
        `(umask 077; openssl rand -hex 32 > FILE), back it up apart from the data, and set TANDEM_SIGNER_KEK_FILE`,
    );
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
  if (c.production && !c.tls)
    throw new ConfigError(
      'TANDEM_SIGNER_TLS_CA, TANDEM_SIGNER_TLS_CERT, TANDEM_SIGNER_TLS_KEY: production never generates ' +
        'certificates; set all three (or "tls" in the config file) to your PKI\'s CA, server certificate and key',
    );
  return c;
}
