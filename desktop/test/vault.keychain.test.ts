// The device key in the OS keychain (src/vault/deviceKey.ts) and the vault's refusal to work without it: no session
// bus, a locked keychain, a keychain that lost or damaged the entry. Every case is KEYCHAIN_UNAVAILABLE, with no
// fallback to a file, to plaintext, or to the kernel keyring, and no new key made over existing files. The cases
// without a bus run as child processes outside this file's keyring session.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { AsyncEntry } from '@napi-rs/keyring';
import { type VaultErrorCode, VaultError } from '../src/vault/errors.ts';
import { KEYCHAIN_SERVICE, deviceKeyAccount, getDeviceKey, getOrCreateDeviceKey } from '../src/vault/deviceKey.ts';
import { Vault } from '../src/vault/vault.ts';

const execFileAsync = promisify(execFile);
const desktopDir = fileURLToPath(new URL('..', import.meta.url));
const withKeyring = fileURLToPath(new URL('../../scripts/with-keyring.sh', import.meta.url));
const vaultUrl = pathToFileURL(path.join(desktopDir, 'src/vault/vault.ts')).href;
const deviceKeyUrl = pathToFileURL(path.join(desktopDir, 'src/vault/deviceKey.ts')).href;

const PASSWORD = 'keychain tests password';
const run = randomBytes(4).toString('hex');
const W = { walletId: 'wallet-1', keysetId: 'ks_1' };
let root: string;

