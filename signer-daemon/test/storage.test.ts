// The bank share at rest (DESIGN.md "The bank share on disk"): a share row altered on disk, or
// copied onto another keyset, is refused (SHARE_CORRUPTED) instead of used, and nothing is signed
// with it; the KEK file must be private, and a KEK other than the one that sealed the data stops
// the daemon before it serves anything.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { txDigest } from '@tandem/tecdsa/txDigest';
import { KeysetStatus, type Keyset } from '@tandem/proto/mpc';
import { type P2Share } from '@tandem/tecdsa/shares';
import {
  Device,
  call,
  devPermitKey,
  issuePermit,
  readDb,
  refused,
  runChildSignerToExit,
  signThrough,
  startChildSigner,
  startTestSigner,
  type TestSigner,
} from './harness.ts';

let t: TestSigner;
let device: Device;
let db: Database.Database; // read-only view
let rw: Database.Database; // the "attacker" or the disk fault: writes behind the daemon's back
const shares = new Map<string, P2Share>();
const message = Buffer.from('storage tests');
const m32 = txDigest({ type: 'personal', message });
const payload = { personalMessage: message };

before(async () => {
  t = await startTestSigner();
  const info = await call<{ identityPublicKey: Buffer }>(t.client, 'getSignerInfo', {});
  device = new Device(info.identityPublicKey);
  for (const id of ['store-a', 'store-b']) {
    await device.dkg(t.client, id);
    shares.set(id, device.share!);
  }
  db = readDb(t.dataDir);
  rw = new Database(join(t.dataDir, 'signer.db'));
  rw.pragma('busy_timeout = 5000');
});
after(async () => {
  db?.close();
  rw?.close();
  t?.client.close();
  await t?.signer.close();
  if (t) rmSync(t.dataDir, { recursive: true, force: true }); // holds a KEK and shares
});

const permit = (keysetId: string) => issuePermit(devPermitKey(t.dataDir), { keysetId, txHash: m32 });
const sign = (keysetId: string, p = permit(keysetId)) => {
  device.share = shares.get(keysetId)!;
  return signThrough(t.client, device, keysetId, m32, payload, p);
};
const sealed = (keysetId: string) =>
  db.prepare('SELECT share_sealed FROM keysets WHERE keyset_id = ?').pluck().get(keysetId) as Buffer;
const setSealed = (keysetId: string, value: Buffer) =>
  assert.equal(rw.prepare('UPDATE keysets SET share_sealed = ? WHERE keyset_id = ?').run(value, keysetId).changes, 1);
const sessions = (keysetId: string) =>
  db.prepare('SELECT state, COUNT(*) AS n FROM sign_sessions WHERE keyset_id = ? GROUP BY state').all(keysetId);
const permitUsed = (permitId: string) =>
  db.prepare('SELECT 1 FROM used_permits WHERE permit_id = ?').get(permitId) !== undefined;
async function status(keysetId: string): Promise<KeysetStatus> {
  return (await call<{ keyset: Keyset }>(t.client, 'getKeyset', { keysetId })).keyset.status;
}

test('(a) one flipped byte anywhere in share_sealed: SHARE_CORRUPTED, nothing signed, the permit is not spent', async () => {
  await sign('store-a'); // the share is cached now: the store must notice the change on disk all the same
  const original = sealed('store-a');
  const before = sessions('store-a');
  const p = permit('store-a');
  // version byte, nonce, ciphertext (start, middle, end), tag
  const positions = [0, 5, 13, original.length >> 1, original.length - 17, original.length - 1];
  for (const pos of positions) {
    const bad = Buffer.from(original);
    bad[pos]! ^= 0x01;
    setSealed('store-a', bad);
    await refused(sign('store-a', p), 'SHARE_CORRUPTED').catch((e: Error) => assert.fail(`byte ${pos}: ${e.message}`));
  }
  // Cut short and emptied rows too.
  for (const bad of [original.subarray(0, original.length - 1), original.subarray(0, 20), Buffer.alloc(0)]) {
    setSealed('store-a', Buffer.from(bad));
    await refused(sign('store-a', p), 'SHARE_CORRUPTED');
  }
  assert.deepEqual(sessions('store-a'), before, 'no signing session was opened, so nothing was signed');
  // What the code does: the share is opened before the permit is spent, so the permit survives.
  assert.equal(permitUsed(p.permitId), false);
  assert.equal(await status('store-a'), KeysetStatus.KEYSET_STATUS_ACTIVE, 'a corrupted share does not freeze');

  setSealed('store-a', original);
  const { signature } = await sign('store-a', p);
  assert.ok(signature.r > 0n, 'the same permit signs once the row is repaired');
});

