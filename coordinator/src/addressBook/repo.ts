// The address book: named payees that a wallet with a whitelist-only policy may pay. An initiator
// or admin proposes an entry; it is whitelisted only once enough approvers other than the
// proposer have approved it, and any approver may reject it while it is pending. The only code
// that reads or writes address_book and address_book_approvals.
//
// Concurrency: each change runs in one store transaction, whose reads and writes all happen in it
// (on SQLite a BEGIN IMMEDIATE one, run alone, so another approval waits for it instead of
// reading a stale count). The (entry_id, user_id) primary key makes a double approval impossible
// even if raced, and the PENDING → APPROVED update is conditional, so it happens exactly once.
//
// Ties in time are broken by insertion order (rowid: see db/store.ts).

import { randomUUID } from 'node:crypto';
import { isConstraint, type Store } from '../db/store.ts';
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

export class AddressBook {
  constructor(private readonly store: Store) {}

  /** A new PENDING entry. One live (pending or approved) entry per address: a second is a CONFLICT. */
  async propose(name: string, address: string, by: string, nowMs: number): Promise<AddressBookEntry> {
    const checksummed = parseAddress(address);
    const id = randomUUID();
    return this.store.transaction(async () => {
      const live = await this.store.get<Pick<Row, 'name' | 'status'>>(
        "SELECT name, status FROM address_book WHERE address = ? AND status != 'REJECTED'",
        checksummed,
      );
      if (live) throw conflict(live);
      try {
        await this.store.run(
          `INSERT INTO address_book (id, name, address, status, created_by, created_at_ms, updated_at_ms)
           VALUES (?, ?, ?, 'PENDING', ?, ?, ?)`,
          id,
          name,
          checksummed,
          by,
          nowMs,
          nowMs,
        );
      } catch (e) {
        // The partial unique index address_book_live: the same refusal, from another connection's race.
        if (isConstraint(e, 'unique')) throw conflict(undefined);
        throw e;
      }
      return this.require(id);
    });
  }

  /**
   * Records userId's approval; the approval that reaches `quorum` makes the entry APPROVED in the
   * same transaction. The proposer may not approve (SELF_APPROVAL); each approver counts once
   * (ALREADY_APPROVED); only a PENDING entry takes approvals (INVALID_STATE), so approvals that
   * arrive after the quorum are refused rather than counted.
   */
  async approve(entryId: string, userId: string, nowMs: number, quorum: number): Promise<ApprovalOutcome> {
    if (!Number.isInteger(quorum) || quorum < 1) throw new Error(`address-book quorum ${quorum} is not a count`);
    return this.store.transaction(async (): Promise<ApprovalOutcome> => {
      const e = await this.requirePending(entryId);
      if (e.createdBy === userId)
        throw new ApiError('SELF_APPROVAL', 'another approver must approve the entry you proposed');
      if (e.approvals.some((a) => a.userId === userId)) throw alreadyApproved();
      try {
        await this.store.run(
          'INSERT INTO address_book_approvals (entry_id, user_id, at_ms) VALUES (?, ?, ?)',
          entryId,
          userId,
          nowMs,
        );
      } catch (err) {
        if (isConstraint(err, 'unique')) throw alreadyApproved();
        throw err;
      }
      const count = e.approvals.length + 1;
      const whitelisted =
        count >= quorum &&
        (await this.store.run(
          "UPDATE address_book SET status = 'APPROVED', updated_at_ms = ? WHERE id = ? AND status = 'PENDING'",
          nowMs,
          entryId,
        )) === 1;
      if (!whitelisted) await this.store.run('UPDATE address_book SET updated_at_ms = ? WHERE id = ?', nowMs, entryId);
      return { entry: await this.require(entryId), whitelisted };
    });
  }

  /**
   * Any approver may veto a pending entry; its address is then free to be proposed again. Who
   * rejected is not a column: the caller audits it in the same transaction.
   */
  async reject(entryId: string, _userId: string, nowMs: number): Promise<AddressBookEntry> {
    return this.store.transaction(async () => {
      await this.requirePending(entryId);
      await this.store.run(
        "UPDATE address_book SET status = 'REJECTED', updated_at_ms = ? WHERE id = ? AND status = 'PENDING'",
        nowMs,
        entryId,
      );
      return this.require(entryId);
    });
  }

  // get and list read an entry and its approvals in one transaction, so they never show an
  // approval that its entry's status does not reflect yet (or the other way round).
  get(id: string): Promise<AddressBookEntry | undefined> {
    return this.store.transaction(async () => {
      const r = await this.store.get<Row>('SELECT * FROM address_book WHERE id = ?', id);
      if (!r) return undefined;
      const approvals = await this.store.all<ApprovalRow>(
        'SELECT * FROM address_book_approvals WHERE entry_id = ? ORDER BY at_ms, rowid',
        id,
      );
      return toEntry(r, approvals);
    });
  }

  async require(id: string): Promise<AddressBookEntry> {
    const e = await this.get(id);
    if (!e) throw new ApiError('NOT_FOUND', 'no such address-book entry');
    return e;
  }

  /** Every entry, rejected ones included (they are the record of what was refused), oldest first. */
  list(): Promise<AddressBookEntry[]> {
    return this.store.transaction(async () => {
      const rows = await this.store.all<Row>('SELECT * FROM address_book ORDER BY created_at_ms, rowid');
      const byEntry = new Map<string, ApprovalRow[]>();
      for (const a of await this.store.all<ApprovalRow>('SELECT * FROM address_book_approvals ORDER BY at_ms, rowid')) {
        let list = byEntry.get(a.entry_id);
        if (!list) byEntry.set(a.entry_id, (list = []));
        list.push(a);
      }
      return rows.map((r) => toEntry(r, byEntry.get(r.id) ?? []));
    });
  }

  /** The address has an APPROVED entry; any spelling (case) of it matches. */
  async isWhitelisted(address: string): Promise<boolean> {
    return (await this.approvedNamed(address)) !== undefined;
  }

  /** The name of the address's APPROVED entry. A pending entry's name is not vouched for yet, so it is not given. */
  nameOf(address: string): Promise<string | undefined> {
    return this.approvedNamed(address);
  }

  private async approvedNamed(address: string): Promise<string | undefined> {
    const r = await this.store.get<{ name: string }>(
      "SELECT name FROM address_book WHERE status = 'APPROVED' AND lower(address) = lower(?)",
      address,
    );
    return r?.name;
  }

  private async requirePending(id: string): Promise<AddressBookEntry> {
    const e = await this.require(id);
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
