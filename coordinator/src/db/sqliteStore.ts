// The Store on SQLite (better-sqlite3: WAL, synchronous=FULL, foreign keys), opened by openStore.
//
// better-sqlite3 is synchronous and one connection holds one transaction, so async transactions
// take turns: a transaction (BEGIN IMMEDIATE … COMMIT) runs alone, and a statement made outside
// any transaction waits for the one in progress rather than reading its uncommitted rows. When
// nothing is in progress a statement runs at once. AsyncLocalStorage tells whether a statement
// belongs to the running transaction; a callback scheduled inside a transaction that fires after
// it ended (a timer, an event) is treated as outside it.

import { AsyncLocalStorage } from 'node:async_hooks';
import { chmodSync } from 'node:fs';
import Database from 'better-sqlite3';
import { AUDIT_LOG_DDL } from '@tandem/common/auditLog';
import { MIGRATIONS } from './schema.ts';
import { ConstraintError, type SqlValue, type Store } from './store.ts';

const ALL = [MIGRATIONS[0]! + AUDIT_LOG_DDL, ...MIGRATIONS.slice(1)];

/** The schema version this coordinator's migrations reach. */
export const SCHEMA_VERSION = ALL.length;

/** Opens (creating if need be) and migrates the coordinator's database file. */
export function openSqliteDb(file: string): Database.Database {
  const db = new Database(file);
  if (file !== ':memory:') chmodSync(file, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > ALL.length)
    throw new Error(`database schema ${current} is newer than this coordinator (${ALL.length}): upgrade it`);
  for (let v = current; v < ALL.length; v++) {
    db.transaction(() => {
      db.exec(ALL[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return db;
}

export function openStore(file: string): SqliteStore {
  return new SqliteStore(openSqliteDb(file));
}

interface Tx {
  open: boolean;
  savepoints: number;
  /** The savepoints open now, innermost last. */
  nested: string[];
}

export class SqliteStore implements Store {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly current = new AsyncLocalStorage<Tx>();
  /** Settles when the last queued transaction (or statement waiting for one) has finished. */
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;

  /** The driver's handle: for SQLite-only operator tools (online backup) and nothing else. */
  constructor(readonly db: Database.Database) {}

  get<R>(sql: string, ...params: SqlValue[]): Promise<R | undefined> {
    return this.statement(() => this.prepare(sql).get(...params) as R | undefined);
  }

  all<R>(sql: string, ...params: SqlValue[]): Promise<R[]> {
    return this.statement(() => this.prepare(sql).all(...params) as R[]);
  }

  run(sql: string, ...params: SqlValue[]): Promise<number> {
    return this.statement(() => this.prepare(sql).run(...params).changes);
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    const tx = this.current.getStore();
    if (tx?.open) return this.savepoint(tx, fn);
    return this.inTurn(async () => {
      const mine: Tx = { open: true, savepoints: 0, nested: [] };
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await this.current.run(mine, fn);
        this.db.exec('COMMIT');
        return result;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      } finally {
        mine.open = false;
      }
    });
  }

  async schemaVersion(): Promise<number> {
    return this.statement(() => this.db.pragma('user_version', { simple: true }) as number);
  }

  async close(): Promise<void> {
    await this.inTurn(async () => this.db.close());
  }

  private async savepoint<T>(tx: Tx, fn: () => Promise<T>): Promise<T> {
    const name = `sp${++tx.savepoints}`;
    this.db.exec(`SAVEPOINT ${name}`);
    tx.nested.push(name);
    let result: T;
    try {
      result = await fn();
    } catch (e) {
      this.closeSavepoint(tx, name, true);
      throw e;
    }
    this.closeSavepoint(tx, name, false);
    return result;
  }

  /**
   * Savepoints nest, they cannot overlap: two inner transactions run side by side (Promise.all in a
   * transaction) would release or roll back each other's writes, so that is refused loudly and the
   * whole transaction rolls back.
   */
  private closeSavepoint(tx: Tx, name: string, rollback: boolean): void {
    if (tx.nested[tx.nested.length - 1] !== name)
      throw new Error('inner transactions overlapped in one transaction: run them one after the other');
    tx.nested.pop();
    if (rollback) this.db.exec(`ROLLBACK TO ${name}`);
    this.db.exec(`RELEASE ${name}`);
  }

  /** A statement runs now inside its transaction or when nothing is in progress; else after it. */
  private statement<T>(op: () => T): Promise<T> {
    const guarded = (): T => {
      try {
        return op();
      } catch (e) {
        throw constraintError(e) ?? e;
      }
    };
    if (this.current.getStore()?.open || this.queued === 0) {
      try {
        return Promise.resolve(guarded());
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return this.inTurn(async () => guarded());
  }

  private inTurn<T>(op: () => Promise<T>): Promise<T> {
    this.queued++;
    const result = this.tail.then(op);
    this.tail = result.then(
      () => void this.queued--,
      () => void this.queued--,
    );
    return result;
  }

  private prepare(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }
}

/** SQLite's constraint codes as the Store's ConstraintError (PostgreSQL reports keys as unique too). */
function constraintError(e: unknown): ConstraintError | undefined {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_CONSTRAINT')) return undefined;
  const kind =
    code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
      ? 'unique'
      : code === 'SQLITE_CONSTRAINT_FOREIGNKEY'
        ? 'foreign_key'
        : 'other';
  return new ConstraintError(kind, (e as Error).message);
}