async function rejectsWith(run: () => Promise<unknown>, code: VaultErrorCode): Promise<VaultError> {
  try {
    await run();
  } catch (e) {
    assert.ok(e instanceof VaultError, `expected VaultError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.detail);
    return e;
  }
  return assert.fail(`expected ${code}, but it succeeded`);
}

/**
 * A child that tries every keychain-touching step and prints one JSON line: step → error code (or OK). Before the
 * steps it may store a share and lock the keychain (LOCK=1), over D-Bus as a screen locker would.
 */
const CHILD = `
import { execFileSync } from 'node:child_process';
import { Entry } from '@napi-rs/keyring';
import { Vault } from '${vaultUrl}';
import { getDeviceKey, getOrCreateDeviceKey } from '${deviceKeyUrl}';
const { VAULT_DIR: dir, VAULT_PROFILE: profile, VAULT_PASSWORD: pw, VAULT_BLOB: blobHex, LOCK } = process.env;
const blob = Buffer.from(blobHex, 'hex');
const vault = new Vault(dir, profile);
const out = {};
if (LOCK) {
  await vault.storeShare('wallet-1', 'ks_1', blob, pw);
  execFileSync('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.secrets', '/org/freedesktop/secrets',
    'org.freedesktop.Secret.Service.Lock', 'array:objpath:/org/freedesktop/secrets/collection/login'], { stdio: 'ignore' });
}
const steps = {
  getDeviceKey: () => getDeviceKey(profile),
  getOrCreateDeviceKey: () => getOrCreateDeviceKey(profile),
  openShare: () => vault.openShare('wallet-1', 'ks_1', pw),
  storeShare: () => vault.storeShare('wallet-2', 'ks_2', blob, pw),
  storeSetup: () => vault.storeSetup(blob, pw),
};
for (const [name, step] of Object.entries(steps)) {
  try { await step(); out[name] = 'OK'; } catch (e) { out[name] = e.code ?? String(e); out[name + 'Message'] = e.message; }
}
// Had the vault fallen back to the kernel keyring (the library's default without a Secret Service), it would be here.
try { out.kernelKeyring = new Entry('Tandem', 'device-key:' + profile, { linux: { store: 'keyutils' } }).getPassword(); }
catch (e) { out.kernelKeyring = 'error: ' + e.message; }
console.log(JSON.stringify(out));
`;

interface ChildResult {
  out: Record<string, string | null>;
  stdout: string;
  stderr: string;
}

async function runChild(cmd: string[], env: NodeJS.ProcessEnv): Promise<ChildResult> {
  const { stdout, stderr } = await execFileAsync(
    cmd[0]!,
    [...cmd.slice(1), '--import', 'tsx', '--input-type=module', '-e', CHILD],
    {
      cwd: desktopDir,
      env,
      timeout: 60_000,
    },
  );
  const line = stdout.trim().split('\n').at(-1)!;
  return { out: JSON.parse(line), stdout, stderr };
}

function childEnv(dir: string, profile: string, blob: Uint8Array, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, VAULT_DIR: dir, VAULT_PROFILE: profile, VAULT_PASSWORD: PASSWORD };
  Object.assign(env, extra, { VAULT_BLOB: Buffer.from(blob).toString('hex') });
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete env[k];
  return env;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

function assertAllUnavailable(r: ChildResult, steps: string[]): void {
  for (const step of steps) {
    assert.equal(r.out[step], 'KEYCHAIN_UNAVAILABLE', `${step}: ${r.out[`${step}Message`]}`);
    assert.match(r.out[`${step}Message`] ?? '', /keychain/i, 'the message says where the problem is');
  }
  assert.ok(r.out.kernelKeyring === null || r.out.kernelKeyring?.startsWith('error'), 'no kernel-keyring fallback');
  assert.ok(!`${r.stdout}${r.stderr}`.includes(PASSWORD), 'the password is not printed');
}

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'tandem-keychain-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('the device key is 32 random bytes in the keychain, service "Tandem", account "device-key:<profile>"', async () => {
  const profile = `test-key-${run}`;
  assert.equal(await getDeviceKey(profile), null);
  const made = await getOrCreateDeviceKey(profile);
  const stored = await new AsyncEntry(KEYCHAIN_SERVICE, deviceKeyAccount(profile)).getPassword();
  assert.ok(stored);
  assert.equal(Buffer.from(stored, 'base64').length, 32);
  assert.deepEqual(Buffer.from(stored, 'base64'), made);
  assert.deepEqual(await getOrCreateDeviceKey(profile), made, 'made once, then reused');
  const other = await getOrCreateDeviceKey(`${profile}-2`);
  assert.notDeepEqual(other, made, 'each profile has its own');
  // Parallel first uses agree on one key.
  const keys = await Promise.all([1, 2, 3].map(() => getOrCreateDeviceKey(`${profile}-3`)));
  assert.deepEqual(keys[1], keys[0]);
  assert.deepEqual(keys[2], keys[0]);
});

test('KEYCHAIN_UNAVAILABLE with no session bus (a dead bus address, or none); nothing is written in plaintext', async () => {
  const dir = path.join(root, 'no-bus');
  const profile = `test-nobus-${run}`;
  // A share stored while the keychain works, so that opening it is one of the steps.
  await new Vault(dir, profile).storeShare(W.walletId, W.keysetId, randomBytes(1024), PASSWORD);
  const marker = randomBytes(2048);
  const before = await filesUnder(dir);

  for (const bus of ['unix:path=/nonexistent/tandem-test-bus', undefined]) {
    const env = childEnv(dir, profile, marker, { DBUS_SESSION_BUS_ADDRESS: bus, TANDEM_KEYRING_SESSION: undefined });
    const r = await runChild([process.execPath], env);
    assertAllUnavailable(r, ['getDeviceKey', 'getOrCreateDeviceKey', 'openShare', 'storeShare', 'storeSetup']);
  }

  assert.deepEqual(await filesUnder(dir), before, 'no new file');
  for (const f of before) {
    const bytes = await readFile(f);
    for (const needle of [marker, Buffer.from(marker.toString('base64')), Buffer.from(marker.toString('hex'))]) {
      assert.equal(bytes.indexOf(needle), -1, `${f} holds the secret`);
    }
  }
});

test('KEYCHAIN_UNAVAILABLE when the keychain is locked (in a keychain session of its own)', async () => {
  const dir = path.join(root, 'locked');
  const env = childEnv(dir, `test-locked-${run}`, randomBytes(512), { LOCK: '1', TANDEM_KEYRING_SESSION: undefined });
  const r = await runChild(['bash', withKeyring, process.execPath], env);
  assertAllUnavailable(r, ['getDeviceKey', 'getOrCreateDeviceKey', 'openShare', 'storeShare', 'storeSetup']);
  assert.deepEqual(
    (await filesUnder(dir)).map((f) => path.relative(dir, f)),
    [path.join('shares', 'wallet-1.json')],
    'only the share stored before the lock',
  );
});

test('a keychain without this profile’s key: KEYCHAIN_UNAVAILABLE, and no new key is made over existing files', async () => {
  const dirA = path.join(root, 'lost-a');
  const dirC = path.join(root, 'lost-c');
  await new Vault(dirA, `test-lost-a-${run}`).storeShare(W.walletId, W.keysetId, randomBytes(1024), PASSWORD);
  // The profile's files copied to another profile name (or a keychain reset): the files are there, the key is not.
  await cp(dirA, dirC, { recursive: true });
  const profileC = `test-lost-c-${run}`;
  const vaultC = new Vault(dirC, profileC);
  await rejectsWith(() => vaultC.openShare(W.walletId, W.keysetId, PASSWORD), 'KEYCHAIN_UNAVAILABLE');
  await rejectsWith(() => vaultC.storeShare('wallet-2', 'ks_2', randomBytes(64), PASSWORD), 'KEYCHAIN_UNAVAILABLE');
  await rejectsWith(() => vaultC.storeSetup(randomBytes(64), PASSWORD), 'KEYCHAIN_UNAVAILABLE');
  assert.equal(await getDeviceKey(profileC), null, 'no key was made');
  assert.deepEqual(await vaultC.listShares(), [W.walletId]);
});

test('a damaged keychain entry is KEYCHAIN_UNAVAILABLE and is never replaced by a new key', async () => {
  const profile = `test-damaged-${run}`;
  const entry = new AsyncEntry(KEYCHAIN_SERVICE, deviceKeyAccount(profile));
  for (const damaged of ['not base64!', Buffer.alloc(16, 1).toString('base64')]) {
    await entry.setPassword(damaged);
    await rejectsWith(() => getDeviceKey(profile), 'KEYCHAIN_UNAVAILABLE');
    await rejectsWith(() => getOrCreateDeviceKey(profile), 'KEYCHAIN_UNAVAILABLE');
    await rejectsWith(
      () =>
        new Vault(path.join(root, 'damaged'), profile).storeShare(W.walletId, W.keysetId, randomBytes(64), PASSWORD),
      'KEYCHAIN_UNAVAILABLE',
    );
    assert.equal(await entry.getPassword(), damaged, 'the entry is left for IT to look at');
  }
  assert.deepEqual(await filesUnder(path.join(root, 'damaged')), []);
});
