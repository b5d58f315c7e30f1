// The coordinator's settings: embedded development defaults (the local stack under
// .tandem/), then an optional JSON file (TANDEM_COORDINATOR_CONFIG), then TANDEM_COORDINATOR_*
// and TANDEM_* variables. Each value is checked at start, and with TANDEM_ENV=production the
// development conveniences are refused (refuseUnsafeProduction); every error names the setting.

import { ConfigError, envInt, mergeConfigFile } from '@tandem/common/config';
import { isAbsolute, join, relative, resolve } from 'node:path';

export interface CoordinatorConfig {
  dataDir: string;
  host: string;
  /** HTTPS + WSS port; 0 picks a free one. */
  port: number;
  /** Unset: a development certificate for localhost is generated under <dataDir>/tls. */
  tls?: { cert: string; key: string };
  /**
   * Origins allowed to open the WSS endpoint: https://host[:port] or the desktop app's own scheme
   * (app://name); http:// only in development. Empty allows none but clients that send no Origin
   * (the desktop's worker).
   */
  allowedOrigins: string[];
  signer: { address: string; caCert: string; clientCert: string; clientKey: string };
  /** The permit key shared with the signer: { keyId, secret (base64) } JSON, mode 600. */
  permitKeyFile: string;
  permitTtlMs: number;
  chain: { rpcUrl: string; chainId: number; confirmations: number; pollMs: number };
  tokenTtlMs: number;
  withdrawalTtlMs: number;
  /** Per-round limit for relayed MPC messages. */
  mpcRoundTimeoutMs: number;
  /** Approvals (by approvers other than the proposer) an address-book entry needs before it is whitelisted. */
  addressBookQuorum: number;
  production: boolean;
  logLevel: string;
}

export { ConfigError };

export function defaultConfig(root: string): CoordinatorConfig {
  const signerDir = join(root, 'signer');
  return {
    dataDir: join(root, 'coordinator'),
    host: '127.0.0.1',
    port: 8443,
    allowedOrigins: [],
    signer: {
      address: 'localhost:7443',
      caCert: join(signerDir, 'tls', 'ca.pem'),
      clientCert: join(signerDir, 'tls', 'client.pem'),
      clientKey: join(signerDir, 'tls', 'client-key.pem'),
    },
    permitKeyFile: join(signerDir, 'permit-key.json'),
    permitTtlMs: 60_000,
    chain: { rpcUrl: 'http://127.0.0.1:8545', chainId: 31337, confirmations: 1, pollMs: 500 },
    tokenTtlMs: 8 * 3_600_000,
    withdrawalTtlMs: 7 * 24 * 3_600_000,
    mpcRoundTimeoutMs: 60_000,
    addressBookQuorum: 2,
    production: false,
    logLevel: 'info',
  };
}

type Env = Record<string, string | undefined>;

const int = envInt;

/** A JSON settings file over the defaults; `tls` has no default, so it is read here. */
function mergeFile(base: CoordinatorConfig, file: string): CoordinatorConfig {
  return mergeConfigFile(base, file, {
    tls: (v) => {
      const t = v as Record<string, unknown>;
      if (typeof t !== 'object' || t === null || typeof t.cert !== 'string' || typeof t.key !== 'string')
        throw new ConfigError('tls: expected {"cert": FILE, "key": FILE}');
      return { cert: resolve(t.cert), key: resolve(t.key) };
    },
  });
}

