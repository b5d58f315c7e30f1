// Production settings (TANDEM_ENV=production) refuse the development conveniences, each with a
// ConfigError naming the setting and what to do (docs/operator-guide.md, "Production settings"): no
// generated certificates (so no plain ws://), no development signer certificates or permit key export,
// no plain http:// Ethereum node off this host, only https:// or app-scheme origins, no admin password
// in the environment, no implicit data directory. A production coordinator starts with no users at all:
// nothing seeds an admin. Nothing here needs a network (the chain URL points at a closed local port).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { ensureDevPki } from '@tandem/common/devPki';
import { ConfigError, loadConfig } from '../src/config.ts';
import { startCoordinator } from '../src/server.ts';
import { runAdmin } from '../src/cli/admin.ts';
import { disconnectedSigner } from './harness.ts';

const root = mkdtempSync(join(tmpdir(), 'tandem-coord-prod-'));
after(() => rmSync(root, { recursive: true, force: true }));

// "Your PKI" and the permit key the signer's `rotate-permit-key --out` made, outside any data directory.
const pki = ensureDevPki(join(root, 'pki'));
const permitKeyFile = join(root, 'permit-key.json');
writeFileSync(permitKeyFile, JSON.stringify({ keyId: 'pk-1', secret: randomBytes(32).toString('base64') }), {
  mode: 0o600,
});

