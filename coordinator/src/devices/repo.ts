// Devices: each desktop's Ed25519 identity key (DESIGN.md "Identities"). Enrolled PENDING by its
// user, APPROVED by an admin, REVOKED for good. Only an APPROVED key may take part in a DKG.

import { randomUUID } from 'node:crypto';
import { isConstraint, type Store } from '../db/store.ts';
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
  constructor(private readonly store: Store) {}

  async enroll(userId: string, name: string, publicKey: Buffer, nowMs: number): Promise<Device> {
    const id = randomUUID();
    try {
      await this.store.run(
        `INSERT INTO devices (id, user_id, public_key, name, status, created_at_ms, updated_at_ms)
         VALUES (?, ?, ?, ?, 'PENDING', ?, ?)`,
        id,
        userId,
        publicKey,
        name,
        nowMs,
        nowMs,
      );
    } catch (e) {
      if (isConstraint(e, 'unique'))
        throw new ApiError('CONFLICT', 'this public key is already enrolled', { reason: 'public_key_enrolled' });
      throw e;
    }
    return this.require(id);
  }

  async get(id: string): Promise<Device | undefined> {
    const r = await this.store.get<Row>('SELECT * FROM devices WHERE id = ?', id);
    return r && toDevice(r);
  }

  async require(id: string): Promise<Device> {
    const d = await this.get(id);
    if (!d) throw new ApiError('NOT_FOUND', 'no such device');
    return d;
  }

  async listOf(userId: string): Promise<Device[]> {
    return (await this.store.all<Row>(`SELECT * FROM devices WHERE user_id = ? ${NEWEST_FIRST}`, userId)).map(toDevice);
  }

  async list(): Promise<Device[]> {
    return (await this.store.all<Row>(`SELECT * FROM devices ${NEWEST_FIRST}`)).map(toDevice);
  }

  async approve(id: string, adminId: string, nowMs: number): Promise<Device> {
    const changes = await this.store.run(
      `UPDATE devices SET status = 'APPROVED', approved_by = ?, updated_at_ms = ? WHERE id = ? AND status = 'PENDING'`,
      adminId,
      nowMs,
      id,
    );
    if (changes !== 1) await this.refuse(id, 'only a PENDING device can be approved');
    return this.require(id);
  }

  async revoke(id: string, nowMs: number): Promise<Device> {
    const changes = await this.store.run(
      `UPDATE devices SET status = 'REVOKED', updated_at_ms = ? WHERE id = ? AND status != 'REVOKED'`,
      nowMs,
      id,
    );
    if (changes !== 1) await this.refuse(id, 'this device is already revoked');
    return this.require(id);
  }

  /** The user's newest APPROVED device: the identity their desktop uses in a DKG. */
  async approvedDeviceOf(userId: string): Promise<Device | undefined> {
    const r = await this.store.get<Row>(
      `SELECT * FROM devices WHERE user_id = ? AND status = 'APPROVED' ${NEWEST_FIRST} LIMIT 1`,
      userId,
    );
    return r && toDevice(r);
  }

  private async refuse(id: string, message: string): Promise<never> {
    const d = await this.require(id);
    throw new ApiError('INVALID_STATE', message, { status: d.status });
  }
}
