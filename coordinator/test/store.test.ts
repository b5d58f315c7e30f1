// The SQLite Store: transactions commit or roll back whole, run one at a time, nest as savepoints,
// and a statement made outside a transaction never sees (or joins) one in progress.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, SCHEMA_VERSION, type SqliteStore } from '../src/db/sqliteStore.ts';
import { ConstraintError, isConstraint } from '../src/db/store.ts';
import { AuditTrail } from '../src/audit/auditTrail.ts';

function tempStore(): SqliteStore {
  const store = openStore(join(mkdtempSync(join(tmpdir(), 'tandem-store-')), 'coordinator.db'));
  store.db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL) STRICT');
  return store;
}

const value = async (s: SqliteStore, k: string) => (await s.get<{ v: number }>('SELECT v FROM t WHERE k = ?', k))?.v;

test('a transaction commits on success and rolls back everything on a throw', async () => {
  const s = tempStore();
  await s.transaction(async () => {
    await s.run('INSERT INTO t (k, v) VALUES (?, ?)', 'a', 1);
    await s.run('INSERT INTO t (k, v) VALUES (?, ?)', 'b', 2);
  });
  await assert.rejects(
    s.transaction(async () => {
      await s.run('UPDATE t SET v = 10 WHERE k = ?', 'a');
      throw new Error('refused');
    }),
    /refused/,
  );
  assert.equal(await value(s, 'a'), 1);
  assert.equal(await s.run('UPDATE t SET v = v + 1'), 2, 'run resolves to the rows changed');
  assert.equal(await s.schemaVersion(), SCHEMA_VERSION);
  await s.close();
});

test('an inner transaction is a savepoint: its failure undoes only its own writes', async () => {
  const s = tempStore();
  await s.transaction(async () => {
    await s.run('INSERT INTO t (k, v) VALUES (?, ?)', 'outer', 1);
    await assert.rejects(
      s.transaction(async () => {
        await s.run('INSERT INTO t (k, v) VALUES (?, ?)', 'inner', 2);
        throw new Error('inner refused');
      }),
    );
    await s.transaction(async () => s.run('INSERT INTO t (k, v) VALUES (?, ?)', 'inner2', 3));
  });
  assert.equal(await value(s, 'outer'), 1);
  assert.equal(await value(s, 'inner'), undefined);
  assert.equal(await value(s, 'inner2'), 3);
  await s.close();
});

test('inner transactions that overlap are refused and the whole transaction rolls back', async () => {
  const s = tempStore();
  const inner = (k: string) =>
    s.transaction(async () => {
      await s.run('INSERT INTO t (k, v) VALUES (?, ?)', k, 1);
      await s.get('SELECT v FROM t WHERE k = ?', k);
    });
  await assert.rejects(
    s.transaction(async () => {
      await Promise.all([inner('a'), inner('b')]);
    }),
    /overlapped/,
  );
  assert.equal(await value(s, 'a'), undefined);
  assert.equal(await value(s, 'b'), undefined);
  await s.transaction(async () => {
    await inner('c');
    await inner('d');
  });
  assert.equal(await value(s, 'd'), 1, 'one after the other is fine');
  await s.close();
});

test('read-modify-write transactions started together never lose an update', async () => {
  const s = tempStore();
  await s.run('INSERT INTO t (k, v) VALUES (?, ?)', 'n', 0);
  await Promise.all(
    Array.from({ length: 100 }, () =>
      s.transaction(async () => {
        const v = (await value(s, 'n'))!;
        await s.run('UPDATE t SET v = ? WHERE k = ?', v + 1, 'n');
      }),
    ),
  );
  assert.equal(await value(s, 'n'), 100);
  await s.close();
});

