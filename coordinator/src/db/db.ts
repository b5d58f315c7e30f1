// Opens the coordinator's SQLite database (WAL, synchronous=FULL, foreign keys) and runs the
// numbered migrations of schema.ts plus the shared audit-log table.

import { chmodSync } from 'node:fs';
import Database from 'better-sqlite3';
import { AUDIT_LOG_DDL } from '@tandem/common/auditLog';
import { MIGRATIONS } from './schema.ts';

export type Db = Database.Database;

const ALL = [MIGRATIONS[0]! + AUDIT_LOG_DDL, ...MIGRATIONS.slice(1)];

export function openDb(file: string): Db {
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
