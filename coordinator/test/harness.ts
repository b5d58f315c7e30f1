// Test fixtures: a real CoordinatorContext on a temporary data directory (SQLite file, audit log,
// metrics, JSON logs in a file), the Fastify app with every feature's routes, and shortcuts for
// users and sign-in. Requests go through app.inject, so no port is opened.
//
// Feature owners add their registrations to buildTestApp, in the same order as the server.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Metrics } from '@tandem/common/metrics';
import { defaultConfig, type CoordinatorConfig } from '../src/config.ts';
import { type CoordinatorContext } from '../src/context.ts';
import { openStore } from '../src/db/sqliteStore.ts';
import { AuditTrail } from '../src/audit/auditTrail.ts';
import { buildApp } from '../src/http/app.ts';
import { type SignerCalls } from '../src/signer/signerClient.ts';
import { registerRoutes } from '../src/server.ts';
import { makeChain } from '../src/chain/client.ts';
import { EventHub } from '../src/events/hub.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { type Role } from '../src/auth/roles.ts';
import { TokenRepo } from '../src/auth/tokens.ts';
import { type User } from '../src/auth/users.ts';

/** Real time plus an offset the test can move forward (token expiry, lockouts). */
export interface TestClock {
  now: () => number;
  advance: (ms: number) => void;
}

export function testClock(): TestClock {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms) => void (offset += ms) };
}

export interface TestContext extends CoordinatorContext {
  dir: string;
  dbFile: string;
  logFile: string;
  clock: TestClock;
  /** Closes the database (call after app.close()). */
  close: () => Promise<void>;
}

export type TestContextOverrides = Partial<Omit<CoordinatorContext, 'config'>> & {
  config?: Partial<CoordinatorConfig>;
  dir?: string;
};

/** The signer is not part of these tests; a feature that reaches it by mistake fails loudly. */
export function disconnectedSigner(): SignerCalls {
  const fail = async (): Promise<never> => {
    throw new Error('signer not connected in this test');
  };
  return {
    startDkg: fail,
    dkgRound: fail,
    finalizeDkg: fail,
    openSigning: () => ({ start: fail, round: fail, finalize: fail, cancel: () => {} }),
    getSigningResult: fail,
    getKeyset: fail,
    getSignerInfo: fail,
    rebindDevice: fail,
    close: () => {},
  };
}

export function makeTestContext(overrides: TestContextOverrides = {}): TestContext {
  const dir = overrides.dir ?? mkdtempSync(join(tmpdir(), 'tandem-coordinator-'));
  const dbFile = join(dir, 'coordinator.db');
  const logFile = join(dir, 'coordinator.log');
  const clock = testClock();
  const now = overrides.now ?? clock.now;
  const config: CoordinatorConfig = {
    ...defaultConfig(dir),
    dataDir: dir,
    port: 0,
    logLevel: 'debug',
    ...overrides.config,
  };
  const store = overrides.store ?? openStore(dbFile);
  return {
    config,
    store,
    audit: overrides.audit ?? new AuditTrail(store, now),
    metrics: overrides.metrics ?? new Metrics(),
    // Debug level on purpose: the secret-leak checks read this file.
    log: overrides.log ?? pino({ level: 'debug' }, pino.destination({ dest: logFile, sync: true, append: true })),
    signer: overrides.signer ?? disconnectedSigner(),
    // Lazy: nothing connects until a test uses the chain (see stack.ts for a real anvil).
    chain: overrides.chain ?? makeChain(config.chain.rpcUrl, config.chain.chainId),
    now,
    dir,
    dbFile,
    logFile,
    clock,
    close: () => store.close(),
  };
}

/** The app as the server builds it (without TLS), ready for app.inject. */
export async function buildTestApp(ctx: CoordinatorContext): Promise<FastifyInstance> {
  const app = buildApp(ctx);
  registerRoutes(app, ctx, new EventHub());
  await app.ready();
  return app;
}

/** A user made directly (no admin needed), with a random password that passes the policy. */
export async function createUser(
  ctx: CoordinatorContext,
  username: string,
  roles: Role[],
): Promise<{ user: User; password: string }> {
  const password = `Pw-${randomBytes(18).toString('base64url')}`;
  const user = await createAccount(ctx, 'test-harness', { username, password, roles });
  return { user, password };
}

/** Signs in through the API; throws with the response when it does not succeed. */
export async function login(app: FastifyInstance, username: string, password: string): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
  if (res.statusCode !== 200) throw new Error(`login of ${username} failed: ${res.statusCode} ${res.body}`);
  return (res.json() as { token: string }).token;
}

/** A token issued directly (no password check, no scrypt): for tests about what comes after sign-in. */
export async function tokenFor(ctx: CoordinatorContext, user: Pick<User, 'id'>): Promise<string> {
  return (await new TokenRepo(ctx.store).issue(user.id, ctx.now(), ctx.config.tokenTtlMs)).token;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The error code of a refused response ({"error": {"code"}}), or undefined. */
export function errorCode(res: { body: string }): string | undefined {
  try {
    return (JSON.parse(res.body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

/** Every byte the coordinator wrote to disk in this context: the database (with WAL) and the log. */
export function diskBytes(ctx: TestContext): Buffer {
  const read = (f: string) => {
    try {
      return readFileSync(f);
    } catch {
      return Buffer.alloc(0);
    }
  };
  return Buffer.concat([read(ctx.dbFile), read(`${ctx.dbFile}-wal`), read(ctx.logFile)]);
}
