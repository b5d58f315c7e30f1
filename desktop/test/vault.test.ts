// The Vault (src/vault/vault.ts) with a real keychain (gnome-keyring, started by scripts/with-keyring.sh) and real
// files: a real P2 share from a test-profile DKG and a real ring-Pedersen setup go in and come out byte for byte;
// wrong passwords wait longer and longer, across restarts; altered or swapped files are refused and kept; a backup
// restores on a second profile with another device key; nothing secret is ever readable on disk.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cp, lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { identityFromSeed } from '@tandem/tecdsa/envelope';
import { nativeModPow } from '@tandem/tecdsa/modpowNative';
import { TEST } from '@tandem/tecdsa/params';
import { generateRingPedersen } from '@tandem/tecdsa/ringPedersen';
import { seededRng } from '@tandem/tecdsa/rng';
import { runDkg } from '@tandem/tecdsa/runLocal';
import {
  type P2Share,
  encodeP2Share,
  encodeRingPedersenSecret,
  parseP2Share,
  parseRingPedersenSecret,
} from '@tandem/tecdsa/shares';
import { Vault } from '../src/vault/vault.ts';
import { type VaultErrorCode, VaultError } from '../src/vault/errors.ts';
import { getDeviceKey } from '../src/vault/deviceKey.ts';
import { unwrapFromDevice, wrapForDevice } from '../src/vault/deviceWrap.ts';
import { parseEncryptedShare } from '../src/vault/encryptedShare.ts';

const mp = nativeModPow()!;
const PASSWORD = 'Treasury vault 2026 · correct';
const OTHER_PASSWORD = 'a different 12+ password';
const run = randomBytes(4).toString('hex');
const profileA = `test-a-${run}`;
const profileB = `test-b-${run}`;
const W1 = { walletId: '5f0c1d52-9a43-4c55-9d1a-0b6a8f0e7c11', keysetId: 'ks_w1' };
const W2 = { walletId: 'a7d5e0f1-2b3c-4d5e-8f90-1a2b3c4d5e6f', keysetId: 'ks_w2' };

let root: string;
let dirA: string;
let dirB: string;
let p2: P2Share;
let p2Blob: Uint8Array;
let setupBlob: Uint8Array;
/** Every password and blob a test used, for the final scan of the disk. */
const secrets: Uint8Array[] = [];

/** A clock that moves only when told, and a sleep that records what was asked instead of waiting. */
function fakeTime(start = Date.UTC(2026, 0, 1)) {
  const clock = { t: start, sleeps: [] as number[] };
  return {
    clock,
    opts: {
      now: () => clock.t,
      sleep: async (ms: number) => {
        clock.sleeps.push(ms);
      },
    },
  };
}

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

const mode = async (p: string): Promise<number> => (await lstat(p)).mode & 0o777;
const shareFile = (dir: string, walletId: string): string => path.join(dir, 'shares', `${walletId}.json`);

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await allFiles(p)));
    else out.push(p);
  }
  return out;
}