let n = 0;
/** A production environment that does everything right, for a new data directory; `patch` breaks one thing. */
function prodEnv(patch: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    TANDEM_ENV: 'production',
    INIT_CWD: root,
    TANDEM_COORDINATOR_DATA_DIR: join(root, `data-${++n}`),
    TANDEM_COORDINATOR_PORT: '0',
    TANDEM_COORDINATOR_TLS_CERT: pki.serverCert,
    TANDEM_COORDINATOR_TLS_KEY: pki.serverKey,
    TANDEM_COORDINATOR_SIGNER_CA: pki.caCert,
    TANDEM_COORDINATOR_SIGNER_CERT: pki.clientCert,
    TANDEM_COORDINATOR_SIGNER_KEY: pki.clientKey,
    TANDEM_COORDINATOR_PERMIT_KEY_FILE: permitKeyFile,
    TANDEM_SIGNER_ADDRESS: 'signer.bank.internal:7443',
    TANDEM_CHAIN_RPC_URL: 'https://eth.node.example',
    TANDEM_CHAIN_ID: '1',
    TANDEM_COORDINATOR_ORIGINS: 'https://treasury.bank.example,app://tandem',
    ...patch,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

function refused(env: Record<string, string | undefined>, message: RegExp): void {
  assert.throws(
    () => loadConfig(env),
    (e) => e instanceof ConfigError && message.test(e.message),
    `expected a ConfigError matching ${message}`,
  );
}

test('a correct production configuration loads', () => {
  const c = loadConfig(prodEnv());
  assert.equal(c.production, true);
  assert.deepEqual(c.tls, { cert: pki.serverCert, key: pki.serverKey });
  assert.deepEqual(c.allowedOrigins, ['https://treasury.bank.example', 'app://tandem']);
  assert.equal(c.permitKeyFile, permitKeyFile);
  assert.equal(loadConfig(prodEnv({ TANDEM_ENV: 'development' })).production, false);
  refused(prodEnv({ TANDEM_ENV: 'Production' }), /^TANDEM_ENV: "production" or "development", got "Production"/);
});

test('no generated certificates (and so no plain ws://): TLS must be set, and not to the development files', async () => {
  refused(
    prodEnv({ TANDEM_COORDINATOR_TLS_CERT: undefined, TANDEM_COORDINATOR_TLS_KEY: undefined }),
    /^TANDEM_COORDINATOR_TLS_CERT, TANDEM_COORDINATOR_TLS_KEY: production never generates certificates \(and so never serves plain ws:\/\/\)/,
  );
  refused(prodEnv({ TANDEM_COORDINATOR_TLS_KEY: undefined }), /^TANDEM_COORDINATOR_TLS_KEY: required/);
  const env = prodEnv();
  refused(
    { ...env, TANDEM_COORDINATOR_TLS_CERT: join(env.TANDEM_COORDINATOR_DATA_DIR!, 'tls', 'server.pem') },
    /^TANDEM_COORDINATOR_TLS_\*: .*server\.pem is in .*, where development certificates are generated/,
  );

  // The service itself: exit code 2 with the message, and nothing created.
  const dataDir = join(root, 'child');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { PATH: process.env.PATH, TANDEM_ENV: 'production', TANDEM_COORDINATOR_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => void (stderr += s));
  const code = await new Promise<number | null>((ok) => child.once('close', ok));
  assert.equal(code, 2);
  assert.match(stderr, /^tandem-coordinator: configuration error: TANDEM_COORDINATOR_TLS_CERT, /);
  assert.equal(existsSync(dataDir), false);
});

test("not the development signer's certificates or permit key export", () => {
  for (const name of [
    'TANDEM_COORDINATOR_SIGNER_CA',
    'TANDEM_COORDINATOR_SIGNER_CERT',
    'TANDEM_COORDINATOR_SIGNER_KEY',
  ])
    refused(
      prodEnv({ [name]: undefined }),
      new RegExp(`^${name}: production does not use the development signer's generated certificates`),
    );
  refused(
    prodEnv({ TANDEM_COORDINATOR_PERMIT_KEY_FILE: undefined }),
    /^TANDEM_COORDINATOR_PERMIT_KEY_FILE: production does not read the development signer's permit key export .*rotate-permit-key --out FILE/,
  );
});

test('no plain http:// to an Ethereum node off this host', () => {
  refused(
    prodEnv({ TANDEM_CHAIN_RPC_URL: 'http://eth.node.example:8545' }),
    /^TANDEM_CHAIN_RPC_URL: plain http:\/\/ to eth\.node\.example is refused in production .*use https:\/\/, or a node on this host/,
  );
  refused(prodEnv({ TANDEM_CHAIN_RPC_URL: 'http://10.0.0.5:8545' }), /plain http:\/\/ to 10\.0\.0\.5/);
  for (const ok of ['http://127.0.0.1:8545', 'http://localhost:8545', 'http://[::1]:8545', 'https://10.0.0.5'])
    assert.equal(loadConfig(prodEnv({ TANDEM_CHAIN_RPC_URL: ok })).chain.rpcUrl, ok);
});

test("origins: explicit https:// or the app's own scheme; http:// only in development", () => {
  refused(
    prodEnv({ TANDEM_COORDINATOR_ORIGINS: 'https://treasury.bank.example,http://treasury.bank.example' }),
    /^allowedOrigins \(TANDEM_COORDINATOR_ORIGINS\): "http:\/\/treasury\.bank\.example" is plain http:\/\/; production accepts only https:\/\//,
  );
  for (const bad of [
    'https://treasury.bank.example/',
    'https://a.example/path',
    '*',
    'null',
    'file:///x',
    'wss://a.example',
  ])
    refused(prodEnv({ TANDEM_COORDINATOR_ORIGINS: bad }), /^allowedOrigins \(TANDEM_COORDINATOR_ORIGINS\): /);
  // No origin listed at all is the strictest setting: only clients that send none (the desktop's worker).
  assert.deepEqual(loadConfig(prodEnv({ TANDEM_COORDINATOR_ORIGINS: undefined })).allowedOrigins, []);
  // Development keeps a local renderer dev server usable.
  const dev = loadConfig({
    TANDEM_DATA_ROOT: join(root, 'dev'),
    TANDEM_COORDINATOR_ORIGINS: 'http://localhost:5173,app://tandem',
  });
  assert.deepEqual(dev.allowedOrigins, ['http://localhost:5173', 'app://tandem']);
});

test('no admin password in the environment, no implicit data directory', () => {
  refused(
    prodEnv({ TANDEM_ADMIN_PASSWORD: 'Correct-Horse-Battery-1' }),
    /^TANDEM_ADMIN_PASSWORD: an admin password kept in the environment is refused in production; .*admin create-admin/,
  );
  refused(
    prodEnv({ TANDEM_COORDINATOR_DATA_DIR: undefined }),
    /^TANDEM_COORDINATOR_DATA_DIR: production needs an explicit data directory/,
  );
});

test('a production coordinator starts with no user at all; the first admin comes from the CLI at a prompt or stdin', async () => {
  const env = prodEnv({ TANDEM_CHAIN_RPC_URL: 'http://127.0.0.1:1' });
  const c = await startCoordinator(loadConfig(env), { signer: disconnectedSigner(), log: pino({ level: 'silent' }) });
  try {
    assert.equal((await c.ctx.store.get<{ n: number }>('SELECT COUNT(*) AS n FROM users'))?.n, 0);
    assert.equal(c.devCaCert, undefined);
    const login = await c.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'admin', password: 'admin' },
    });
    assert.equal(login.statusCode, 401);
    // TLS only: a plain-HTTP (and so plain ws://) request gets no answer.
    await assert.rejects(fetch(`http://127.0.0.1:${c.port}/healthz`));
  } finally {
    await c.close();
  }

  const out: string[] = [];
  const err: string[] = [];
  const password = `Prod-${randomBytes(12).toString('hex')}`;
  const io = (stdin: Readable) => ({ stdin, err: (s: string) => void err.push(s) });
  const viaEnv = await runAdmin(
    ['create-admin', '--username', 'root'],
    { ...env, TANDEM_ADMIN_PASSWORD: password },
    (s) => void out.push(s),
    io(Readable.from([])),
  );
  assert.equal(viaEnv, 2);
  assert.match(err.join(''), /TANDEM_ADMIN_PASSWORD: an admin password kept in the environment is refused/);
  const viaStdin = await runAdmin(
    ['create-admin', '--username', 'root'],
    env,
    (s) => void out.push(s),
    io(Readable.from([`${password}\n`])),
  );
  assert.equal(viaStdin, 0, err.join(''));
  assert.deepEqual((JSON.parse(out.at(-1)!) as { roles: string[] }).roles, ['admin']);
});

