// The address book: named payees that a wallet with a whitelist-only policy may pay. An initiator
// or admin proposes an entry; it is whitelisted only once enough approvers other than the
// proposer have approved it, and any approver may reject it while it is pending. The only code
// that reads or writes address_book and address_book_approvals.
//
// Concurrency: each change runs in one IMMEDIATE transaction (better-sqlite3 is synchronous, so
// nothing interleaves inside it, and another connection waits for the write lock instead of
// reading a stale count). The (entry_id, user_id) primary key makes a double approval impossible
// even if raced, and the PENDING → APPROVED update is conditional, so it happens exactly once.

import { randomUUID } from 'node:crypto';
import { type Db } from '../db/db.ts';
import { ApiError } from '../errors.ts';
import { parseAddress } from './address.ts';

export type AddressBookStatus = 'PENDING' | 'APPROVED' | 'REJECTED';

export interface AddressBookApproval {
  userId: string;
  atMs: number;
}

export interface AddressBookEntry {
  id: string;
  name: string;
  /** EIP-55. */
  address: string;
  status: AddressBookStatus;
  createdBy: string;
  createdAtMs: number;
  updatedAtMs: number;
  /** Oldest first. */
  approvals: AddressBookApproval[];
}

export interface ApprovalOutcome {
  entry: AddressBookEntry;
  /** This approval reached the quorum and made the entry APPROVED. */
  whitelisted: boolean;
}

interface Row {
  id: string;
  name: string;
  address: string;
  status: AddressBookStatus;
  created_by: string;
  created_at_ms: number;
  updated_at_ms: number;
}

interface ApprovalRow {
  entry_id: string;
  user_id: string;
  at_ms: number;
}

const toEntry = (r: Row, approvals: ApprovalRow[]): AddressBookEntry => ({
  id: r.id,
  name: r.name,
  address: r.address,
  status: r.status,
  createdBy: r.created_by,
  createdAtMs: r.created_at_ms,
  updatedAtMs: r.updated_at_ms,
  approvals: approvals.map((a) => ({ userId: a.user_id, atMs: a.at_ms })),
});

const sqliteCode = (e: unknown): string | undefined => (e as { code?: string }).code;

export class AddressBook {
  constructor(private readonly db: Db) {}

  /** A new PENDING entry. One live (pending or approved) entry per address: a second is a CONFLICT. */
  propose(name: string, address: string, by: string, nowMs: number): AddressBookEntry {
    const checksummed = parseAddress(address);
    const id = randomUUID();
    return this.db
      .transaction(() => {
        const live = this.db
          .prepare("SELECT name, status FROM address_book WHERE address = ? AND status != 'REJECTED'")
          .get(checksummed) as Pick<Row, 'name' | 'status'> | undefined;
        if (live) throw conflict(live);
        try {
          this.db
            .prepare(
              `INSERT INTO address_book (id, name, address, status, created_by, created_at_ms, updated_at_ms)
               VALUES (?, ?, ?, 'PENDING', ?, ?, ?)`,
            )
            .run(id, name, checksummed, by, nowMs, nowMs);
        } catch (e) {
          // The partial unique index address_book_live: the same refusal, from another connection's race.
          if (sqliteCode(e) === 'SQLITE_CONSTRAINT_UNIQUE') throw conflict(undefined);
          throw e;
        }
        return this.require(id);
      })
      .immediate();
  }

