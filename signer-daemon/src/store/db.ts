// The signer's SQLite database: one file in the data directory, WAL, synchronous=FULL so a
// committed row (a consumed permit, a DECRYPT_PENDING marker, a freeze) survives a power cut.
// Migrations are numbered and run in one transaction each at open.

import { chmodSync } from 'node:fs';
import Database from 'better-sqlite3';
import { AUDIT_LOG_DDL } from '@tandem/common/auditLog';

export type Db = Database.Database;

const MIGRATIONS: readonly string[] = [
  // 1: keysets, sessions, permits, audit
  `
  CREATE TABLE keysets (
    keyset_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'FROZEN', 'RETIRED')),
    wallet_id BLOB NOT NULL,
    key_id BLOB NOT NULL UNIQUE,
    public_key BLOB NOT NULL,
    address TEXT NOT NULL,
    device_public_key BLOB NOT NULL,
    share_sealed BLOB NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
  ) STRICT;

  -- One row per DKG the signer took part in; a keyset row exists only for COMPLETED ones.
  CREATE TABLE dkg_sessions (
    session_id TEXT PRIMARY KEY,
    keyset_id TEXT NOT NULL,
    request_id BLOB NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('RUNNING', 'COMPLETED', 'FAILED', 'ABANDONED')),
    error_code TEXT,
    started_at_ms INTEGER NOT NULL,
    ended_at_ms INTEGER
  ) STRICT;

  -- One row per signing session. DECRYPT_PENDING is written before P1 decrypts and is never
  -- left behind by a clean run: a row still in that state at start-up freezes its keyset (§9.2 D).
  CREATE TABLE sign_sessions (
    session_id TEXT PRIMARY KEY,
    keyset_id TEXT NOT NULL REFERENCES keysets(keyset_id),
    request_id BLOB NOT NULL UNIQUE,
    permit_id TEXT NOT NULL UNIQUE,
    tx_hash BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('RUNNING', 'DECRYPT_PENDING', 'SIGNED', 'FAILED', 'ABANDONED', 'FROZE')),
    error_code TEXT,
    evidence TEXT,
    started_at_ms INTEGER NOT NULL,
    ended_at_ms INTEGER
  ) STRICT;

  -- Every permit the signer accepted, stored before its session starts: a permit is used once.
  CREATE TABLE used_permits (
    permit_id TEXT PRIMARY KEY,
    keyset_id TEXT NOT NULL,
    tx_request_id TEXT NOT NULL,
    used_at_ms INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE permit_keys (
    key_id TEXT PRIMARY KEY,
    secret_sealed BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL,
    retired_at_ms INTEGER
  ) STRICT;

  -- Small sealed or public settings: the signer's identity seed.
  CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
  ) STRICT;

  `,
  // 2: the signature of a SIGNED session (r ‖ s ‖ recid, public), so a coordinator that lost the
  // session can recover it (GetSigningResult) instead of having the withdrawal signed again.
  `ALTER TABLE sign_sessions ADD COLUMN signature BLOB;`,
];

export function openDb(file: string): Db {
  const db = new Database(file);
  chmodSync(file, 0o600); // sealed rows only, but nobody else needs to read it (SQLite copies the mode to -wal/-shm)
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

/** openDbExclusive's refusal: another connection (a running signer, an admin command, a reader) has the file open. */
export class DbInUseError extends Error {
  override readonly name = 'DbInUseError';
}

/**
 * Opens an existing database for an offline change (rotate-kek) and keeps it to itself until close().
 * The signer keeps no pid or lock file: its SQLite connection is the mark that it runs. In WAL mode every
 * connection that has read the database (the signer reads it at open) holds a shared lock on the file for
 * as long as it stays open; with locking_mode=EXCLUSIVE the first access here needs an exclusive lock on
 * the file, which SQLite grants only when no other connection holds one, in this process or another. It
 * then keeps that lock until close: while it is held no other connection, not even a reader, can use the
 * database, so a signer started meanwhile cannot open it ("database is locked") and stops.
 */
export function openDbExclusive(file: string): Db {
  const db = new Database(file, { fileMustExist: true, timeout: 1_000 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE'); // takes the file lock, kept after COMMIT in this locking mode
    db.exec('COMMIT');
  } catch (e) {
    db.close();
    const code = (e as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
      throw new DbInUseError(`${file} is open in another process: stop the signer (and any admin command) first`);
    throw e;
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length)
    throw new Error(`database schema ${current} is newer than this signer (${MIGRATIONS.length}): upgrade the signer`);
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]! + (v === 0 ? AUDIT_LOG_DDL : ''));
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