async function deviceKeyOf(profileId: string): Promise<Buffer> {
  const key = await getDeviceKey(profileId);
  assert.ok(key, `${profileId} has a device key`);
  secrets.push(new Uint8Array(key));
  return key;
}

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'tandem-vault-'));
  dirA = path.join(root, 'profile-a');
  dirB = path.join(root, 'profile-b');
  // A real P2 share: the reduced test profile's DKG (about a second), and a real ring-Pedersen setup for it.
  const rp = generateRingPedersen(mp, seededRng(`vault-rp-${run}`), TEST.nHatBits);
  const parties = {
    p1: identityFromSeed(seededRng('vault-id1').bytes(32)),
    p2: identityFromSeed(seededRng('vault-id2').bytes(32)),
    rng: seededRng(`vault-dkg-${run}`),
    modPow: mp,
    profile: TEST,
  };
  const dkg = await runDkg(parties, rp, { requestId: randomBytes(32), walletId: randomBytes(32) });
  p2 = dkg.share2;
  p2Blob = encodeP2Share(p2);
  setupBlob = encodeRingPedersenSecret(rp);
  secrets.push(p2Blob, setupBlob, Buffer.from(PASSWORD), Buffer.from(OTHER_PASSWORD));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('stores a real P2 share and opens it byte for byte (files 0600, folders 0700, no temporary file left)', async () => {
  const vault = new Vault(dirA, profileA);
  assert.equal(await vault.hasShare(W1.walletId), false);
  await vault.storeShare(W1.walletId, W1.keysetId, p2Blob, PASSWORD);

  assert.equal(await mode(dirA), 0o700);
  assert.equal(await mode(path.join(dirA, 'shares')), 0o700);
  assert.equal(await mode(shareFile(dirA, W1.walletId)), 0o600);
  assert.deepEqual(await readdir(path.join(dirA, 'shares')), [`${W1.walletId}.json`]);
  assert.equal(await vault.hasShare(W1.walletId), true);
  assert.deepEqual(await vault.listShares(), [W1.walletId]);

  const opened = await vault.openShare(W1.walletId, W1.keysetId, PASSWORD);
  assert.deepEqual(opened, p2Blob);
  const parsed = parseP2Share(opened);
  assert.deepEqual(parsed.keyId, p2.keyId);
  assert.equal(parsed.x2, p2.x2);
  opened.fill(0);

  // The wrong-password counter was written the same way: atomically, 0600, in a 0700 folder.
  assert.equal(await mode(path.join(dirA, 'attempts')), 0o700);
  assert.deepEqual(await readdir(path.join(dirA, 'attempts')), [`wallet.${W1.walletId}.json`]);
  assert.equal(await mode(path.join(dirA, 'attempts', `wallet.${W1.walletId}.json`)), 0o600);
});

test('the file is the device layer around the EncryptedShare JSON, with at least 600,000 PBKDF2 iterations', async () => {
  const file = await readFile(shareFile(dirA, W1.walletId), 'utf8');
  assert.deepEqual(Object.keys(JSON.parse(file)), ['v', 'alg', 'iv', 'ct']);
  const key = await deviceKeyOf(profileA);
  const inner = parseEncryptedShare(unwrapFromDevice(key, W1.walletId, file), W1);
  key.fill(0);
  assert.ok(inner.kdf.iterations >= 600_000);
  assert.equal(inner.cipherSuite, 'secp256k1-tecdsa-2pc');
});

test('SHARE_EXISTS on a second store; the stored file is left exactly as it was', async () => {
  const vault = new Vault(dirA, profileA);
  const before = await readFile(shareFile(dirA, W1.walletId));
  await rejectsWith(() => vault.storeShare(W1.walletId, W1.keysetId, randomBytes(64), PASSWORD), 'SHARE_EXISTS');
  assert.deepEqual(await readFile(shareFile(dirA, W1.walletId)), before);
  assert.deepEqual(await readdir(path.join(dirA, 'shares')), [`${W1.walletId}.json`]);
});

test('BAD_PASSWORD for a new password under 12 characters; nothing is written', async () => {
  const vault = new Vault(dirA, profileA);
  await rejectsWith(() => vault.storeShare(W2.walletId, W2.keysetId, p2Blob, 'short pw'), 'BAD_PASSWORD');
  assert.equal(await vault.hasShare(W2.walletId), false);
});

test('SHARE_NOT_FOUND for a wallet this profile does not hold', async () => {
  await rejectsWith(() => new Vault(dirA, profileA).openShare('no-such-wallet', 'ks', PASSWORD), 'SHARE_NOT_FOUND');
});

test('wallet ids that are not plain names are refused before touching the disk', async () => {
  const vault = new Vault(dirA, profileA);
  for (const bad of ['../escape', 'a/b', '', 'x'.repeat(65), 'wallet.json']) {
    await assert.rejects(async () => vault.storeShare(bad, 'ks', p2Blob, PASSWORD), TypeError);
  }
  assert.deepEqual(await readdir(root), ['profile-a']);
});

