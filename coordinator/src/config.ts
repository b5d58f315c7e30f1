// The coordinator's settings: embedded development defaults (the local stack under
// .tandem/), then TANDEM_COORDINATOR_* variables. Each value is checked at start.

import { join, resolve } from 'node:path';

export interface CoordinatorConfig {
  dataDir: string;
  host: string;
  /** HTTPS + WSS port; 0 picks a free one. */
  port: number;
  /** Unset: a development certificate for localhost is generated under <dataDir>/tls. */
  tls?: { cert: string; key: string };
  /** Origins allowed to open the WSS endpoint (the desktop's shells); empty allows none but tools with no Origin. */
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

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

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

function int(v: string, name: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(v)) throw new ConfigError(`${name}: expected an integer, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(`${name}: must be between ${min} and ${max}`);
  return n;
}

export function loadConfig(env: Env = process.env): CoordinatorConfig {
  const root = resolve(env.TANDEM_DATA_ROOT ?? join(env.INIT_CWD ?? process.cwd(), '.tandem'));
  const c = defaultConfig(root);
  if (env.TANDEM_COORDINATOR_DATA_DIR) c.dataDir = resolve(env.TANDEM_COORDINATOR_DATA_DIR);
  if (env.TANDEM_COORDINATOR_HOST) c.host = env.TANDEM_COORDINATOR_HOST;
  if (env.TANDEM_COORDINATOR_PORT) c.port = int(env.TANDEM_COORDINATOR_PORT, 'TANDEM_COORDINATOR_PORT', 0, 65535);
  if (env.TANDEM_COORDINATOR_ORIGINS) c.allowedOrigins = env.TANDEM_COORDINATOR_ORIGINS.split(',').filter(Boolean);
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
  if (env.TANDEM_ENV === 'production') c.production = true;
  return validate(c);
}

export function validate(c: CoordinatorConfig): CoordinatorConfig {
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535) throw new ConfigError('port: must be 0–65535');
  for (const o of c.allowedOrigins) {
    let u: URL;
    try {
      u = new URL(o);
    } catch {
      throw new ConfigError(`allowedOrigins: ${JSON.stringify(o)} is not a URL`);
    }
    if (u.origin !== o)
      throw new ConfigError(`allowedOrigins: ${JSON.stringify(o)} must be an origin like https://host:port`);
  }
  if (!/^[A-Za-z0-9.-]+:\d+$/.test(c.signer.address)) throw new ConfigError('signer.address: expected host:port');
  if (c.permitTtlMs < 5_000 || c.permitTtlMs > 120_000) throw new ConfigError('permitTtlMs: must be 5000–120000');
  if (!/^https?:\/\//.test(c.chain.rpcUrl)) throw new ConfigError('chain.rpcUrl: expected an http(s) URL');
  if (!Number.isInteger(c.addressBookQuorum) || c.addressBookQuorum < 1 || c.addressBookQuorum > 10)
    throw new ConfigError('addressBookQuorum: must be an integer 1–10');
  if (c.tokenTtlMs < 60_000) throw new ConfigError('tokenTtlMs: at least one minute');
  if (c.production && !c.tls) throw new ConfigError('production: set TLS files (no generated certificates)');
  return c;
}