test('a JSON config file sets what has no variable; variables win over it; unknown keys and wrong types are refused', () => {
  const file = join(root, 'coordinator.json');
  const write = (o: unknown) => writeFileSync(file, JSON.stringify(o));
  write({
    permitTtlMs: 30_000,
    chain: { confirmations: 12, pollMs: 4_000 },
    tokenTtlMs: 3_600_000,
    allowedOrigins: ['app://tandem'],
    tls: { cert: pki.serverCert, key: pki.serverKey },
    addressBookQuorum: 3,
  });
  const c = loadConfig(
    prodEnv({
      TANDEM_COORDINATOR_CONFIG: file,
      TANDEM_COORDINATOR_ORIGINS: undefined,
      TANDEM_COORDINATOR_TLS_CERT: undefined,
      TANDEM_COORDINATOR_TLS_KEY: undefined,
      TANDEM_COORDINATOR_ADDRESS_BOOK_QUORUM: '4',
    }),
  );
  assert.equal(c.permitTtlMs, 30_000);
  assert.deepEqual(c.chain, { rpcUrl: 'https://eth.node.example', chainId: 1, confirmations: 12, pollMs: 4_000 });
  assert.equal(c.tokenTtlMs, 3_600_000);
  assert.deepEqual(c.allowedOrigins, ['app://tandem']);
  assert.deepEqual(c.tls, { cert: pki.serverCert, key: pki.serverKey });
  assert.equal(c.addressBookQuorum, 4);

  const env = prodEnv({ TANDEM_COORDINATOR_CONFIG: file });
  write({ chain: { confirmation: 12 } });
  refused(env, /^chain\.confirmation: unknown setting$/);
  write({ permitTtlMs: '30000' });
  refused(env, /^permitTtlMs: expected a number$/);
  write({ permitTtlMs: 1_000 });
  refused(env, /^permitTtlMs: must be an integer 5000–120000$/);
  write({ allowedOrigins: 'https://a.example' });
  refused(env, /^allowedOrigins: expected a list of strings$/);
  write({ tls: { cert: pki.serverCert } });
  refused(env, /^tls: expected \{"cert": FILE, "key": FILE\}$/);
  writeFileSync(file, '{ not json');
  refused(env, /^config file .*coordinator\.json: /);
});
