// The signer's tamper-evident audit log: a hash chain over the audit_log table. Each entry's hash covers its own
// fields and the previous entry's hash, so the newest hash (the head) vouches for the whole history before it.
//
// What verify() detects on its own: editing any field of any entry (hash mismatch at that seq), deleting an entry
// in the middle (seq gap), reordering or swapping entries (seq is hashed, and each prev_hash must link to the entry
// before it), and inserting an entry (seq gap or collision, or a broken link to its successor).
// What it cannot detect alone: truncating the tail (the shorter chain is still consistent) and rewriting the whole
// chain from some entry on (the hash is unkeyed, so whoever can write the database can recompute it). Both change
// the head, which is why the daemon ships head() to its external JSON log on every append: comparing a shipped
// head (and its seq) with the database exposes them.
//
// Hash = SHA-256 over length-prefixed fields (4-byte big-endian length, then the bytes):
//   'tandem-audit-v1' | seq (u64 BE) | atMs (u64 BE) | actor | action | subject | canonical JSON of details |
//   prevHash (32 bytes). Strings are UTF-8. The first entry's prevHash is 32 zero bytes; seq starts at 1.
// The prefixes make the encoding injective, so no two different entries can be spelled as the same bytes.

import { createHash } from 'node:crypto';

import type Database from 'better-sqlite3';

/**
 * The table this log lives in; each service includes it in its first migration. hash =
 * SHA-256 over (label, seq, at_ms, actor, action, subject, details, prev_hash), see entryHash.
 */
export const AUDIT_LOG_DDL = `
  CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
  ) STRICT;
`;

export type AuditDetails = Readonly<Record<string, string | number | boolean | null>>;

export interface AuditEntry {
  seq: number;
  atMs: number;
  actor: string;
  action: string;
  subject: string;
  details: AuditDetails;
  prevHash: string; // hex
  hash: string; // hex
}

export type AuditVerdict = { ok: true; entries: number; head: string } | { ok: false; seq: number; reason: string };

const LABEL = Buffer.from('tandem-audit-v1', 'ascii');
const GENESIS = Buffer.alloc(32);
const MAX_STRING = 4096;

/** An audit_log row as stored (the same columns in every database that holds the log). */
export interface AuditRow {
  seq: number;
  at_ms: number;
  actor: string;
  action: string;
  subject: string;
  details: string;
  prev_hash: Buffer;
  hash: Buffer;
}

export class AuditLog {
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly lastStmt: Database.Statement<[], Pick<AuditRow, 'seq' | 'hash'>>;
  private readonly insertStmt: Database.Statement<AuditRow>;
  private readonly fromStmt: Database.Statement<[number], AuditRow>;

  constructor(db: Database.Database, now: () => number) {
    this.db = db;
    this.now = now;
    this.lastStmt = db.prepare<[], Pick<AuditRow, 'seq' | 'hash'>>(
      'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1',
    );
    this.insertStmt = db.prepare<AuditRow>(
      `INSERT INTO audit_log (seq, at_ms, actor, action, subject, details, prev_hash, hash)
       VALUES (@seq, @at_ms, @actor, @action, @subject, @details, @prev_hash, @hash)`,
    );
    this.fromStmt = db.prepare<[number], AuditRow>('SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq');
  }

  // Synchronous so it can sit inside a caller's db.transaction: the entry then commits or rolls back with the
  // change it records. Alone, it runs in its own IMMEDIATE transaction, so reading the head and writing the next
  // entry cannot interleave with another connection's append. The head is read from the table every time rather
  // than cached, because a caller's rollback would leave a cached head pointing at an entry that never existed.
  append(actor: string, action: string, subject: string, details: AuditDetails = {}): AuditEntry {
    const draft = auditDraft(actor, action, subject, details, this.now());
    const write = this.db.transaction((): AuditRow => {
      const row = nextAuditRow(this.lastStmt.get(), draft);
      this.insertStmt.run(row);
      return row;
    });
    return toAuditEntry(write.immediate());
  }

  // The hash of the newest entry (64 zero hex digits for an empty log): what the daemon ships out with each append.
  head(): string {
    return auditHeadHex(this.lastStmt.get());
  }

  // Walks every row in seq order and stops at the first one that does not hold. A missing entry is reported at
  // the seq that should have been there.
  verify(): AuditVerdict {
    return verifyAuditRows(this.fromStmt.iterate(1));
  }

  entries(fromSeq = 1): AuditEntry[] {
    return this.fromStmt.all(fromSeq).map(toAuditEntry);
  }

  /** The newest `limit` entries by any of these actors, newest first (a user's own history). */
  byActors(actors: readonly string[], limit: number): AuditEntry[] {
    if (actors.length === 0) return [];
    const marks = actors.map(() => '?').join(', ');
    return this.db
      .prepare<unknown[], AuditRow>(`SELECT * FROM audit_log WHERE actor IN (${marks}) ORDER BY seq DESC LIMIT ?`)
      .all(...actors, limit)
      .map(toAuditEntry);
  }
}

/** An entry checked and stamped, waiting for the head it will follow. */
export interface AuditDraft {
  atMs: number;
  actor: string;
  action: string;
  subject: string;
  detailsJson: string;
}

/** Checks an entry's fields before anything is written (a bad field is a programming error, never stored). */
export function auditDraft(
  actor: string,
  action: string,
  subject: string,
  details: AuditDetails,
  atMs: number,
): AuditDraft {
  checkName('actor', actor, false);
  checkName('action', action, false);
  checkName('subject', subject, true);
  const detailsJson = canonicalDetails(details);
  if (!Number.isSafeInteger(atMs) || atMs < 0) throw new Error(`audit clock gave ${atMs}, not a time in ms`);
  return { atMs, actor, action, subject, detailsJson };
}