test('(a) a changed row version (part of the associated data): SHARE_CORRUPTED', async () => {
  await sign('store-a'); // cached
  assert.equal(rw.prepare("UPDATE keysets SET version = 2 WHERE keyset_id = 'store-a'").run().changes, 1);
  try {
    await refused(sign('store-a'), 'SHARE_CORRUPTED');
  } finally {
    rw.prepare("UPDATE keysets SET version = 1 WHERE keyset_id = 'store-a'").run();
  }
  await sign('store-a');
});

test("(a) public columns that no longer match the share (another keyset's public key): SHARE_CORRUPTED", async () => {
  const row = (id: string) =>
    db.prepare('SELECT public_key, address FROM keysets WHERE keyset_id = ?').get(id) as {
      public_key: Buffer;
      address: string;
    };
  const a = row('store-a');
  const b = row('store-b');
  rw.prepare("UPDATE keysets SET public_key = ?, address = ? WHERE keyset_id = 'store-a'").run(b.public_key, b.address);
  await refused(sign('store-a'), 'SHARE_CORRUPTED');
  rw.prepare("UPDATE keysets SET public_key = ?, address = ? WHERE keyset_id = 'store-a'").run(a.public_key, a.address);
  await sign('store-a');
});

test("(b) keyset A's sealed share copied into keyset B's row: SHARE_CORRUPTED for B; A is unaffected", async () => {
  const originalB = sealed('store-b');
  setSealed('store-b', sealed('store-a'));
  const p = permit('store-b');
  await refused(sign('store-b', p), 'SHARE_CORRUPTED');
  assert.equal(permitUsed(p.permitId), false);
  assert.equal(db.prepare("SELECT COUNT(*) FROM sign_sessions WHERE keyset_id = 'store-b'").pluck().get(), 0);
  await sign('store-a');
  // And the other way round (A gets B's share).
  const originalA = sealed('store-a');
  setSealed('store-a', originalB);
  await refused(sign('store-a'), 'SHARE_CORRUPTED');
  setSealed('store-a', originalA);
  setSealed('store-b', originalB);
  await sign('store-b', p);
  await sign('store-a');
  const notActive = db.prepare("SELECT keyset_id FROM keysets WHERE status != 'ACTIVE'").all();
  assert.deepEqual(notActive, []);
});

test('(c) the daemon refuses to start when the KEK file is readable by others (mode 0644)', async () => {
  t.client.close();
  await t.signer.close();
  const kekFile = join(t.dataDir, 'kek.hex');
  for (const mode of [0o644, 0o640, 0o604]) {
    chmodSync(kekFile, mode);
    const run = await runChildSignerToExit(t.dataDir);
    assert.equal(run.listening, false);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, new RegExp(`KEK file .*kek\\.hex has mode ${mode.toString(8)}; it must be 600`));
  }
  chmodSync(kekFile, 0o600);
});

test('(c) a KEK other than the one that sealed the data: the daemon does not start, and the data is unharmed', async () => {
  const kek = readFileSync(join(t.dataDir, 'kek.hex'), 'utf8').trim();
  const before = db.prepare('SELECT keyset_id, share_sealed, status FROM keysets ORDER BY keyset_id').all();
  const run = await runChildSignerToExit(t.dataDir, { TANDEM_SIGNER_KEK: randomBytes(32).toString('hex') });
  assert.equal(run.listening, false);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /does not open this data directory's sealed data/);
  assert.doesNotMatch(run.stderr, new RegExp(kek, 'i'), 'the real KEK is not printed');
  assert.deepEqual(db.prepare('SELECT keyset_id, share_sealed, status FROM keysets ORDER BY keyset_id').all(), before);

  // The right KEK from the environment works (and so does the file): the data signs as before.
  for (const env of [{ TANDEM_SIGNER_KEK: kek }, {}] as Record<string, string>[]) {
    const child = await startChildSigner(t.dataDir, env);
    try {
      const p = issuePermit(devPermitKey(t.dataDir), { keysetId: 'store-b', txHash: m32 });
      device.share = shares.get('store-b')!;
      const { signature } = await signThrough(child.client, device, 'store-b', m32, payload, p);
      assert.ok(signature.r > 0n);
    } finally {
      assert.equal(await child.stop(), 0);
    }
  }
});

test('a wrong KEK is reported as a wrong KEK (not a bare "sealed value failed authentication")', async () => {
  const run = await runChildSignerToExit(t.dataDir, { TANDEM_SIGNER_KEK: randomBytes(32).toString('hex') });
  assert.equal(run.listening, false);
  assert.match(run.stderr, /KEK/);
  assert.equal(run.code, 2, 'a configuration error');
});
