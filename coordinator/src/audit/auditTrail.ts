// The coordinator's tamper-evident audit log: the hash chain of @tandem/common/auditLog (same
// table, same hashing, same verification) kept through the Store, so it lives in whichever
// database the coordinator runs on. append() joins the caller's transaction, so an entry commits
// or rolls back with the change it records; alone it is a transaction of its own.

import {
  auditDraft,
  auditHeadHex,
  auditVerifier,
  nextAuditRow,
  toAuditEntry,
  type AuditDetails,
  type AuditEntry,
  type AuditRow,
  type AuditVerdict,
} from '@tandem/common/auditLog';
import { type Store } from '../db/store.ts';

const PAGE = 1000;
const LAST = 'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1';

export class AuditTrail {
  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  append(actor: string, action: string, subject: string, details: AuditDetails = {}): Promise<AuditEntry> {
    const draft = auditDraft(actor, action, subject, details, this.now());
    // The head is read inside the transaction every time: a cached head would outlive a rollback.
    return this.store.transaction(async () => {
      const row = nextAuditRow(await this.store.get<Pick<AuditRow, 'seq' | 'hash'>>(LAST), draft);
      await this.store.run(
        `INSERT INTO audit_log (seq, at_ms, actor, action, subject, details, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        row.seq,
        row.at_ms,
        row.actor,
        row.action,
        row.subject,
        row.details,
        row.prev_hash,
        row.hash,
      );
      return toAuditEntry(row);
    });
  }

  /** The newest entry's hash (64 zero digits for an empty log): logged at start and stop. */
  async head(): Promise<string> {
    return auditHeadHex(await this.store.get<Pick<AuditRow, 'hash'>>(LAST));
  }

  /** Walks the whole chain in seq order, a page at a time. */
  async verify(): Promise<AuditVerdict> {
    const walk = auditVerifier();
    for (let from = 1; ;) {
      const rows = await this.page(from);
      for (const row of rows) {
        const bad = walk.next(row);
        if (bad) return bad;
      }
      if (rows.length < PAGE) return walk.done();
      from = rows[rows.length - 1]!.seq + 1;
    }
  }

  async entries(fromSeq = 1): Promise<AuditEntry[]> {
    return (await this.store.all<AuditRow>('SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq', fromSeq)).map(
      toAuditEntry,
    );
  }

  /** The newest `limit` entries by any of these actors, newest first (a user's own history). */
  async byActors(actors: readonly string[], limit: number): Promise<AuditEntry[]> {
    if (actors.length === 0) return [];
    const marks = actors.map(() => '?').join(', ');
    return (
      await this.store.all<AuditRow>(
        `SELECT * FROM audit_log WHERE actor IN (${marks}) ORDER BY seq DESC LIMIT ?`,
        ...actors,
        limit,
      )
    ).map(toAuditEntry);
  }

  private page(from: number): Promise<AuditRow[]> {
    return this.store.all<AuditRow>('SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?', from, PAGE);
  }
}
