// Production settings (TANDEM_ENV=production) refuse the development conveniences, each with a
// ConfigError naming the setting and what to do (docs/operator-guide.md, "Production settings"): no
// generated certificates, no generated KEK, no KEK in the environment or inside the data directory, no
// implicit data directory, no misspelt TANDEM_ENV. A production configuration that does everything
// right starts and leaves no development material behind. Nothing here needs a network.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDevPki } from '@tandem/common/devPki';
import { ConfigError, loadConfig } from '../src/config.ts';
import { startSigner } from '../src/daemon.ts';
import { call, connect, runChildSignerToExit, tempDir } from './harness.ts';
import { pino } from 'pino';

const root = tempDir('tandem-prod-');
after(() => rmSync(root, { recursive: true, force: true }));

// "Your PKI": certificates made outside any data directory, as a bank's CA would issue them.
const pki = ensureDevPki(join(root, 'pki'));
const kekFile = join(root, 'etc', 'kek.hex');
mkdirSync(join(root, 'etc'), { mode: 0o700 });
writeFileSync(kekFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });

let n = 0;
/** A production environment that does everything right, for a new data directory; `patch` breaks one thing. */
function prodEnv(patch: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    TANDEM_ENV: 'production',
    INIT_CWD: root,
    TANDEM_SIGNER_DATA_DIR: join(root, `data-${++n}`),
    TANDEM_SIGNER_PORT: '0',
    TANDEM_SIGNER_OPS_PORT: '-1',
    TANDEM_SIGNER_TLS_CA: pki.caCert,
    TANDEM_SIGNER_TLS_CERT: pki.serverCert,
    TANDEM_SIGNER_TLS_KEY: pki.serverKey,
    TANDEM_SIGNER_KEK_FILE: kekFile,
    ...patch,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

function refused(env: Record<string, string | undefined>, message: RegExp): ConfigError {
  try {
    loadConfig(env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected a ConfigError matching ${message}`);
}

test('a misspelt TANDEM_ENV is refused rather than taken for development', () => {
  refused({ TANDEM_ENV: 'prod' }, /^TANDEM_ENV: "production" or "development", got "prod"/);
  assert.equal(loadConfig({ ...prodEnv(), TANDEM_ENV: 'development' }).production, false);
});

test('no generated certificates: the TLS files must be set, and not be the development ones', async () => {
  refused(
    prodEnv({ TANDEM_SIGNER_TLS_CA: undefined, TANDEM_SIGNER_TLS_CERT: undefined, TANDEM_SIGNER_TLS_KEY: undefined }),
    /^TANDEM_SIGNER_TLS_CA, TANDEM_SIGNER_TLS_CERT, TANDEM_SIGNER_TLS_KEY: production never generates certificates/,
  );
  const env = prodEnv();
  const devTls = join(env.TANDEM_SIGNER_DATA_DIR!, 'tls');
  refused(
    { ...env, TANDEM_SIGNER_TLS_CA: join(devTls, 'ca.pem') },
    /^TANDEM_SIGNER_TLS_\*: .*ca\.pem is in .*, where development certificates are generated/,
  );

  // The service itself: exit code 2, the message on stderr, and no certificate was generated.
  const dataDir = join(root, 'child-no-tls');
  const r = await runChildSignerToExit(dataDir, { TANDEM_ENV: 'production' });
  assert.equal(r.listening, false);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /tandem-signer: configuration error: TANDEM_SIGNER_TLS_CA, .*never generates certificates/);
  assert.equal(existsSync(join(dataDir, 'tls')), false);
});

test('no generated KEK: a missing KEK file is refused and not created', async () => {
  const missing = join(root, 'etc', 'missing-kek.hex');
  refused(
    prodEnv({ TANDEM_SIGNER_KEK_FILE: missing }),
    /^TANDEM_SIGNER_KEK_FILE: .*missing-kek\.hex does not exist, and production never generates a KEK: create one/,
  );
  assert.equal(existsSync(missing), false);

  const env = prodEnv({ TANDEM_SIGNER_KEK_FILE: missing });
  const r = await runChildSignerToExit(env.TANDEM_SIGNER_DATA_DIR!, env as Record<string, string>);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /configuration error: TANDEM_SIGNER_KEK_FILE: .*production never generates a KEK/);
  assert.equal(existsSync(missing), false);
  assert.equal(existsSync(join(env.TANDEM_SIGNER_DATA_DIR!, 'signer.db')), false);
});

test('the KEK is kept apart from the data: not inside the data directory (nor linked there), not in the environment', () => {
  // The development default, <dataDir>/kek.hex, even when the file exists.
  const env = prodEnv({ TANDEM_SIGNER_KEK_FILE: undefined });
  mkdirSync(env.TANDEM_SIGNER_DATA_DIR!, { mode: 0o700 });
  writeFileSync(join(env.TANDEM_SIGNER_DATA_DIR!, 'kek.hex'), randomBytes(32).toString('hex'), { mode: 0o600 });
  refused(env, /^TANDEM_SIGNER_KEK_FILE: .*kek\.hex is inside the data directory .*; production keeps the KEK apart/);

  // A path outside that is a link to a file inside.
  const link = join(root, 'etc', `kek-link-${n}`);
  symlinkSync(join(env.TANDEM_SIGNER_DATA_DIR!, 'kek.hex'), link);
  refused({ ...env, TANDEM_SIGNER_KEK_FILE: link }, /is inside the data directory/);

  refused(
    prodEnv({ TANDEM_SIGNER_KEK: randomBytes(32).toString('hex') }),
    /^TANDEM_SIGNER_KEK: a KEK in the environment is refused in production .*set TANDEM_SIGNER_KEK_FILE/,
  );
});

test('no implicit data directory', () => {
  refused(
    prodEnv({ TANDEM_SIGNER_DATA_DIR: undefined }),
    /^TANDEM_SIGNER_DATA_DIR: production needs an explicit data directory \(the development default is .*\.tandem\/signer\)/,
  );
});

test('a correct production configuration starts, with no development material made', async () => {
  const env = prodEnv();
  const config = loadConfig(env);
  assert.equal(config.production, true);
  const signer = await startSigner(config, { log: pino({ level: 'silent' }) });
  try {
    assert.equal(signer.devClient, undefined);
    // Only the database: no generated KEK, certificates or development permit key export.
    assert.deepEqual(
      readdirSync(config.dataDir).filter((f) => !f.startsWith('signer.db')),
      [],
    );
    const client = connect(signer.port, pki.caCert, pki.clientCert, pki.clientKey);
    try {
      const info = await call<{ identityPublicKey: Buffer }>(client, 'getSignerInfo', {});
      assert.equal(info.identityPublicKey.length, 32);
    } finally {
      client.close();
    }
  } finally {
    await signer.close();
  }
});
