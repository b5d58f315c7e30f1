// Audit log: the hash chain over a real SQLite file, the encoding pinned by an independent re-implementation, and
// each kind of tampering done the way an attacker with the database file would do it, with plain SQL.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import { AUDIT_LOG_DDL, AuditLog } from '../src/auditLog.ts';

type Db = Database.Database;
import Database from 'better-sqlite3';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-test-'));
const opened: Db[] = [];
after(() => {
  for (const db of opened) if (db.open) db.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const ZERO_HASH = '0'.repeat(64);
let files = 0;

// A fresh database file with a clock that moves one second per reading.
function fresh(): { file: string; db: Db; log: AuditLog } {
  const file = path.join(root, `signer-${++files}.db`);
  const db = open(file);
  return { file, db, log: new AuditLog(db, clock()) };
}

function open(file: string): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  if (!db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'audit_log'").get())
    db.exec(AUDIT_LOG_DDL + 'CREATE TABLE settings (name TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;');
  opened.push(db);
  return db;
}

function clock(start = 1_750_000_000_000): () => number {
  let t = start;
  return () => (t += 1000);
}

// Four entries in the shapes the daemon writes.
function seed(log: AuditLog): void {
  log.append('signer', 'daemon.started', '', { version: '0.1.0' });
  log.append('coordinator', 'permit.accepted', 'ks-1', { permitId: 'p-1', txRequestId: 'tx-1', expiresAtMs: 17 });
  log.append('signer', 'sign.completed', 'ks-1', { sessionId: 's-1' });
  log.append('signer', 'keyset.frozen', 'ks-2', { sessionId: 's-2', reason: 'BAD_SIGNATURE', manual: false });
}

test('appended entries chain from a zero hash, read back as written, and verify', () => {
  const { db, log } = fresh();
  assert.equal(log.head(), ZERO_HASH);
  assert.deepEqual(log.verify(), { ok: true, entries: 0, head: ZERO_HASH });

  const first = log.append('admin:alice', 'keyset.unlocked', 'ks-9', { z: 1, a: 'x', m: null, b: true });
  assert.equal(first.seq, 1);
  assert.equal(first.prevHash, ZERO_HASH);
  assert.deepEqual(first.details, { a: 'x', b: true, m: null, z: 1 });
  const stored = db.prepare('SELECT details FROM audit_log WHERE seq = 1').pluck().get();
  assert.equal(stored, '{"a":"x","b":true,"m":null,"z":1}', 'canonical JSON: sorted keys, no whitespace');

  seed(log);
  const all = log.entries();
  assert.deepEqual(
    all.map((e) => e.seq),
    [1, 2, 3, 4, 5],
  );
  for (let i = 1; i < all.length; i++) assert.equal(all[i]!.prevHash, all[i - 1]!.hash);
  assert.deepEqual(all[0], first);
  assert.deepEqual(
    log.entries(4).map((e) => e.action),
    ['sign.completed', 'keyset.frozen'],
  );
  assert.equal(log.head(), all[4]!.hash);
  assert.deepEqual(log.verify(), { ok: true, entries: 5, head: all[4]!.hash });
});

// The encoding written out independently of the module, as an external verifier (or an attacker) would.
function recompute(
  seq: number,
  atMs: number,
  actor: string,
  action: string,
  subject: string,
  details: string,
  prev: Buffer,
): Buffer {
  const field = (b: Buffer): Buffer[] => [Buffer.from([0, 0, b.length >> 8, b.length & 0xff]), b];
  const u64 = (n: number): Buffer => Buffer.from(n.toString(16).padStart(16, '0'), 'hex');
  const parts = [Buffer.from('tandem-audit-v1'), u64(seq), u64(atMs), Buffer.from(actor), Buffer.from(action)];
  parts.push(Buffer.from(subject), Buffer.from(details), prev);
  return createHash('sha256')
    .update(Buffer.concat(parts.flatMap(field)))
    .digest();
}

test('the hash is SHA-256 over the documented length-prefixed encoding', () => {
  const { log } = fresh();
  log.append('signer', 'daemon.started', '');
  const e = log.append('coordinator', 'permit.accepted', 'ks-1', { txRequestId: 'tx-1', expiresAtMs: 17, ok: true });
  const details = '{"expiresAtMs":17,"ok":true,"txRequestId":"tx-1"}';
  const prev = Buffer.from(e.prevHash, 'hex');
  assert.equal(recompute(2, e.atMs, 'coordinator', 'permit.accepted', 'ks-1', details, prev).toString('hex'), e.hash);
});

for (const [what, sql] of [
  ['details', `UPDATE audit_log SET details = '{"sessionId":"s-9"}' WHERE seq = 3`],
  ['actor', `UPDATE audit_log SET actor = 'admin:mallory' WHERE seq = 3`],
  ['at_ms', `UPDATE audit_log SET at_ms = at_ms - 3600000 WHERE seq = 3`],
  ['action', `UPDATE audit_log SET action = 'sign.failed' WHERE seq = 3`],
  ['subject', `UPDATE audit_log SET subject = 'ks-2' WHERE seq = 3`],
] as const) {
  test(`editing one row's ${what} fails verification at that seq`, () => {
    const { db, log } = fresh();
    seed(log);
    db.exec(sql);
    assert.deepEqual(log.verify(), { ok: false, seq: 3, reason: 'hash does not match the entry contents' });
  });
}

test("editing a row and recomputing its hash is caught by the next row's link", () => {
  const { db, log } = fresh();
  seed(log);
  const row = log.entries(2)[0]!;
  const forged = recompute(
    2,
    row.atMs,
    'admin:mallory',
    row.action,
    row.subject,
    JSON.stringify(row.details),
    Buffer.from(row.prevHash, 'hex'),
  );
  db.prepare(`UPDATE audit_log SET actor = 'admin:mallory', hash = ? WHERE seq = 2`).run(forged);
  assert.deepEqual(log.verify(), {
    ok: false,
    seq: 3,
    reason: 'prev_hash does not match the hash of the entry before it',
  });
});

test('deleting a middle row fails verification at the missing seq', () => {
  const { db, log } = fresh();
  seed(log);
  db.exec('DELETE FROM audit_log WHERE seq = 2');
  assert.deepEqual(log.verify(), { ok: false, seq: 2, reason: 'entry 2 is missing (found 3 next)' });
});

test("swapping two rows' contents fails verification at the first of them", () => {
  const { db, log } = fresh();
  seed(log);
  db.exec(`
    UPDATE audit_log SET seq = -2 WHERE seq = 2;
    UPDATE audit_log SET seq = 2 WHERE seq = 3;
    UPDATE audit_log SET seq = 3 WHERE seq = -2;
  `);
  const verdict = log.verify();
  assert.equal(verdict.ok, false);
  assert.equal(!verdict.ok && verdict.seq, 2);
});

test('inserting a row in the middle, renumbering the rest, fails verification at the insert', () => {
  const { db, log } = fresh();
  seed(log);
  const prev = db.prepare('SELECT hash FROM audit_log WHERE seq = 2').pluck().get();
  db.exec('UPDATE audit_log SET seq = seq + 10 WHERE seq >= 3; UPDATE audit_log SET seq = seq - 9 WHERE seq >= 13');
  db.prepare(
    `INSERT INTO audit_log VALUES (3, 1750000002500, 'admin:mallory', 'keyset.unlocked', 'ks-2', '{}', ?, randomblob(32))`,
  ).run(prev);
  assert.deepEqual(log.verify(), { ok: false, seq: 3, reason: 'hash does not match the entry contents' });
});

test('truncating the tail still verifies: only a head shipped elsewhere reveals it', () => {
  const { db, log } = fresh();
  seed(log);
  const shipped = { seq: 4, head: log.head() };
  db.exec('DELETE FROM audit_log WHERE seq = 4');
  const verdict = log.verify();
  assert.equal(verdict.ok, true);
  assert.ok(verdict.ok && verdict.entries === 3 && verdict.head !== shipped.head);
});

test('an append inside a transaction that throws leaves no entry, and the chain carries on', () => {
  const { db, log } = fresh();
  seed(log);
  const headBefore = log.head();
  const freeze = db.transaction(() => {
    db.prepare(`INSERT INTO settings (name, value) VALUES ('probe', x'01')`).run();
    log.append('signer', 'keyset.frozen', 'ks-3', { reason: 'BAD_SIGNATURE' });
    throw new Error('disk full while freezing');
  });
  assert.throws(() => freeze(), /disk full while freezing/);
  assert.equal(db.prepare('SELECT count(*) FROM settings').pluck().get(), 0);
  assert.equal(log.entries().length, 4);
  assert.equal(log.head(), headBefore);

  const committed = db.transaction(() => log.append('signer', 'keyset.frozen', 'ks-3', { reason: 'BAD_SIGNATURE' }));
  const entry = committed();
  assert.equal(entry.seq, 5);
  assert.equal(entry.prevHash, headBefore);
  assert.deepEqual(log.verify(), { ok: true, entries: 5, head: entry.hash });
});

test('a reopened database keeps the chain and appends after it', () => {
  const { file, db, log } = fresh();
  seed(log);
  const head = log.head();
  db.close();

  const again = new AuditLog(open(file), clock(1_760_000_000_000));
  assert.equal(again.head(), head);
  const next = again.append('signer', 'daemon.started', '', { version: '0.1.1' });
  assert.equal(next.seq, 5);
  assert.equal(next.prevHash, head);
  assert.deepEqual(again.verify(), { ok: true, entries: 5, head: next.hash });
});

test('details and names that cannot be recorded faithfully are refused, and nothing is written', () => {
  const { db, log } = fresh();
  const bad: [unknown, RegExp][] = [
    [{ nested: { a: 1 } }, /value "nested" is an object/],
    [{ list: [1] }, /value "list" is an array/],
    [{ missing: undefined }, /value "missing" is undefined/],
    [{ big: 10n }, /value "big" is a bigint/],
    [{ nan: Number.NaN }, /value "nan" is NaN/],
    [{ inf: Infinity }, /value "inf" is Infinity/],
    [{ long: 'x'.repeat(4097) }, /value "long" is 4097 characters, over 4096/],
    [{ ['k'.repeat(4097)]: 1 }, /key .* is 4097 characters/],
    [{ broken: '\uD800' }, /unpaired UTF-16 surrogate/],
    [[1, 2], /details must be an object/],
    [null, /details must be an object/],
  ];
  for (const [details, message] of bad)
    assert.throws(() => log.append('signer', 'x', 's', details as never), message, JSON.stringify(String(details)));
  assert.throws(() => log.append('', 'x', 's'), /actor must not be empty/);
  assert.throws(() => log.append('signer', 'x', 's'.repeat(4097)), /subject is 4097 characters/);
  assert.throws(() => new AuditLog(db, () => Number.NaN).append('signer', 'x', 's'), /not a time in ms/);

  assert.equal(log.entries().length, 0);
  const ok = log.append('signer', 'x', 's'.repeat(4096), { edge: 'y'.repeat(4096), n: -1.5, z: 0 });
  assert.equal(ok.seq, 1);
  assert.deepEqual(log.verify(), { ok: true, entries: 1, head: ok.hash });
});
