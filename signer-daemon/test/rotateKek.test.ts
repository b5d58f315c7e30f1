// KEK rotation (docs/operator-guide.md, "The KEK"): `admin rotate-kek --new-kek-file FILE` re-seals every
// sealed value of a stopped signer under a new KEK in one transaction. On a real signer (a DKG's share, two
// permit keys, the identity): after the rotation the signer starts with the new KEK, keeps its identity and
// keyset, signs, and accepts permits under both old permit keys; with the old KEK it refuses to start. A
// running signer, a new KEK file others can read, the current KEK again, and an altered share row are
// refused with nothing changed. Keysets of every status and retired permit keys are re-sealed too.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { recoverAddress, type Hex } from 'viem';
import { txDigest } from '@tandem/tecdsa/txDigest';
import { KeysetStatus, type Keyset } from '@tandem/proto/mpc';
import { runAdminCli } from '../src/cli/admin.ts';
import { aesGcmKek, associatedData, type KeyEncryptionKey } from '../src/store/kek.ts';
import { openDb } from '../src/store/db.ts';
import {
  Device,
  call,
  devPermitKey,
  issuePermit,
  runChildSignerToExit,
  signThrough,
  startTestSigner,
  tempDir,
  type TestSigner,
} from './harness.ts';

const KS = 'rotate-ks';
const message = Buffer.from('kek rotation tests');
const m32 = txDigest({ type: 'personal', message });
const payload = { personalMessage: message };

let t: TestSigner | undefined;
let dataDir: string;
let device: Device;
let identity: string;
let address: string;
let permitKey2: { keyId: string; secret: Buffer };
let oldHex: string;
const newHex = randomBytes(32).toString('hex');
const dirs: string[] = [];
const dir = (prefix: string) => {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
};
const keys = dir('tandem-new-kek-'); // where the operator prepares the new KEK, outside the data directory
const newKekFile = join(keys, 'kek.new.hex');
writeFileSync(newKekFile, newHex + '\n', { mode: 0o600 });
const kekOf = (hex: string) => aesGcmKek(Buffer.from(hex, 'hex'));
/** Everything the admin CLI printed in this file, checked for secrets at the end. */
const transcript: string[] = [];
/** KEKs and plaintexts of the hand-made database, also looked for in the transcript. */
const extraSecrets: Buffer[] = [];

/** Runs the admin CLI on `dir` with a clean environment; returns its exit code and output. */
async function admin(
  args: string[],
  onDir = dataDir,
  extraEnv: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('TANDEM_') && k !== 'CREDENTIALS_DIRECTORY') env[k] = v;
  Object.assign(env, extraEnv, { TANDEM_SIGNER_DATA_DIR: onDir });
  const out: string[] = [];
  const err: string[] = [];
  const code = await runAdminCli(
    args,
    env,
    (s) => void out.push(s),
    (s) => void err.push(s),
  );
  transcript.push(...out, ...err);
  return { code, out: out.join('\n'), err: err.join('') };
}

interface SealedRow {
  table: string;
  id: string;
  sealed: Buffer;
  ad: Buffer;
}

/** Every sealed value, with the associated data spelled out here (not taken from the code under test). */
function sealedRows(onDir = dataDir): SealedRow[] {
  const db = new Database(join(onDir, 'signer.db'), { readonly: true, fileMustExist: true });
  try {
    const rows: SealedRow[] = [];
    for (const r of db.prepare('SELECT keyset_id, version, share_sealed FROM keysets ORDER BY keyset_id').all() as {
      keyset_id: string;
      version: number;
      share_sealed: Buffer;
    }[])
      rows.push({
        table: 'keysets',
        id: r.keyset_id,
        sealed: r.share_sealed,
        ad: associatedData('tandem-p1-share', r.keyset_id, r.version),
      });
    for (const r of db.prepare('SELECT key_id, secret_sealed FROM permit_keys ORDER BY key_id').all() as {
      key_id: string;
      secret_sealed: Buffer;
    }[])
      rows.push({
        table: 'permit_keys',
        id: r.key_id,
        sealed: r.secret_sealed,
        ad: associatedData('tandem-permit-key', r.key_id),
      });
    for (const r of db.prepare("SELECT name, value FROM settings WHERE name = 'identity_seed'").all() as {
      name: string;
      value: Buffer;
    }[])
      rows.push({ table: 'settings', id: r.name, sealed: r.value, ad: associatedData('tandem-signer-identity', 1) });
    return rows;
  } finally {
    db.close();
  }
}