export function loadConfig(env: Env = process.env): CoordinatorConfig {
  const root = resolve(env.TANDEM_DATA_ROOT ?? join(env.INIT_CWD ?? process.cwd(), '.tandem'));
  const dev = defaultConfig(root);
  let c = defaultConfig(root);
  if (env.TANDEM_COORDINATOR_CONFIG) c = mergeFile(c, resolve(env.TANDEM_COORDINATOR_CONFIG));
  const file = (name: string) => resolve(env[name]!);
  if (env.TANDEM_COORDINATOR_DATA_DIR) c.dataDir = resolve(env.TANDEM_COORDINATOR_DATA_DIR);
  if (env.TANDEM_COORDINATOR_HOST) c.host = env.TANDEM_COORDINATOR_HOST;
  if (env.TANDEM_COORDINATOR_PORT) c.port = int(env.TANDEM_COORDINATOR_PORT, 'TANDEM_COORDINATOR_PORT', 0, 65535);
  if (env.TANDEM_COORDINATOR_ORIGINS)
    c.allowedOrigins = env.TANDEM_COORDINATOR_ORIGINS.split(',')
      .map((o) => o.trim())
      .filter(Boolean);
  if (env.TANDEM_SIGNER_ADDRESS) c.signer.address = env.TANDEM_SIGNER_ADDRESS;
  if (env.TANDEM_CHAIN_RPC_URL) c.chain.rpcUrl = env.TANDEM_CHAIN_RPC_URL;
  if (env.TANDEM_CHAIN_ID) c.chain.chainId = int(env.TANDEM_CHAIN_ID, 'TANDEM_CHAIN_ID', 1, Number.MAX_SAFE_INTEGER);
  if (env.TANDEM_COORDINATOR_ADDRESS_BOOK_QUORUM)
    c.addressBookQuorum = int(
      env.TANDEM_COORDINATOR_ADDRESS_BOOK_QUORUM,
      'TANDEM_COORDINATOR_ADDRESS_BOOK_QUORUM',
      1,
      10,
    );
  if (env.TANDEM_COORDINATOR_LOG_LEVEL) c.logLevel = env.TANDEM_COORDINATOR_LOG_LEVEL;
  if (env.TANDEM_COORDINATOR_TLS_CERT || env.TANDEM_COORDINATOR_TLS_KEY) {
    for (const n of ['TANDEM_COORDINATOR_TLS_CERT', 'TANDEM_COORDINATOR_TLS_KEY'])
      if (!env[n]) throw new ConfigError(`${n}: required when either TANDEM_COORDINATOR_TLS_* is set`);
    c.tls = { cert: file('TANDEM_COORDINATOR_TLS_CERT'), key: file('TANDEM_COORDINATOR_TLS_KEY') };
  }
  if (env.TANDEM_COORDINATOR_SIGNER_CA) c.signer.caCert = file('TANDEM_COORDINATOR_SIGNER_CA');
  if (env.TANDEM_COORDINATOR_SIGNER_CERT) c.signer.clientCert = file('TANDEM_COORDINATOR_SIGNER_CERT');
  if (env.TANDEM_COORDINATOR_SIGNER_KEY) c.signer.clientKey = file('TANDEM_COORDINATOR_SIGNER_KEY');
  if (env.TANDEM_COORDINATOR_PERMIT_KEY_FILE) c.permitKeyFile = file('TANDEM_COORDINATOR_PERMIT_KEY_FILE');
  // A typo here would silently mean development (generated certificates), so only two values exist.
  if (env.TANDEM_ENV !== undefined && !['', 'development', 'production'].includes(env.TANDEM_ENV))
    throw new ConfigError(`TANDEM_ENV: "production" or "development", got ${JSON.stringify(env.TANDEM_ENV)}`);
  if (env.TANDEM_ENV === 'production') c.production = true;
  validate(c);
  if (c.production) refuseUnsafeProduction(c, dev, env);
  return c;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** An origin a desktop shell may send: https://host[:port], or the app's own scheme (app://tandem). */
function originProblem(o: string, production: boolean): string | undefined {
  let u: URL;
  try {
    u = new URL(o);
  } catch {
    return 'is not a URL';
  }
  const special = ['http:', 'https:', 'ws:', 'wss:', 'ftp:', 'file:'].includes(u.protocol);
  // WHATWG gives a custom scheme the origin "null", so it is checked by shape instead.
  const shaped = special ? u.origin === o : /^[a-z][a-z0-9+.-]*:\/\/[a-z0-9.-]+(:\d+)?$/i.test(o);
  if (!shaped) return 'must be an origin like https://host:port or app://name (no path, no trailing slash)';
  if (['ws:', 'wss:', 'ftp:', 'file:', 'javascript:', 'data:', 'blob:'].includes(u.protocol))
    return `cannot be a ${u.protocol}// origin`;
  if (production && u.protocol === 'http:')
    return "is plain http://; production accepts only https:// origins or the desktop app's own scheme";
  return undefined;
}

/** True when `path` is `dir` or lies under it. */
function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * The development conveniences that production refuses (docs/operator-guide.md, "Production settings"):
 * generated certificates, the signer's development client certificate and permit key export, a plain
 * http:// Ethereum node off this host, http:// origins, an admin password kept in the environment, and
 * the implicit data directory. Each message names the setting and what to do.
 */
function refuseUnsafeProduction(c: CoordinatorConfig, dev: CoordinatorConfig, env: Env): void {
  if (c.dataDir === dev.dataDir && !env.TANDEM_DATA_ROOT)
    throw new ConfigError(
      `TANDEM_COORDINATOR_DATA_DIR: production needs an explicit data directory (the development default is ` +
        `${dev.dataDir}); set it, e.g. to /var/lib/tandem-coordinator`,
    );
  for (const f of [c.tls!.cert, c.tls!.key])
    if (isInside(f, join(c.dataDir, 'tls')))
      throw new ConfigError(
        `TANDEM_COORDINATOR_TLS_*: ${f} is in ${join(c.dataDir, 'tls')}, where development certificates are ` +
          `generated; production uses a certificate for the coordinator's public name from your CA`,
      );
  const signerFiles = [
    ['TANDEM_COORDINATOR_SIGNER_CA', c.signer.caCert, dev.signer.caCert],
    ['TANDEM_COORDINATOR_SIGNER_CERT', c.signer.clientCert, dev.signer.clientCert],
    ['TANDEM_COORDINATOR_SIGNER_KEY', c.signer.clientKey, dev.signer.clientKey],
  ] as const;
  for (const [name, value, devValue] of signerFiles)
    if (value === devValue)
      throw new ConfigError(
        `${name}: production does not use the development signer's generated certificates (${devValue}); set it ` +
          `to the CA that issued the signer's certificate, and the coordinator's client certificate and key from your PKI`,
      );
  if (c.permitKeyFile === dev.permitKeyFile)
    throw new ConfigError(
      `TANDEM_COORDINATOR_PERMIT_KEY_FILE: production does not read the development signer's permit key export ` +
        `(${dev.permitKeyFile}); set it to the file made by the signer's \`admin rotate-permit-key --out FILE\``,
    );
  const rpc = new URL(c.chain.rpcUrl);
  if (rpc.protocol === 'http:' && !LOOPBACK.test(rpc.hostname))
    throw new ConfigError(
      `TANDEM_CHAIN_RPC_URL: plain http:// to ${rpc.hostname} is refused in production (anyone on the path could ` +
        `feed the coordinator false deposits and balances); use https://, or a node on this host (127.0.0.1)`,
    );
  if (env.TANDEM_ADMIN_PASSWORD !== undefined)
    throw new ConfigError(
      'TANDEM_ADMIN_PASSWORD: an admin password kept in the environment is refused in production; remove it, ' +
        'and create admins with `admin create-admin`, typing the password at its prompt or piping it on stdin',
    );
}

export function validate(c: CoordinatorConfig): CoordinatorConfig {
  const between = (v: number, n: string, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) throw new ConfigError(`${n}: must be an integer ${min}–${max}`);
  };
  between(c.port, 'port (TANDEM_COORDINATOR_PORT)', 0, 65535);
  for (const o of c.allowedOrigins) {
    const problem = originProblem(o, c.production);
    if (problem) throw new ConfigError(`allowedOrigins (TANDEM_COORDINATOR_ORIGINS): ${JSON.stringify(o)} ${problem}`);
  }
  if (!/^[A-Za-z0-9.-]+:\d+$/.test(c.signer.address))
    throw new ConfigError('signer.address (TANDEM_SIGNER_ADDRESS): expected host:port');
  between(c.permitTtlMs, 'permitTtlMs', 5_000, 120_000);
  if (!/^https?:\/\/[^/]/.test(c.chain.rpcUrl) || !URL.canParse(c.chain.rpcUrl))
    throw new ConfigError('chain.rpcUrl (TANDEM_CHAIN_RPC_URL): expected an http(s) URL');
  between(c.chain.chainId, 'chain.chainId (TANDEM_CHAIN_ID)', 1, Number.MAX_SAFE_INTEGER);
  between(c.chain.confirmations, 'chain.confirmations', 0, 1_000);
  between(c.chain.pollMs, 'chain.pollMs', 50, 600_000);
  between(c.addressBookQuorum, 'addressBookQuorum (TANDEM_COORDINATOR_ADDRESS_BOOK_QUORUM)', 1, 10);
  between(c.tokenTtlMs, 'tokenTtlMs', 60_000, 7 * 24 * 3_600_000);
  between(c.withdrawalTtlMs, 'withdrawalTtlMs', 60_000, 365 * 24 * 3_600_000);
  between(c.mpcRoundTimeoutMs, 'mpcRoundTimeoutMs', 1_000, 600_000);
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(c.logLevel))
    throw new ConfigError(
      'logLevel (TANDEM_COORDINATOR_LOG_LEVEL): one of fatal, error, warn, info, debug, trace, silent',
    );
  if (c.production && !c.tls)
    throw new ConfigError(
      'TANDEM_COORDINATOR_TLS_CERT, TANDEM_COORDINATOR_TLS_KEY: production never generates certificates (and so ' +
        'never serves plain ws://); set both (or "tls" in the config file) to a certificate for the ' +
        "coordinator's public name and its key",
    );
  return c;
}