/** The row that follows `last` (undefined for an empty log). The caller reads `last` and inserts in one transaction. */
export function nextAuditRow(last: Pick<AuditRow, 'seq' | 'hash'> | undefined, d: AuditDraft): AuditRow {
  const seq = (last?.seq ?? 0) + 1;
  const prevHash = last?.hash ?? GENESIS;
  return {
    seq,
    at_ms: d.atMs,
    actor: d.actor,
    action: d.action,
    subject: d.subject,
    details: d.detailsJson,
    prev_hash: prevHash,
    hash: entryHash(seq, d.atMs, d.actor, d.action, d.subject, d.detailsJson, prevHash),
  };
}

/** The head as hex: the newest entry's hash, or 64 zero digits for an empty log. */
export function auditHeadHex(last: Pick<AuditRow, 'hash'> | undefined): string {
  return (last?.hash ?? GENESIS).toString('hex');
}

/**
 * Walks rows in seq order and stops at the first one that does not hold. A missing entry is
 * reported at the seq that should have been there.
 */
export function verifyAuditRows(rows: Iterable<AuditRow>): AuditVerdict {
  const walk = auditVerifier();
  for (const row of rows) {
    const bad = walk.next(row);
    if (bad) return bad;
  }
  return walk.done();
}

/** verifyAuditRows one row at a time, for callers that read the log in pages. */
export function auditVerifier(): {
  next(row: AuditRow): Extract<AuditVerdict, { ok: false }> | undefined;
  done(): AuditVerdict;
} {
  let expectedSeq = 1;
  let prevHash: Buffer = GENESIS;
  return {
    next(row) {
      if (row.seq !== expectedSeq)
        return { ok: false, seq: expectedSeq, reason: `entry ${expectedSeq} is missing (found ${row.seq} next)` };
      if (!prevHash.equals(row.prev_hash))
        return { ok: false, seq: row.seq, reason: 'prev_hash does not match the hash of the entry before it' };
      // A hand-edited at_ms can be negative or beyond 2^53, which the encoding refuses: that is tampering too.
      if (!Number.isSafeInteger(row.at_ms) || row.at_ms < 0)
        return { ok: false, seq: row.seq, reason: `at_ms ${row.at_ms} is not a time in ms` };
      const hash = entryHash(row.seq, row.at_ms, row.actor, row.action, row.subject, row.details, row.prev_hash);
      if (!hash.equals(row.hash)) return { ok: false, seq: row.seq, reason: 'hash does not match the entry contents' };
      prevHash = row.hash;
      expectedSeq++;
      return undefined;
    },
    done: () => ({ ok: true, entries: expectedSeq - 1, head: prevHash.toString('hex') }),
  };
}

function entryHash(
  seq: number,
  atMs: number,
  actor: string,
  action: string,
  subject: string,
  detailsJson: string,
  prevHash: Buffer,
): Buffer {
  const h = createHash('sha256');
  const field = (bytes: Buffer): void => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    h.update(length).update(bytes);
  };
  const u64 = (n: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
  };
  field(LABEL);
  field(u64(seq));
  field(u64(atMs));
  field(Buffer.from(actor, 'utf8'));
  field(Buffer.from(action, 'utf8'));
  field(Buffer.from(subject, 'utf8'));
  field(Buffer.from(detailsJson, 'utf8'));
  field(prevHash);
  return h.digest();
}

// Keys sorted (by UTF-16 code unit, as Array.prototype.sort and RFC 8785 do), no whitespace. Values are flat
// primitives, so JSON.stringify of each one is already canonical; the checks keep it that way.
function canonicalDetails(details: AuditDetails): string {
  if (typeof details !== 'object' || details === null || Array.isArray(details))
    throw new Error('audit details must be an object of strings, numbers, booleans and nulls');
  const parts: string[] = [];
  for (const key of Object.keys(details).sort()) {
    checkString(`audit details key ${JSON.stringify(key.slice(0, 40))}`, key);
    const value: unknown = details[key];
    const where = `audit details value ${JSON.stringify(key)}`;
    if (typeof value === 'string') checkString(where, value);
    else if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new Error(`${where} is ${value}, which JSON cannot hold`);
    } else if (typeof value !== 'boolean' && value !== null)
      throw new Error(`${where} is ${describe(value)}: only strings, numbers, booleans and null are allowed`);
    parts.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
  }
  return `{${parts.join(',')}}`;
}

function checkName(what: string, value: string, mayBeEmpty: boolean): void {
  if (typeof value !== 'string') throw new Error(`audit ${what} must be a string, not ${describe(value)}`);
  if (!mayBeEmpty && value.length === 0) throw new Error(`audit ${what} must not be empty`);
  checkString(`audit ${what}`, value);
}

// Lone surrogates are refused because SQLite and the hash would both store them as U+FFFD: the entry read back
// would differ from the one the caller wrote.
function checkString(where: string, value: string): void {
  if (value.length > MAX_STRING) throw new Error(`${where} is ${value.length} characters, over ${MAX_STRING}`);
  if (/[\uD800-\uDFFF]/u.test(value)) throw new Error(`${where} contains an unpaired UTF-16 surrogate`);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null || value === undefined) return String(value);
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export function toAuditEntry(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    atMs: row.at_ms,
    actor: row.actor,
    action: row.action,
    subject: row.subject,
    details: Object.freeze(JSON.parse(row.details) as Record<string, string | number | boolean | null>),
    prevHash: row.prev_hash.toString('hex'),
    hash: row.hash.toString('hex'),
  };
}