/** The plaintexts, opened with `kek`; throws naming the first row that does not open. */
function openAll(kek: KeyEncryptionKey, onDir = dataDir): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const r of sealedRows(onDir)) {
    try {
      out.set(`${r.table} ${r.id}`, kek.open(r.sealed, r.ad));
    } catch (e) {
      throw new Error(`${r.table} ${r.id} does not open`, { cause: e });
    }
  }
  return out;
}

/** The database's sealed columns and audit head: what "nothing changed" compares. */
function snapshot(onDir = dataDir) {
  const db = new Database(join(onDir, 'signer.db'), { readonly: true, fileMustExist: true });
  try {
    return {
      sealed: sealedRows(onDir).map((r) => [r.table, r.id, r.sealed.toString('hex')]),
      audit: db.prepare('SELECT seq, action, hash FROM audit_log ORDER BY seq').all(),
    };
  } finally {
    db.close();
  }
}

const auditActions = () => {
  const db = new Database(join(dataDir, 'signer.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT action FROM audit_log ORDER BY seq').pluck().all() as string[]).filter(
      (a) => a === 'kek.rotated',
    );
  } finally {
    db.close();
  }
};

async function signAndRecover(signer: TestSigner, key: { keyId: string; secret: Buffer }): Promise<string> {
  const permit = issuePermit(key, { keysetId: KS, txHash: m32 });
  const { fromSigner } = await signThrough(signer.client, device, KS, m32, payload, permit);
  return recoverAddress({
    hash: `0x${Buffer.from(m32).toString('hex')}` as Hex,
    signature: {
      r: `0x${fromSigner.r.toString('hex')}`,
      s: `0x${fromSigner.s.toString('hex')}`,
      yParity: fromSigner.recoveryId,
    },
  });
}

async function stopSigner(): Promise<void> {
  if (!t) return;
  t.client.close();
  await t.signer.close();
  t = undefined;
}

/** Secrets in every spelling that could reach a terminal: hex (both cases) and base64. */
function secretNeedles(): string[] {
  const bytes = [
    Buffer.from(oldHex, 'hex'),
    Buffer.from(newHex, 'hex'),
    ...openAll(kekOf(newHex)).values(),
    ...extraSecrets,
  ];
  return bytes.flatMap((b) => [b.toString('hex'), b.toString('hex').toUpperCase(), b.toString('base64')]);
}