  /**
   * Records userId's approval; the approval that reaches `quorum` makes the entry APPROVED in the
   * same transaction. The proposer may not approve (SELF_APPROVAL); each approver counts once
   * (ALREADY_APPROVED); only a PENDING entry takes approvals (INVALID_STATE), so approvals that
   * arrive after the quorum are refused rather than counted.
   */
  approve(entryId: string, userId: string, nowMs: number, quorum: number): ApprovalOutcome {
    if (!Number.isInteger(quorum) || quorum < 1) throw new Error(`address-book quorum ${quorum} is not a count`);
    return this.db
      .transaction((): ApprovalOutcome => {
        const e = this.requirePending(entryId);
        if (e.createdBy === userId)
          throw new ApiError('SELF_APPROVAL', 'another approver must approve the entry you proposed');
        if (e.approvals.some((a) => a.userId === userId)) throw alreadyApproved();
        try {
          this.db
            .prepare('INSERT INTO address_book_approvals (entry_id, user_id, at_ms) VALUES (?, ?, ?)')
            .run(entryId, userId, nowMs);
        } catch (err) {
          if (sqliteCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw alreadyApproved();
          throw err;
        }
        const count = e.approvals.length + 1;
        const whitelisted =
          count >= quorum &&
          this.db
            .prepare(
              "UPDATE address_book SET status = 'APPROVED', updated_at_ms = ? WHERE id = ? AND status = 'PENDING'",
            )
            .run(nowMs, entryId).changes === 1;
        if (!whitelisted) this.db.prepare('UPDATE address_book SET updated_at_ms = ? WHERE id = ?').run(nowMs, entryId);
        return { entry: this.require(entryId), whitelisted };
      })
      .immediate();
  }

  /**
   * Any approver may veto a pending entry; its address is then free to be proposed again. Who
   * rejected is not a column: the caller audits it in the same transaction.
   */
  reject(entryId: string, _userId: string, nowMs: number): AddressBookEntry {
    return this.db
      .transaction(() => {
        this.requirePending(entryId);
        this.db
          .prepare("UPDATE address_book SET status = 'REJECTED', updated_at_ms = ? WHERE id = ? AND status = 'PENDING'")
          .run(nowMs, entryId);
        return this.require(entryId);
      })
      .immediate();
  }

  get(id: string): AddressBookEntry | undefined {
    const r = this.db.prepare('SELECT * FROM address_book WHERE id = ?').get(id) as Row | undefined;
    if (!r) return undefined;
    const approvals = this.db
      .prepare('SELECT * FROM address_book_approvals WHERE entry_id = ? ORDER BY at_ms, rowid')
      .all(id) as ApprovalRow[];
    return toEntry(r, approvals);
  }

  require(id: string): AddressBookEntry {
    const e = this.get(id);
    if (!e) throw new ApiError('NOT_FOUND', 'no such address-book entry');
    return e;
  }

  /** Every entry, rejected ones included (they are the record of what was refused), oldest first. */
  list(): AddressBookEntry[] {
    const rows = this.db.prepare('SELECT * FROM address_book ORDER BY created_at_ms, rowid').all() as Row[];
    const byEntry = new Map<string, ApprovalRow[]>();
    for (const a of this.db
      .prepare('SELECT * FROM address_book_approvals ORDER BY at_ms, rowid')
      .all() as ApprovalRow[]) {
      let list = byEntry.get(a.entry_id);
      if (!list) byEntry.set(a.entry_id, (list = []));
      list.push(a);
    }
    return rows.map((r) => toEntry(r, byEntry.get(r.id) ?? []));
  }

  /** The address has an APPROVED entry; any spelling (case) of it matches. */
  isWhitelisted(address: string): boolean {
    return this.approvedNamed(address) !== undefined;
  }

  /** The name of the address's APPROVED entry. A pending entry's name is not vouched for yet, so it is not given. */
  nameOf(address: string): string | undefined {
    return this.approvedNamed(address);
  }

  private approvedNamed(address: string): string | undefined {
    const r = this.db
      .prepare("SELECT name FROM address_book WHERE status = 'APPROVED' AND lower(address) = lower(?)")
      .get(address) as { name: string } | undefined;
    return r?.name;
  }

  private requirePending(id: string): AddressBookEntry {
    const e = this.require(id);
    if (e.status !== 'PENDING')
      throw new ApiError('INVALID_STATE', `this entry is already ${e.status.toLowerCase()}`, { status: e.status });
    return e;
  }
}

function conflict(live: Pick<Row, 'name' | 'status'> | undefined): ApiError {
  return new ApiError(
    'CONFLICT',
    live
      ? `this address is already in the address book as "${live.name}" (${live.status.toLowerCase()})`
      : 'this address is already in the address book',
    { reason: 'address_in_book' },
  );
}

const alreadyApproved = () => new ApiError('ALREADY_APPROVED', 'you have already approved this entry');
