// Devices: each desktop's Ed25519 identity key (DESIGN.md "Identities"). Enrolled PENDING by its
// user, APPROVED by an admin, REVOKED for good. Only an APPROVED key may take part in a DKG.

import { randomUUID } from 'node:crypto';
import { type Db } from '../db/db.ts';
import { ApiError } from '../errors.ts';

export type DeviceStatus = 'PENDING' | 'APPROVED' | 'REVOKED';

export interface Device {
  id: string;
  userId: string;
  name: string;
  /** The 32-byte Ed25519 public key. */
  publicKey: Buffer;
  status: DeviceStatus;
  approvedBy: string | null;
  createdAtMs: number;
  updatedAtMs: number;
}

interface Row {
  id: string;
  user_id: string;
  public_key: Buffer;
  name: string;
  status: DeviceStatus;
  approved_by: string | null;
  created_at_ms: number;
  updated_at_ms: number;
}

const toDevice = (r: Row): Device => ({
  id: r.id,
  userId: r.user_id,
  name: r.name,
  publicKey: r.public_key,
  status: r.status,
  approvedBy: r.approved_by,
  createdAtMs: r.created_at_ms,
  updatedAtMs: r.updated_at_ms,
});

// rowid breaks ties between devices enrolled in the same millisecond.
const NEWEST_FIRST = 'ORDER BY created_at_ms DESC, rowid DESC';

export class DeviceRepo {
  constructor(private readonly db: Db) {}

  enroll(userId: string, name: string, publicKey: Buffer, nowMs: number): Device {
    const id = randomUUID();
    try {
      this.db
        .prepare(
          `INSERT INTO devices (id, user_id, public_key, name, status, created_at_ms, updated_at_ms)
           VALUES (?, ?, ?, ?, 'PENDING', ?, ?)`,
        )
        .run(id, userId, publicKey, name, nowMs, nowMs);
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new ApiError('CONFLICT', 'this public key is already enrolled', { reason: 'public_key_enrolled' });
      throw e;
    }
    return this.require(id);
  }

  get(id: string): Device | undefined {
    const r = this.db.prepare('SELECT * FROM devices WHERE id = ?').get(id) as Row | undefined;
    return r && toDevice(r);
  }

  require(id: string): Device {
    const d = this.get(id);
    if (!d) throw new ApiError('NOT_FOUND', 'no such device');
    return d;
  }

  listOf(userId: string): Device[] {
    return (this.db.prepare(`SELECT * FROM devices WHERE user_id = ? ${NEWEST_FIRST}`).all(userId) as Row[]).map(
      toDevice,
    );
  }

  list(): Device[] {
    return (this.db.prepare(`SELECT * FROM devices ${NEWEST_FIRST}`).all() as Row[]).map(toDevice);
  }

  approve(id: string, adminId: string, nowMs: number): Device {
    const r = this.db
      .prepare(
        `UPDATE devices SET status = 'APPROVED', approved_by = ?, updated_at_ms = ? WHERE id = ? AND status = 'PENDING'`,
      )
      .run(adminId, nowMs, id);
    if (r.changes !== 1) this.refuse(id, 'only a PENDING device can be approved');
    return this.require(id);
  }

  revoke(id: string, nowMs: number): Device {
    const r = this.db
      .prepare(`UPDATE devices SET status = 'REVOKED', updated_at_ms = ? WHERE id = ? AND status != 'REVOKED'`)
      .run(nowMs, id);
    if (r.changes !== 1) this.refuse(id, 'this device is already revoked');
    return this.require(id);
  }

  /** The user's newest APPROVED device: the identity their desktop uses in a DKG. */
  approvedDeviceOf(userId: string): Device | undefined {
    const r = this.db
      .prepare(`SELECT * FROM devices WHERE user_id = ? AND status = 'APPROVED' ${NEWEST_FIRST} LIMIT 1`)
      .get(userId) as Row | undefined;
    return r && toDevice(r);
  }

  private refuse(id: string, message: string): never {
    const d = this.require(id);
    throw new ApiError('INVALID_STATE', message, { status: d.status });
  }
}
