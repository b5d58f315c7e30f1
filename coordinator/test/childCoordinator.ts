// The coordinator (and the signer) as child processes (`node --import tsx src/main.ts`), for crash
// tests and the benchmark: a child can be killed with SIGKILL (no shutdown code runs) and started
// again on the same data. Settings go in through the same TANDEM_* variables an operator uses; the
// test process reaches the coordinator over HTTPS and WSS with the development CA it generates, and
// writes users straight into its SQLite file.

import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openStore, type SqliteStore } from '../src/db/sqliteStore.ts';
import { AuditTrail } from '../src/audit/auditTrail.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { TokenRepo } from '../src/auth/tokens.ts';
import { type Role } from '../src/auth/roles.ts';
import { spawnService, type ServiceProcess } from './childProcess.ts';

const COORDINATOR_DIR = fileURLToPath(new URL('..', import.meta.url));
const SIGNER_DIR = fileURLToPath(new URL('../../signer-daemon', import.meta.url));

export interface ChildCoordinatorOptions {
  /** TANDEM_DATA_ROOT: the signer's TLS files and permit key are read from <root>/signer. */
  root: string;
  port: number;
  /** host:port of the bank signer. */
  signerAddress: string;
  rpcUrl: string;
  env?: Record<string, string>;
}

export interface ChildCoordinator extends ServiceProcess {
  readonly port: number;
  readonly dataDir: string;
  readonly url: string;
  readonly wssUrl: string;
  /** The development CA under <dataDir>/tls that issued the HTTPS certificate. */
  readonly caCert: string;
}

/** Starts the coordinator on `<root>/coordinator` and waits for its 'coordinator listening' log line. */
export async function startChildCoordinator(o: ChildCoordinatorOptions): Promise<ChildCoordinator> {
  const dataDir = join(o.root, 'coordinator');
  const service = await spawnService({
    cwd: COORDINATOR_DIR,
    env: {
      TANDEM_DATA_ROOT: o.root,
      TANDEM_COORDINATOR_DATA_DIR: dataDir,
      TANDEM_COORDINATOR_PORT: String(o.port),
      TANDEM_SIGNER_ADDRESS: o.signerAddress,
      TANDEM_CHAIN_RPC_URL: o.rpcUrl,
      TANDEM_COORDINATOR_LOG_LEVEL: 'debug',
      ...o.env,
    },
    logFile: join(o.root, 'child-coordinator.log'),
    readyMsg: 'coordinator listening',
  });
  return Object.assign(service, {
    port: o.port,
    dataDir,
    url: `https://localhost:${o.port}`,
    wssUrl: `wss://localhost:${o.port}/api/v1/mpc`,
    caCert: join(dataDir, 'tls', 'ca.pem'),
  });
}

/** The bank signer as its own process on `<root>/signer` (development PKI, generated KEK), any free port. */
export async function startChildSigner(root: string, env: Record<string, string> = {}): Promise<ChildSigner> {
  const service = await spawnService({
    cwd: SIGNER_DIR,
    env: {
      TANDEM_SIGNER_DATA_DIR: join(root, 'signer'),
      TANDEM_SIGNER_PORT: '0',
      TANDEM_SIGNER_OPS_PORT: '-1',
      TANDEM_SIGNER_LOG_LEVEL: 'debug',
      ...env,
    },
    logFile: join(root, 'child-signer.log'),
    readyMsg: 'signer listening',
  });
  return Object.assign(service, {
    port: service.ready['port'] as number,
    identity: Buffer.from(service.ready['identity'] as string, 'hex'),
  });
}

export interface ChildSigner extends ServiceProcess {
  readonly port: number;
  /** The signer's identity public key, which desktops pin. */
  readonly identity: Uint8Array;
}

export type Api = (
  method: string,
  path: string,
  token?: string,
  body?: unknown,
) => Promise<{ status: number; json: Record<string, unknown> }>;

/** REST over real HTTPS, trusting only the coordinator's development CA. */
export function httpsApi(baseUrl: string, caCert: string): Api {
  const ca = readFileSync(caCert);
  return (method, path, token, body) =>
    new Promise((ok, fail) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
      const req = request(
        new URL(path, baseUrl),
        {
          method,
          ca,
          agent: false,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              ok({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
            } catch (e) {
              fail(
                new Error(`${method} ${path}: ${res.statusCode} with a body that is not JSON: ${text}`, { cause: e }),
              );
            }
          });
          res.on('error', fail);
        },
      );
      req.on('error', fail);
      req.end(payload);
    });
}

/**
 * The coordinator's own database file, opened by the test process as a second connection (WAL
 * lets both write), for making users and tokens without an admin and for reading what the
 * coordinator stored.
 */
export class CoordinatorDb {
  readonly store: SqliteStore;
  readonly audit: AuditTrail;

  constructor(dataDir: string) {
    this.store = openStore(join(dataDir, 'coordinator.db'));
    this.audit = new AuditTrail(this.store, Date.now);
  }

  /** A user created as the admin CLI would, with a token issued for it. */
  async user(username: string, roles: Role[]): Promise<{ id: string; token: string }> {
    const password = `Pw-${randomBytes(18).toString('base64url')}`;
    const u = await createAccount({ store: this.store, audit: this.audit, now: Date.now }, 'test-harness', {
      username,
      password,
      roles,
    });
    return { id: u.id, token: (await new TokenRepo(this.store).issue(u.id, Date.now(), 3_600_000)).token };
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/**
 * A TCP relay in front of the signer (the mutual-TLS bytes pass through untouched) that can hold
 * back what the signer answers: the request still reaches the signer, but its reply does not
 * reach the coordinator. That pins down the window between "the signer finished a call" and "the
 * coordinator heard of it" for a kill.
 */
export interface HoldingRelay {
  readonly port: number;
  /** From now on the signer's bytes are kept back (on every connection). */
  hold(): void;
  close(): Promise<void>;
}

export async function startHoldingRelay(targetPort: number): Promise<HoldingRelay> {
  let holding = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (!holding) client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const port = await new Promise<number>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok((server.address() as AddressInfo).port));
  });
  return {
    port,
    hold: () => void (holding = true),
    close: () =>
      new Promise((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}