test('wrong passwords: WRONG_PASSWORD, then waits of 0, 1, 2, 4 … 30 s, kept across a restart, cleared by the right one', async () => {
  const { clock, opts } = fakeTime();
  const vault = new Vault(dirA, profileA, opts);
  const retryAfter: (number | undefined)[] = [];
  for (let i = 0; i < 9; i++) {
    const e = await rejectsWith(
      () => vault.openShare(W1.walletId, W1.keysetId, `${OTHER_PASSWORD} ${i}`),
      'WRONG_PASSWORD',
    );
    retryAfter.push(e.retryAfterMs);
  }
  // The first two tries go straight through; each later one waited before its key derivation.
  assert.deepEqual(clock.sleeps, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  assert.deepEqual(retryAfter, [0, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);

  // The app restarts 10 s later: the count is still there, and the wait counts from the last failure.
  clock.sleeps.length = 0;
  clock.t += 10_000;
  const restarted = new Vault(dirA, profileA, opts);
  const opened = await restarted.openShare(W1.walletId, W1.keysetId, PASSWORD);
  assert.deepEqual(opened, p2Blob);
  opened.fill(0);
  assert.deepEqual(clock.sleeps, [20_000]);

  // The right password cleared the count: the next mistakes start again from no wait.
  clock.sleeps.length = 0;
  const e = await rejectsWith(() => restarted.openShare(W1.walletId, W1.keysetId, OTHER_PASSWORD), 'WRONG_PASSWORD');
  assert.equal(e.retryAfterMs, 0);
  assert.deepEqual(clock.sleeps, []);
});

test('parallel wrong passwords are taken one at a time, so they cannot skip the waits', async () => {
  const { clock, opts } = fakeTime(Date.UTC(2026, 1, 1));
  const vault = new Vault(dirA, profileA, opts);
  // One failure is already counted (previous test); three more in parallel.
  const errors = await Promise.all(
    [1, 2, 3].map((i) =>
      rejectsWith(() => vault.openShare(W1.walletId, W1.keysetId, `${OTHER_PASSWORD}-${i}`), 'WRONG_PASSWORD'),
    ),
  );
  // Which call reaches the queue first depends on the keychain's answers; the waits do not.
  assert.deepEqual(
    errors.map((e) => e.retryAfterMs).sort((a, b) => a! - b!),
    [1000, 2000, 4000],
  );
  assert.deepEqual(clock.sleeps, [1000, 2000]);
  const opened = await vault.openShare(W1.walletId, W1.keysetId, PASSWORD);
  opened.fill(0);
});

test('SHARE_CORRUPTED for an altered or swapped file; the file is kept as it is and no password try is counted', async (t) => {
  const { clock, opts } = fakeTime();
  const vault = new Vault(dirA, profileA, opts);
  await vault.storeShare(W2.walletId, W2.keysetId, p2Blob, PASSWORD);
  const file = shareFile(dirA, W2.walletId);
  const original = await readFile(file, 'utf8');
  const outer = JSON.parse(original);
  const key = await deviceKeyOf(profileA);
  const innerText = unwrapFromDevice(key, W2.walletId, original);
  const inner = JSON.parse(innerText);

  const flipCt = (at: number): string => {
    const ct = Buffer.from(outer.ct, 'base64');
    ct[at]! ^= 0x01;
    return JSON.stringify({ ...outer, ct: ct.toString('base64') });
  };
  // What someone holding the device key (but not the password) could write: a valid device layer around an edit.
  const rewrapped = (edit: (o: typeof inner) => void, label = W2.walletId): string => {
    const o = structuredClone(inner);
    edit(o);
    return wrapForDevice(key, label, JSON.stringify(o));
  };
  // AES-GCM is a stream cipher: byte i of the device layer's ciphertext is byte i of the EncryptedShare JSON.
  const innerCiphertextAt = innerText.indexOf(inner.enc.ciphertext) + 40;
  const iterationsAt = innerText.indexOf('"iterations"') + 14;
  const w1File = await readFile(shareFile(dirA, W1.walletId), 'utf8');
  const w1Inner = unwrapFromDevice(key, W1.walletId, w1File);

  const cases: Record<string, string> = {
    'a flipped bit in the device layer': flipCt(5),
    'a flipped bit in the inner ciphertext': flipCt(innerCiphertextAt),
    'a flipped bit in the kdf iterations': flipCt(iterationsAt),
    'a flipped bit in the iv': (() => {
      const iv = Buffer.from(outer.iv, 'base64');
      iv[0]! ^= 0x80;
      return JSON.stringify({ ...outer, iv: iv.toString('base64') });
    })(),
    'a truncated file': original.slice(0, original.length / 2),
    'an empty file': '',
    'a device layer of version 2': JSON.stringify({ ...outer, v: 2 }),
    'an extra field in the device layer': JSON.stringify({ ...outer, note: 'x' }),
    'iterations set to 1 (re-wrapped)': rewrapped((o) => (o.kdf.iterations = 1)),
    'iterations set to 10^12 (re-wrapped)': rewrapped((o) => (o.kdf.iterations = 1e12)),
    'an extra field in the EncryptedShare (re-wrapped)': rewrapped((o) => (o.extra = true)),
    'another wallet named inside (re-wrapped)': rewrapped((o) => (o.walletId = W1.walletId)),
    "another wallet's file copied onto this name": w1File,
    "another wallet's share re-wrapped for this name": wrapForDevice(key, W2.walletId, w1Inner),
  };
  key.fill(0);
  for (const [name, text] of Object.entries(cases)) {
    await t.test(name, async () => {
      await writeFile(file, text);
      await rejectsWith(() => vault.openShare(W2.walletId, W2.keysetId, PASSWORD), 'SHARE_CORRUPTED');
      assert.equal(await readFile(file, 'utf8'), text, 'the file is kept, untouched, for support');
    });
  }
  await writeFile(file, original);
  await t.test('the right file opened with another keyset id', async () => {
    await rejectsWith(() => vault.openShare(W2.walletId, 'ks_other', PASSWORD), 'SHARE_CORRUPTED');
  });
  await t.test('a symbolic link in place of the file', async () => {
    await rm(file);
    await symlink(shareFile(dirA, W1.walletId), file);
    await rejectsWith(() => vault.openShare(W2.walletId, W2.keysetId, PASSWORD), 'SHARE_CORRUPTED');
    await rm(file);
  });
  await t.test('a file far larger than any share', async () => {
    await writeFile(file, Buffer.alloc(2 * 1024 * 1024, 0x20));
    await rejectsWith(() => vault.openShare(W2.walletId, W2.keysetId, PASSWORD), 'SHARE_CORRUPTED');
  });

  assert.deepEqual(clock.sleeps, [], 'no wait was asked');
  await assert.rejects(lstat(path.join(dirA, 'attempts', `wallet.${W2.walletId}.json`)), { code: 'ENOENT' });
  // Put back, the original opens: nothing else was changed.
  await writeFile(file, original);
  const opened = await vault.openShare(W2.walletId, W2.keysetId, PASSWORD);
  assert.deepEqual(opened, p2Blob);
  opened.fill(0);
});

test('listShares ignores a temporary file left by a crash and anything that is not a share', async () => {
  const vault = new Vault(dirA, profileA);
  const shares = path.join(dirA, 'shares');
  await writeFile(path.join(shares, `.${W2.walletId}.json.0123456789ab.tmp`), 'half a fil');
  await writeFile(path.join(shares, 'notes.txt'), 'hello');
  assert.deepEqual(await vault.listShares(), [W1.walletId, W2.walletId].sort());
  await rm(path.join(shares, `.${W2.walletId}.json.0123456789ab.tmp`));
  await rm(path.join(shares, 'notes.txt'));
});

test('a backup exported here restores on a second profile (another device key); a wrong password is refused', async () => {
  const vaultA = new Vault(dirA, profileA);
  const backup = await vaultA.exportBackup(W1.walletId, W1.keysetId, PASSWORD);
  const o = JSON.parse(backup);
  assert.deepEqual(Object.keys(o), ['version', 'walletId', 'keysetId', 'cipherSuite', 'kdf', 'enc', 'createdAt']);
  assert.equal(o.walletId, W1.walletId);
  assert.ok(o.kdf.iterations >= 600_000);

  const vaultB = new Vault(dirB, profileB);
  await rejectsWith(() => vaultB.importBackup(backup, OTHER_PASSWORD, W1), 'WRONG_PASSWORD');
  await rejectsWith(() => vaultB.importBackup(backup, PASSWORD, W2), 'SHARE_CORRUPTED');
  assert.equal(await vaultB.hasShare(W1.walletId), false, 'nothing stored after a refusal');

  await vaultB.importBackup(backup, PASSWORD, W1);
  const opened = await vaultB.openShare(W1.walletId, W1.keysetId, PASSWORD);
  assert.deepEqual(opened, p2Blob);
  opened.fill(0);
  await rejectsWith(() => vaultB.importBackup(backup, PASSWORD, W1), 'SHARE_EXISTS');
  assert.equal(await mode(shareFile(dirB, W1.walletId)), 0o600);

  // Restored under this workstation's own password: that password opens it, the backup's no longer does.
  const vaultR = new Vault(path.join(root, 'profile-r'), profileB);
  await vaultR.importBackup(backup, PASSWORD, W1, OTHER_PASSWORD);
  const reopened = await vaultR.openShare(W1.walletId, W1.keysetId, OTHER_PASSWORD);
  assert.deepEqual(reopened, p2Blob);
  reopened.fill(0);
  await rejectsWith(() => vaultR.openShare(W1.walletId, W1.keysetId, PASSWORD), 'WRONG_PASSWORD');

  // Two profiles, two device keys: profile B's file means nothing to profile A's key.
  const keyA = await deviceKeyOf(profileA);
  const keyB = await deviceKeyOf(profileB);
  assert.notDeepEqual(keyA, keyB);
  keyA.fill(0);
  keyB.fill(0);
  const dirC = path.join(root, 'profile-c');
  await mkdir(path.join(dirC, 'shares'), { recursive: true });
  await cp(shareFile(dirB, W1.walletId), shareFile(dirC, W1.walletId));
  await rejectsWith(() => new Vault(dirC, profileA).openShare(W1.walletId, W1.keysetId, PASSWORD), 'SHARE_CORRUPTED');
  await rm(dirC, { recursive: true });
});

test("stores the device's ring-Pedersen setup the same way and reads it back", async () => {
  const vault = new Vault(dirA, profileA);
  await rejectsWith(() => vault.openSetup(PASSWORD), 'SHARE_NOT_FOUND');
  await vault.storeSetup(setupBlob, PASSWORD);
  assert.equal(await mode(path.join(dirA, 'device-setup.json')), 0o600);
  await rejectsWith(() => vault.storeSetup(setupBlob, PASSWORD), 'SHARE_EXISTS');
  const opened = await vault.openSetup(PASSWORD);
  assert.deepEqual(opened, setupBlob);
  assert.equal(parseRingPedersenSecret(opened, mp).Nhat, parseRingPedersenSecret(setupBlob, mp).Nhat);
  opened.fill(0);

  // A wallet's share file put in the setup's place is refused (and the other way round).
  const dirD = path.join(root, 'profile-d');
  await mkdir(path.join(dirD, 'shares'), { recursive: true });
  await cp(shareFile(dirA, W1.walletId), path.join(dirD, 'device-setup.json'));
  await cp(path.join(dirA, 'device-setup.json'), shareFile(dirD, W2.walletId));
  const vaultD = new Vault(dirD, profileA);
  await rejectsWith(() => vaultD.openSetup(PASSWORD), 'SHARE_CORRUPTED');
  await rejectsWith(() => vaultD.openShare(W2.walletId, W2.keysetId, PASSWORD), 'SHARE_CORRUPTED');
  await rm(dirD, { recursive: true });
});

test('no file of either profile holds a share, a password or a device key, in any encoding', async () => {
  const needles: Buffer[] = [];
  for (const s of secrets) {
    const b = Buffer.from(s);
    needles.push(b, Buffer.from(b.toString('base64')), Buffer.from(b.toString('hex')));
    // Any 16-byte piece of a blob, not just the whole: a partial leak counts too.
    for (let i = 0; i + 16 <= b.length; i += 16) needles.push(b.subarray(i, i + 16));
  }
  const files = [...(await allFiles(dirA)), ...(await allFiles(dirB))];
  assert.ok(files.length >= 5);
  for (const f of files) {
    const bytes = await readFile(f);
    for (const n of needles) assert.equal(bytes.indexOf(n), -1, `${path.relative(root, f)} holds secret bytes`);
  }
});