test('a statement outside a transaction waits for it: no uncommitted read, no joining it', async () => {
  const s = tempStore();
  await s.run('INSERT INTO t (k, v) VALUES (?, ?)', 'x', 1);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const seen: (number | undefined)[] = [];
  const tx = s
    .transaction(async () => {
      await s.run('UPDATE t SET v = 2 WHERE k = ?', 'x');
      await gate; // only a test holds a transaction open across another task's turn
      throw new Error('rolled back');
    })
    .catch(() => 'rolled back');
  await new Promise((r) => setImmediate(r));
  const outsideRead = value(s, 'x').then((v) => seen.push(v));
  const outsideWrite = s.run('INSERT INTO t (k, v) VALUES (?, ?)', 'y', 5);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, [], 'the read waits while the transaction is open');
  release();
  assert.equal(await tx, 'rolled back');
  await outsideRead;
  await outsideWrite;
  assert.deepEqual(seen, [1], 'it then reads the committed value');
  assert.equal(await value(s, 'y'), 5, 'the outside write was not rolled back with the transaction');
  await s.close();
});

test('a callback scheduled inside a transaction that fires after it is outside it', async () => {
  const s = tempStore();
  let late!: Promise<number>;
  await s.transaction(async () => {
    await s.run('INSERT INTO t (k, v) VALUES (?, ?)', 'a', 1);
    late = new Promise((resolve, reject) =>
      setImmediate(() => s.run('INSERT INTO t (k, v) VALUES (?, ?)', 'late', 2).then(resolve, reject)),
    );
  });
  // The callback fires while this second transaction is open: it must wait for it, not join it.
  const second = s.transaction(async () => {
    await s.run('INSERT INTO t (k, v) VALUES (?, ?)', 'b', 3);
    await new Promise((r) => setTimeout(r, 20));
    throw new Error('rolled back');
  });
  await assert.rejects(second, /rolled back/);
  assert.equal(await late, 1);
  assert.equal(await value(s, 'late'), 2, 'the late write survived the rollback it was not part of');
  assert.equal(await value(s, 'b'), undefined);
  await s.close();
});

test('a bad statement rejects with the driver error and leaves the store usable', async () => {
  const s = tempStore();
  await assert.rejects(s.get('SELECT nope FROM t'), /no such column/);
  await assert.rejects(
    s.transaction(async () => s.run('INSERT INTO t (k) VALUES (?)', 'a')),
    /NOT NULL/,
  );
  assert.equal(await s.run('INSERT INTO t (k, v) VALUES (?, ?)', 'a', 1), 1);
  await s.close();
});

test('a constraint refusal arrives as a ConstraintError of its kind, whatever the driver calls it', async () => {
  const s = tempStore();
  s.db.exec('CREATE TABLE child (k TEXT NOT NULL REFERENCES t (k)) STRICT');
  await s.run('INSERT INTO t (k, v) VALUES (?, ?)', 'a', 1);
  const refusal = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => assert.fail('the write was accepted'),
      (x: unknown) => x,
    );
    assert.ok(e instanceof ConstraintError, String(e));
    return e;
  };
  const taken = await refusal(s.run('INSERT INTO t (k, v) VALUES (?, ?)', 'a', 2));
  assert.ok(isConstraint(taken, 'unique') && !isConstraint(taken, 'foreign_key'));
  assert.ok(isConstraint(await refusal(s.run('INSERT INTO child (k) VALUES (?)', 'nowhere')), 'foreign_key'));
  assert.ok(isConstraint(await refusal(s.run('INSERT INTO t (k) VALUES (?)', 'b')), 'other'));
  await s.close();
});

test('the audit trail chains through the store and joins the caller’s transaction', async () => {
  const s = tempStore();
  const audit = new AuditTrail(s, () => 1_700_000_000_000);
  await audit.append('alice', 'thing.done', 'x', { n: 1 });
  await assert.rejects(
    s.transaction(async () => {
      await audit.append('alice', 'thing.done', 'y');
      throw new Error('the change was refused');
    }),
  );
  await Promise.all(Array.from({ length: 20 }, (_, i) => audit.append('bob', 'thing.done', `z${i}`)));
  const v = await audit.verify();
  assert.ok(v.ok);
  assert.equal(v.entries, 21, 'the rolled-back entry is gone with its change');
  assert.equal(v.head, await audit.head());
  assert.equal((await audit.byActors(['alice'], 10)).length, 1);
  await s.run("UPDATE audit_log SET actor = 'mallory' WHERE seq = 5");
  assert.deepEqual(await audit.verify(), { ok: false, seq: 5, reason: 'hash does not match the entry contents' });
  await s.close();
});
