// Re-sealing every sealed value of signer.db under a new KEK (`admin rotate-kek`, docs/operator-guide.md,
// "The KEK"). The signer must be stopped: the database is opened with an exclusive lock (openDbExclusive),
// which is refused while any other connection has it open and keeps every other connection out until the
// rotation is over.
//
// One transaction: each sealed value is opened with the old KEK, sealed with the new one under exactly the
// associated data it had (the same functions the stores use), checked to open again with the new KEK, and
// written back; then everything written is read back and opened with the new KEK, and the `kek.rotated`
// audit entry is appended. Only then does it commit. If any value does not open with the old KEK, the
// rotation names every such row (by id) and rolls back: a crash or a refusal leaves all rows under the old
// KEK, a commit leaves all of them under the new one. Plaintexts are zeroed as soon as they are re-sealed.
//
// Sealed values are listed in SEALED below. A column whose name says "sealed" that the list does not cover,
// or a settings row it does not know, stops the rotation rather than leaving a value under the old KEK.

import { existsSync } from 'node:fs';
import { AuditLog } from '@tandem/common/auditLog';
import { type Db, DbInUseError, openDbExclusive } from './db.ts';
import { type KeyEncryptionKey, SealError } from './kek.ts';
import { shareAd } from './keysets.ts';
import { permitKeyAd } from '../permits/permitKeys.ts';
import { IDENTITY_AD, IDENTITY_SETTING } from '../identity.ts';

export type RekeyErrorCode =
  'SAME_KEK' | 'NO_DATABASE' | 'SIGNER_RUNNING' | 'UNREADABLE_ROWS' | 'UNKNOWN_SEALED_DATA' | 'VERIFY_FAILED';

