// Wallets: created by an admin for a signer user, PENDING_DKG until both the signer (KG-5) and
// the user's desktop (share stored) have confirmed; only then ACTIVE with a deposit address.

import { randomBytes, randomUUID } from 'node:crypto';
import { type Store } from '../db/store.ts';
import { ApiError } from '../errors.ts';

export type WalletStatus = 'PENDING_DKG' | 'ACTIVE' | 'FAILED';

export interface Wallet {
  id: string;
  name: string;
  signerUserId: string;
  status: WalletStatus;
  keysetId: string;
  walletIdBytes: Buffer;
  deviceId: string | null;
  publicKey: Buffer | null;
  address: string | null;
  signerConfirmedAtMs: number | null;
  desktopConfirmedAtMs: number | null;
  createdBy: string;
  createdAtMs: number;
  updatedAtMs: number;
}

interface Row {
  id: string;
  name: string;
  signer_user_id: string;
  status: WalletStatus;
  keyset_id: string;
  wallet_id_bytes: Buffer;
  device_id: string | null;
  public_key: Buffer | null;
  address: string | null;
  signer_confirmed_at_ms: number | null;
  desktop_confirmed_at_ms: number | null;
  created_by: string;
  created_at_ms: number;
  updated_at_ms: number;
}

const toWallet = (r: Row): Wallet => ({
  id: r.id,
  name: r.name,
  signerUserId: r.signer_user_id,
  status: r.status,
  keysetId: r.keyset_id,
  walletIdBytes: r.wallet_id_bytes,
  deviceId: r.device_id,
  publicKey: r.public_key,
  address: r.address,
  signerConfirmedAtMs: r.signer_confirmed_at_ms,
  desktopConfirmedAtMs: r.desktop_confirmed_at_ms,
  createdBy: r.created_by,
  createdAtMs: r.created_at_ms,
  updatedAtMs: r.updated_at_ms,
});

export class WalletRepo {
  constructor(private readonly store: Store) {}

  async create(name: string, signerUserId: string, createdBy: string, nowMs: number): Promise<Wallet> {
    const id = randomUUID();
    // The signer's keyset id: derived from nothing secret, unique, within its [A-Za-z0-9_-]{1,64}.
    const keysetId = `w-${id}`;
    await this.store.run(
      `INSERT INTO wallets (id, name, signer_user_id, status, keyset_id, wallet_id_bytes, created_by, created_at_ms, updated_at_ms)
       VALUES (?, ?, ?, 'PENDING_DKG', ?, ?, ?, ?, ?)`,
      id,
      name,
      signerUserId,
      keysetId,
      randomBytes(32),
      createdBy,
      nowMs,
      nowMs,
    );
    return this.require(id);
  }

  async get(id: string): Promise<Wallet | undefined> {
    const r = await this.store.get<Row>('SELECT * FROM wallets WHERE id = ?', id);
    return r && toWallet(r);
  }

  async require(id: string): Promise<Wallet> {
    const w = await this.get(id);
    if (!w) throw new ApiError('WALLET_NOT_FOUND', 'no such wallet');
    return w;
  }

  async list(): Promise<Wallet[]> {
    return (await this.store.all<Row>('SELECT * FROM wallets ORDER BY created_at_ms')).map(toWallet);
  }

  activeAddresses(): Promise<{ id: string; address: string }[]> {
    return this.store.all<{ id: string; address: string }>("SELECT id, address FROM wallets WHERE status = 'ACTIVE'");
  }

  /** The signer finished KG-5 for this wallet's keyset. */
  async recordSignerKey(
    id: string,
    deviceId: string,
    publicKey: Uint8Array,
    address: string,
    nowMs: number,
  ): Promise<Wallet> {
    const changes = await this.store.run(
      `UPDATE wallets SET device_id = ?, public_key = ?, address = ?, signer_confirmed_at_ms = ?, updated_at_ms = ?
       WHERE id = ? AND status = 'PENDING_DKG' AND signer_confirmed_at_ms IS NULL`,
      deviceId,
      Buffer.from(publicKey),
      address,
      nowMs,
      nowMs,
      id,
    );
    if (changes !== 1) throw new ApiError('INVALID_STATE', 'this wallet is not waiting for its key');
    return this.require(id);
  }

  /** The desktop stored its share; with the signer's confirmation the wallet becomes ACTIVE. */
  async confirmDesktop(id: string, nowMs: number): Promise<Wallet> {
    const changes = await this.store.run(
      `UPDATE wallets SET desktop_confirmed_at_ms = ?, status = 'ACTIVE', updated_at_ms = ?
       WHERE id = ? AND status = 'PENDING_DKG' AND signer_confirmed_at_ms IS NOT NULL`,
      nowMs,
      nowMs,
      id,
    );
    if (changes !== 1) throw new ApiError('INVALID_STATE', 'this wallet has no completed key generation to confirm');
    return this.require(id);
  }
}
