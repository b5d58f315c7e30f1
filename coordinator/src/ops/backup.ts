// `admin backup` and `admin restore` for the coordinator (common/src/backup.ts does the copying and
// checking). The backup holds coordinator.db: users (scrypt hashes, never passwords), token hashes,
// devices, wallets, policies, the address book, withdrawals and the audit log. No KEK is involved; the
// TLS key and the permit key file are configuration, backed up with it (docs/operator-guide.md).
//
// A restore brings back the state at the time of the backup. Withdrawals signed or broadcast later are
// not in it, so the summary asks for a reconciliation against the chain before anyone signs again.

import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { restoreBackup, writeBackup, type BackupManifest } from '@tandem/common/backup';
import { type CoordinatorConfig } from '../config.ts';
import { openSqliteDb, openStore } from '../db/sqliteStore.ts';
import { type Store } from '../db/store.ts';
import { AuditTrail } from '../audit/auditTrail.ts';

const DB_FILE = 'coordinator.db';

/** Counts in the backup's copy, which the SQLite backup tooling hands over as a driver handle. */
const countInCopy = (copy: Database.Database, sql: string) => (copy.prepare(sql).get() as { n: number }).n;

const count = async (store: Store, sql: string) => (await store.get<{ n: number }>(sql))?.n ?? 0;

/** Copies the live coordinator.db into `outDir` (safe while the coordinator runs) and writes the manifest. */
export function backupCoordinator(
  config: CoordinatorConfig,
  outDir: string,
  now: () => number = Date.now,
): Promise<{ dir: string; manifest: BackupManifest }> {
  return writeBackup({
    source: join(config.dataDir, DB_FILE),
    outDir,
    service: 'coordinator',
    now,
    inspect: (copy) => ({
      users: countInCopy(copy, 'SELECT COUNT(*) AS n FROM users'),
      wallets: countInCopy(copy, 'SELECT COUNT(*) AS n FROM wallets'),
      withdrawals: countInCopy(copy, 'SELECT COUNT(*) AS n FROM withdrawals'),
    }),
  });
}

export interface CoordinatorRestoreSummary {
  restored: string;
  from: string;
  backupCreatedAt: string;
  schemaVersion: number;
  users: number;
  wallets: number;
  /** Withdrawals by state, so an operator sees at once what may have moved on since the backup. */
  withdrawals: Record<string, number>;
  replacedInto: string | null;
  audit: { entries: number; head: string };
  note: string;
}

/**
 * Installs the backup in `fromDir` as this data directory's coordinator.db. Stop the coordinator first.
 * Refuses, leaving the directory as it was, when a database is already there (unless `force`), the file
 * does not match its manifest, this version cannot open it, or its audit chain does not verify.
 */
export async function restoreCoordinator(
  config: CoordinatorConfig,
  o: { fromDir: string; force: boolean; operator: string },
  now: () => number = Date.now,
): Promise<CoordinatorRestoreSummary> {
  const target = join(config.dataDir, DB_FILE);
  const { manifest, replacedInto } = restoreBackup({
    fromDir: o.fromDir,
    service: 'coordinator',
    target,
    force: o.force,
    open: openSqliteDb,
    now,
  });
  const store = openStore(target);
  try {
    const audit = new AuditTrail(store, now);
    await audit.append(o.operator, 'backup.restored', 'coordinator', {
      from: o.fromDir,
      backupCreatedAt: manifest.createdAt,
      sha256: manifest.sha256,
      replacedInto: replacedInto ?? null,
    });
    const v = await audit.verify();
    if (!v.ok) throw new Error(`the restored audit log does not verify at entry ${v.seq}: ${v.reason}`);
    const withdrawals: Record<string, number> = {};
    for (const r of await store.all<{ state: string; n: number }>(
      'SELECT state, COUNT(*) AS n FROM withdrawals GROUP BY state',
    ))
      withdrawals[r.state] = r.n;
    return {
      restored: target,
      from: o.fromDir,
      backupCreatedAt: manifest.createdAt,
      schemaVersion: manifest.schemaVersion,
      users: await count(store, 'SELECT COUNT(*) AS n FROM users'),
      wallets: await count(store, 'SELECT COUNT(*) AS n FROM wallets'),
      withdrawals,
      replacedInto: replacedInto ?? null,
      audit: { entries: v.entries, head: v.head },
      note:
        `state after ${manifest.createdAt} is not in this backup: before anyone signs, reconcile withdrawals that ` +
        `are approved, signing or signed here against each wallet's transactions on chain since then (a ` +
        `withdrawal paid after the backup shows as unpaid here), and re-create wallets made later`,
    };
  } finally {
    await store.close();
  }
}