/** A rotation refused; nothing was changed. */
export class RekeyError extends Error {
  override readonly name = 'RekeyError';
  constructor(
    readonly code: RekeyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

type Row = Record<string, unknown>;

interface SealedColumn {
  /** What the audit entry and the summary count. */
  kind: 'shares' | 'permitKeys' | 'identity';
  table: string;
  /** The primary key: how a row is named in messages (never a secret). */
  key: string;
  column: string;
  /** Only these rows hold a sealed value (a fixed SQL condition); every row when absent. */
  where?: string;
  /** The associated data the value was sealed under, from its row. */
  ad(row: Row): Buffer;
}

/** Every sealed value in signer.db, with the associated data its store seals and opens it under. */
const SEALED: readonly SealedColumn[] = [
  // Every keyset, whatever its status: a FROZEN one may be unfrozen, a RETIRED one is evidence.
  {
    kind: 'shares',
    table: 'keysets',
    key: 'keyset_id',
    column: 'share_sealed',
    ad: (r) => shareAd(String(r.keyset_id), Number(r.version)),
  },
  // Every permit key, retired ones included.
  {
    kind: 'permitKeys',
    table: 'permit_keys',
    key: 'key_id',
    column: 'secret_sealed',
    ad: (r) => permitKeyAd(String(r.key_id)),
  },
  {
    kind: 'identity',
    table: 'settings',
    key: 'name',
    column: 'value',
    where: `name = '${IDENTITY_SETTING}'`,
    ad: () => IDENTITY_AD,
  },
];

/** The settings rows this signer writes, all sealed. */
const KNOWN_SETTINGS = [IDENTITY_SETTING];

export interface RekeyResult {
  database: string;
  from: string;
  to: string;
  shares: number;
  permitKeys: number;
  identity: number;
  audit: { seq: number; head: string };
}

/**
 * Re-seals every sealed value of the signer database `file` from `oldKek` to `newKek`, in one transaction,
 * with the `kek.rotated` audit entry. Throws RekeyError (nothing changed) when the signer or anything else
 * has the database open, when a value does not open with the old KEK, or when the database holds sealed data
 * this version does not know.
 */
export function rekeySignerDb(
  file: string,
  oldKek: KeyEncryptionKey,
  newKek: KeyEncryptionKey,
  o: { operator: string; now?: () => number },
): RekeyResult {
  if (oldKek.fingerprint === newKek.fingerprint)
    throw new RekeyError(
      'SAME_KEK',
      `the new KEK is the KEK in use (fingerprint ${oldKek.fingerprint}): make a new one ` +
        `(umask 077; openssl rand -hex 32 > FILE); if you already installed the new KEK as the signer's KEK, ` +
        `put the old one back for the rotation`,
    );
  if (!existsSync(file)) throw new RekeyError('NO_DATABASE', `${file} does not exist: there is nothing to re-seal`);
  let db: Db;
  try {
    db = openDbExclusive(file);
  } catch (e) {
    if (e instanceof DbInUseError) throw new RekeyError('SIGNER_RUNNING', e.message);
    throw e;
  }
  try {
    db.exec('BEGIN EXCLUSIVE');
    try {
      const r = reseal(db, oldKek, newKek, o.operator, o.now ?? Date.now);
      db.exec('COMMIT');
      return { database: file, ...r };
    } catch (e) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw e;
    }
  } finally {
    db.close(); // the last connection: SQLite folds the WAL into the file
  }
}

const rowName = (c: SealedColumn, id: unknown) => `${c.table} ${String(id)}`;

function reseal(
  db: Db,
  oldKek: KeyEncryptionKey,
  newKek: KeyEncryptionKey,
  operator: string,
  now: () => number,
): Omit<RekeyResult, 'database'> {
  refuseUnknownSealedData(db);
  const counts = { shares: 0, permitKeys: 0, identity: 0 };
  const unreadable: string[] = [];
  const written: { c: SealedColumn; id: unknown }[] = [];

  for (const c of SEALED) {
    // Ids first, then one row at a time: shares are kilobytes each, and a statement being iterated
    // cannot share the connection with the updates.
    const ids = db
      .prepare(`SELECT ${c.key} FROM ${c.table}${c.where ? ` WHERE ${c.where}` : ''} ORDER BY ${c.key}`)
      .pluck()
      .all();
    const get = db.prepare(`SELECT * FROM ${c.table} WHERE ${c.key} = ?`);
    const put = db.prepare(`UPDATE ${c.table} SET ${c.column} = ? WHERE ${c.key} = ? AND ${c.column} = ?`);
    for (const id of ids) {
      const row = get.get(id) as Row;
      const sealed = row[c.column] as Buffer;
      const ad = c.ad(row);
      let plain: Buffer;
      try {
        plain = oldKek.open(sealed, ad);
      } catch (e) {
        if (!(e instanceof SealError)) throw e;
        unreadable.push(rowName(c, id));
        continue;
      }
      try {
        // After the first unreadable row nothing more is written (it all rolls back); the rest are only
        // opened, so that the refusal names every bad row at once.
        if (unreadable.length > 0) continue;
        const resealed = newKek.seal(plain, ad);
        const check = newKek.open(resealed, ad);
        const same = check.equals(plain);
        check.fill(0);
        if (!same) throw new RekeyError('VERIFY_FAILED', `${rowName(c, id)}: the re-sealed value does not open back`);
        if (put.run(resealed, id, sealed).changes !== 1)
          throw new RekeyError('VERIFY_FAILED', `${rowName(c, id)}: the row changed during the rotation`);
        written.push({ c, id });
        counts[c.kind]++;
      } finally {
        plain.fill(0);
      }
    }
  }

  if (unreadable.length > 0) {
    const identityToo = unreadable.includes(`settings ${IDENTITY_SETTING}`);
    throw new RekeyError(
      'UNREADABLE_ROWS',
      `the KEK in use (fingerprint ${oldKek.fingerprint}) does not open ${unreadable.length} sealed ` +
        `value${unreadable.length === 1 ? '' : 's'}: ${unreadable.join(', ')}. Nothing was changed: every row ` +
        `is still sealed under that KEK. ` +
        (identityToo
          ? `The signer's identity is among them, so that KEK is probably not the one this data is sealed with: ` +
            `if the data was rotated already, install the new KEK (the audit log's kek.rotated entry names its ` +
            `fingerprint); if you installed the new KEK before rotating, put the old one back for the rotation`
          : `Those rows were altered or damaged (a share that does not open cannot sign: SHARE_CORRUPTED); ` +
            `investigate, and restore them from a backup, before rotating`),
    );
  }

  // Read back what the transaction is about to commit: every written row must open with the new KEK.
  for (const { c, id } of written) {
    const row = db.prepare(`SELECT * FROM ${c.table} WHERE ${c.key} = ?`).get(id) as Row;
    try {
      newKek.open(row[c.column] as Buffer, c.ad(row)).fill(0);
    } catch (e) {
      if (!(e instanceof SealError)) throw e;
      throw new RekeyError('VERIFY_FAILED', `${rowName(c, id)}: the stored re-sealed value does not open`);
    }
  }

  const entry = new AuditLog(db, now).append(operator, 'kek.rotated', 'signer', {
    from: oldKek.fingerprint,
    to: newKek.fingerprint,
    shares: counts.shares,
    permitKeys: counts.permitKeys,
    identity: counts.identity,
  });
  return { from: oldKek.fingerprint, to: newKek.fingerprint, ...counts, audit: { seq: entry.seq, head: entry.hash } };
}

/** Sealed data that SEALED does not cover: a column named for it, or a settings row this version does not write. */
function refuseUnknownSealedData(db: Db): void {
  const known = new Set(SEALED.map((c) => `${c.table}.${c.column}`));
  const tables = db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .pluck()
    .all() as string[];
  const unknown: string[] = [];
  for (const t of tables)
    for (const col of db.pragma(`table_info(${JSON.stringify(t)})`) as { name: string }[])
      if (/seal/i.test(col.name) && !known.has(`${t}.${col.name}`)) unknown.push(`column ${t}.${col.name}`);
  const settings = db.prepare('SELECT name FROM settings ORDER BY name').pluck().all() as string[];
  for (const name of settings) if (!KNOWN_SETTINGS.includes(name)) unknown.push(`settings row ${name}`);
  if (unknown.length > 0)
    throw new RekeyError(
      'UNKNOWN_SEALED_DATA',
      `this version of rotate-kek does not know ${unknown.join(', ')}: it cannot tell whether ${unknown.length === 1 ? 'it holds' : 'they hold'} ` +
        `values sealed under the KEK, so it changes nothing. Use the rotate-kek of the signer version that wrote them`,
    );
}