before(async () => {
  dataDir = dir('tandem-rotate-');
  t = await startTestSigner(dataDir);
  const info = await call<{ identityPublicKey: Buffer }>(t.client, 'getSignerInfo', {});
  identity = info.identityPublicKey.toString('hex');
  device = new Device(info.identityPublicKey);
  address = (await device.dkg(t.client, KS)).address;
  // A second permit key: the development key (the first) stays valid for the grace period.
  const file = join(keys, 'permit-key-2.json');
  const r = await admin(['rotate-permit-key', '--out', file]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(readFileSync(file, 'utf8')) as { keyId: string; secret: string };
  permitKey2 = { keyId: j.keyId, secret: Buffer.from(j.secret, 'base64') };
  oldHex = readFileSync(join(dataDir, 'kek.hex'), 'utf8').trim();
});
after(async () => {
  await stopSigner();
  for (const d of dirs) rmSync(d, { recursive: true, force: true }); // KEKs and shares
});

test('refused while the signer runs: the database is in use; nothing changed', async () => {
  const r = await admin(['rotate-kek', '--new-kek-file', newKekFile]);
  assert.equal(r.code, 1);
  assert.match(r.err, /signer\.db is open in another process: stop the signer/);
  assert.equal(await signAndRecover(t!, devPermitKey(dataDir)), address, 'the running signer was not disturbed');
  await stopSigner();
  openAll(kekOf(oldHex));
  assert.deepEqual(auditActions(), []);
});

test('a new KEK file that others can read, missing or malformed, or no file at all, is refused', async () => {
  const before = snapshot();
  const loose = join(keys, 'kek.loose.hex');
  writeFileSync(loose, randomBytes(32).toString('hex') + '\n', { mode: 0o644 });
  const r = await admin(['rotate-kek', '--new-kek-file', loose]);
  assert.equal(r.code, 2);
  assert.match(r.err, /--new-kek-file: KEK file .*kek\.loose\.hex has mode 644; it must be 600/);

  const missing = await admin(['rotate-kek', '--new-kek-file', join(keys, 'nope.hex')]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /nope\.hex does not exist; make the new KEK first/);

  const short = join(keys, 'kek.short.hex');
  writeFileSync(short, 'abcd\n', { mode: 0o600 });
  const s = await admin(['rotate-kek', '--new-kek-file', short]);
  assert.equal(s.code, 2);
  assert.match(s.err, /expected 64 hex characters/);

  assert.equal((await admin(['rotate-kek'])).code, 2);
  assert.deepEqual(snapshot(), before);
});

test('a new KEK equal to the current one is refused, by fingerprint', async () => {
  const before = snapshot();
  const same = join(keys, 'kek.same.hex');
  writeFileSync(same, oldHex.toUpperCase() + '\n', { mode: 0o600 }); // the same key, spelled differently
  const r = await admin(['rotate-kek', '--new-kek-file', same]);
  assert.equal(r.code, 1);
  assert.match(r.err, new RegExp(`the new KEK is the KEK in use \\(fingerprint ${kekOf(oldHex).fingerprint}\\)`));
  assert.deepEqual(snapshot(), before);
});

test('an altered share row aborts the rotation, naming the row; nothing changed, no audit entry', async () => {
  const rw = new Database(join(dataDir, 'signer.db'));
  const original = rw.prepare('SELECT share_sealed FROM keysets WHERE keyset_id = ?').pluck().get(KS) as Buffer;
  const flipped = Buffer.from(original);
  flipped[40]! ^= 0x01;
  rw.prepare('UPDATE keysets SET share_sealed = ? WHERE keyset_id = ?').run(flipped, KS);
  rw.close();
  const before = snapshot();

  const r = await admin(['rotate-kek', '--new-kek-file', newKekFile]);
  assert.equal(r.code, 1);
  assert.match(r.err, new RegExp(`does not open 1 sealed value: keysets ${KS}\\. Nothing was changed`));
  assert.match(r.err, /altered or damaged/);
  assert.deepEqual(snapshot(), before, 'every row, and the audit log, as they were');
  assert.deepEqual(auditActions(), []);

  const fix = new Database(join(dataDir, 'signer.db'));
  fix.prepare('UPDATE keysets SET share_sealed = ? WHERE keyset_id = ?').run(original, KS);
  fix.close();
  const still = openAll(kekOf(oldHex)); // every row still opens with the old KEK
  assert.equal(still.size, 4); // the share, two permit keys, the identity seed
  assert.throws(() => openAll(kekOf(newHex)));
});

test('rotate-kek re-seals every value under the new KEK in one audited transaction', async () => {
  const plain = openAll(kekOf(oldHex));
  const r = await admin(['rotate-kek', '--new-kek-file', newKekFile, '--operator', 'carol']);
  assert.equal(r.code, 0, r.err);
  const from = kekOf(oldHex).fingerprint;
  const to = kekOf(newHex).fingerprint;
  const summary = JSON.parse(r.out) as Record<string, unknown> & { next: string[] };
  assert.equal(summary.rotated, true);
  assert.equal(summary.from, from);
  assert.equal(summary.to, to);
  assert.equal(summary.shares, 1);
  assert.equal(summary.permitKeys, 2);
  assert.equal(summary.identity, 1);
  assert.equal(summary.newKekFile, newKekFile);
  assert.deepEqual(summary.kekSource, { origin: 'file', file: join(dataDir, 'kek.hex') });
  // The next steps, for this configuration: install the file where the signer reads its KEK, check the
  // fingerprint at start, back up, keep the old KEK.
  const next = summary.next.join('\n');
  assert.ok(next.includes(`replace the signer's KEK file ${join(dataDir, 'kek.hex')} with ${newKekFile}`), next);
  assert.ok(next.includes(`"signer listening"`) && next.includes(to), next);
  assert.match(next, /take a backup now/);
  assert.ok(next.includes(`Keep the old KEK (fingerprint ${from})`), next);

  // Same plaintexts, now under the new KEK with the same associated data; the old KEK opens nothing.
  const after = openAll(kekOf(newHex));
  assert.deepEqual([...after.keys()], [...plain.keys()]);
  for (const [k, v] of plain) assert.ok(after.get(k)!.equals(v), k);
  for (const row of sealedRows()) assert.throws(() => kekOf(oldHex).open(row.sealed, row.ad), `${row.table} ${row.id}`);

  const v = await admin(['verify-audit']);
  assert.equal(v.code, 0, v.out);
  const entries = (await admin(['export-audit'])).out.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const last = entries.at(-1)!;
  assert.equal(last.action, 'kek.rotated');
  assert.equal(last.actor, 'carol');
  assert.deepEqual(last.details, { from, to, shares: 1, permitKeys: 2, identity: 1 });
  assert.equal(entries.filter((e) => e.action === 'kek.rotated').length, 1);
});

test('with the new KEK installed the signer starts: same identity, same keyset, signs; old permit keys verify', async () => {
  renameSync(newKekFile, join(dataDir, 'kek.hex')); // as the printed next step says
  t = await startTestSigner(dataDir);
  const listening = readFileSync(t.logFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"signer listening"'))
    .map((l) => JSON.parse(l) as { kek: { fingerprint: string } })
    .at(-1)!;
  assert.equal(listening.kek.fingerprint, kekOf(newHex).fingerprint);

  const info = await call<{ identityPublicKey: Buffer }>(t.client, 'getSignerInfo', {});
  assert.equal(info.identityPublicKey.toString('hex'), identity);
  const k = (await call<{ keyset: Keyset }>(t.client, 'getKeyset', { keysetId: KS })).keyset;
  assert.equal(k.status, KeysetStatus.KEYSET_STATUS_ACTIVE);
  assert.equal(k.address, address);
  // Permits MAC'd with either permit key made before the rotation verify, and the share signs.
  assert.equal(await signAndRecover(t, devPermitKey(dataDir)), address);
  assert.equal(await signAndRecover(t, permitKey2), address);
  assert.equal(t.signer.ctx.audit.verify().ok, true);
});

test('with the old KEK the signer refuses to start, with a configuration error naming the KEK', async () => {
  await stopSigner();
  const run = await runChildSignerToExit(dataDir, { TANDEM_SIGNER_KEK: oldHex });
  assert.equal(run.listening, false);
  assert.equal(run.code, 2, run.stderr);
  assert.match(
    run.stderr,
    new RegExp(
      `configuration error: the KEK \\(fingerprint ${kekOf(oldHex).fingerprint}\\) does not open this data ` +
        `directory's sealed data`,
    ),
  );
  assert.doesNotMatch(run.stderr, /at .*\.ts:\d+/, 'an error message, not a stack trace');
  openAll(kekOf(newHex)); // and it changed nothing
});

test('keysets of every status and retired permit keys are re-sealed; unknown sealed data is refused', async () => {
  // A database written directly, with rows the signer above did not have: FROZEN and RETIRED keysets (one at a
  // later row version) and a permit key retired long ago. The current KEK comes from TANDEM_SIGNER_KEK here.
  const d = dir('tandem-rotate-rows-');
  const hexA = randomBytes(32).toString('hex');
  const hexB = randomBytes(32).toString('hex');
  extraSecrets.push(Buffer.from(hexA, 'hex'), Buffer.from(hexB, 'hex'));
  const kekA = kekOf(hexA);
  const db = openDb(join(d, 'signer.db'));
  const ins = db.prepare(
    `INSERT INTO keysets (keyset_id, version, status, wallet_id, key_id, public_key, address, device_public_key,
       share_sealed, failures, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 1, 1)`,
  );
  for (const [id, version, status] of [
    ['ks-active', 1, 'ACTIVE'],
    ['ks-frozen', 1, 'FROZEN'],
    ['ks-retired', 3, 'RETIRED'],
  ] as const) {
    const share = randomBytes(700);
    extraSecrets.push(share);
    const sealed = kekA.seal(share, associatedData('tandem-p1-share', id, version));
    ins.run(id, version, status, randomBytes(32), randomBytes(32), randomBytes(33), '0x00', randomBytes(32), sealed);
  }
  const pk = db.prepare(
    'INSERT INTO permit_keys (key_id, secret_sealed, created_at_ms, retired_at_ms) VALUES (?, ?, ?, ?)',
  );
  for (const [id, retired] of [
    ['pk-old', 2],
    ['pk-new', null],
  ] as const) {
    const secret = randomBytes(32);
    extraSecrets.push(secret);
    pk.run(id, kekA.seal(secret, associatedData('tandem-permit-key', id)), 1, retired);
  }
  const seed = randomBytes(32);
  extraSecrets.push(seed);
  db.prepare("INSERT INTO settings (name, value) VALUES ('identity_seed', ?)").run(
    kekA.seal(seed, associatedData('tandem-signer-identity', 1)),
  );
  db.close();

  const plain = openAll(kekA, d);
  const fileB = join(d, 'kek.b.hex');
  writeFileSync(fileB, hexB, { mode: 0o600 });
  const r = await admin(['rotate-kek', '--new-kek-file', fileB], d, { TANDEM_SIGNER_KEK: hexA });
  assert.equal(r.code, 0, r.err);
  const summary = JSON.parse(r.out) as Record<string, unknown> & { next: string[] };
  assert.deepEqual(
    [summary.shares, summary.permitKeys, summary.identity, summary.from, summary.to],
    [3, 2, 1, kekA.fingerprint, kekOf(hexB).fingerprint],
  );
  assert.deepEqual(summary.kekSource, { origin: 'env', variable: 'TANDEM_SIGNER_KEK' });
  assert.match(summary.next[0]!, /reads its KEK from the TANDEM_SIGNER_KEK variable/);
  const after = openAll(kekOf(hexB), d);
  assert.equal(after.size, 6);
  for (const [k, v] of plain) assert.ok(after.get(k)!.equals(v), k);
  const statuses = new Database(join(d, 'signer.db'), { readonly: true });
  assert.deepEqual(statuses.prepare('SELECT status FROM keysets ORDER BY keyset_id').pluck().all(), [
    'ACTIVE',
    'FROZEN',
    'RETIRED',
  ]);
  statuses.close();

  // A settings row and a column this version does not know: rotate-kek cannot tell whether they are sealed.
  const rw = new Database(join(d, 'signer.db'));
  rw.prepare("INSERT INTO settings (name, value) VALUES ('hsm_token', ?)").run(randomBytes(8));
  rw.exec('ALTER TABLE keysets ADD COLUMN backup_sealed BLOB');
  rw.close();
  const before = snapshot(d);
  const fileC = join(d, 'kek.c.hex');
  writeFileSync(fileC, randomBytes(32).toString('hex'), { mode: 0o600 });
  const u = await admin(['rotate-kek', '--new-kek-file', fileC], d, { TANDEM_SIGNER_KEK: hexB });
  assert.equal(u.code, 1);
  assert.match(u.err, /does not know column keysets\.backup_sealed, settings row hsm_token/);
  assert.match(u.err, /changes nothing/);
  assert.deepEqual(snapshot(d), before);
});

test('no KEK and no secret ever reached the CLI output', () => {
  const text = transcript.join('\n');
  for (const needle of secretNeedles()) assert.equal(text.includes(needle), false);
});
