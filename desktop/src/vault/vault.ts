// The user's key shares on this workstation (DESIGN.md "The user share on disk"; issue 5 "The user share on this
// machine"). One Vault per app profile:
//
//   <dir>/                      mode 0700
//     shares/<walletId>.json    one wallet's P2 share: the EncryptedShare JSON (password layer, encryptedShare.ts)
//                               sealed again with the profile's device key from the OS keychain (deviceWrap.ts)
//     device-setup.json         the device's one-time ring-Pedersen setup (PROTOCOL.md §4.2), stored the same way
//     device-identity.json      the device's Ed25519 identity seed (its envelopes' signing key), stored the same way
//     attempts/<key>.json       wrong-password counters (passwordAttempts.ts)
//
// Every file is mode 0600 and written atomically; a share is never overwritten (SHARE_EXISTS). Nothing is ever deleted
// automatically: a file that fails a check stays where it is, untouched, for support to look at, and the user is told
// to restore from the backup file. Removing a wallet's share is a deliberate act outside this class.
//
// Secrets (the password, the device key, decrypted shares) never appear in errors or logs, and this class logs
// nothing. Buffers it owns are wiped with fill(0) after use; passwords arrive as strings and strings cannot be wiped
// (immutable, and the engine may have copied them), nor can the BigInts a parsed share turns into. The Uint8Array that
// openShare and openSetup return belongs to the caller, who should wipe it when the signing session ends.

import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { VaultError, corrupted } from './errors.ts';
import { UnusableFileError, ensurePrivateDir, readSmallFile, writeNewFileAtomic } from './atomicFile.ts';
import { assertProfileId, getDeviceKey, getOrCreateDeviceKey } from './deviceKey.ts';
import { MAX_WRAPPED_FILE_BYTES, unwrapFromDevice, wrapForDevice } from './deviceWrap.ts';
import {
  type EncryptedShare,
  type ShareIds,
  DEFAULT_ITERATIONS,
  assertIterations,
  assertNewPassword,
  decryptEncryptedShare,
  parseEncryptedShare,
  sealShare,
} from './encryptedShare.ts';
import { PasswordAttempts } from './passwordAttempts.ts';

export interface VaultOptions {
  /** ms since the epoch: createdAt and the wrong-password waits */
  now?: () => number;
  /** PBKDF2 iterations for new files: 600,000 (the default) to 10,000,000 */
  iterations?: number;
  /** how the wrong-password wait is spent (tests record it instead of waiting) */
  sleep?: (ms: number) => Promise<void>;
}

/** Wallet ids become file names: letters, digits, '-' and '_' only (the coordinator's UUIDs fit). */
const WALLET_ID = /^[A-Za-z0-9_-]{1,64}$/;
const SHARE_FILE = /^([A-Za-z0-9_-]{1,64})\.json$/;
/** The setup's ids contain ':', which no wallet id can, so a share file can never pass for the setup or back. */
const SETUP_IDS: ShareIds = { walletId: 'device:setup', keysetId: 'ring-pedersen' };
const IDENTITY_IDS: ShareIds = { walletId: 'device:identity', keysetId: 'ed25519' };

/** Where one secret lives and what it is bound to. */
interface Slot {
  file: string;
  /** the device layer's associated data */
  label: string;
  /** the password layer's associated data */
  ids: ShareIds;
  /** its wrong-password counter */
  attemptsKey: string;
}

const KEY_MISSING =
  "This computer's keychain does not hold the key that protects this profile's wallets: the keychain may be " +
  'locked, or this profile was copied from another computer. Unlock the keychain and try again; otherwise restore ' +
  'your wallets from their backup files. Do not delete anything.';

function assertWalletId(walletId: string): void {
  if (typeof walletId !== 'string' || !WALLET_ID.test(walletId)) {
    throw new TypeError(`walletId must match ${WALLET_ID.source}`);
  }
}

const sleepFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const exists = (file: string): Promise<boolean> =>
  lstat(file).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return false;
      throw e;
    },
  );

export class Vault {
  readonly dir: string;
  readonly profileId: string;
  private readonly sharesDir: string;
  private readonly setupSlot: Slot;
  private readonly identitySlot: Slot;
  private readonly attempts: PasswordAttempts;
  private readonly now: () => number;
  private readonly iterations: number;

  constructor(dir: string, profileId: string, opts: VaultOptions = {}) {
    assertProfileId(profileId);
    this.dir = path.resolve(dir);
    this.profileId = profileId;
    this.sharesDir = path.join(this.dir, 'shares');
    this.now = opts.now ?? Date.now;
    this.iterations = opts.iterations ?? DEFAULT_ITERATIONS;
    assertIterations(this.iterations);
    this.attempts = new PasswordAttempts(path.join(this.dir, 'attempts'), {
      now: this.now,
      sleep: opts.sleep ?? sleepFor,
    });
    this.setupSlot = {
      file: path.join(this.dir, 'device-setup.json'),
      label: SETUP_IDS.walletId,
      ids: SETUP_IDS,
      attemptsKey: 'device-setup',
    };
    this.identitySlot = {
      file: path.join(this.dir, 'device-identity.json'),
      label: IDENTITY_IDS.walletId,
      ids: IDENTITY_IDS,
      // One counter with the setup: both open under the same password, so guesses count together.
      attemptsKey: 'device-setup',
    };
  }

  /** Stores a new wallet's share under `password` (≥ 12 characters). SHARE_EXISTS if one is there already. */
  async storeShare(walletId: string, keysetId: string, blob: Uint8Array, password: string): Promise<void> {
    return this.store(this.walletSlot(walletId, keysetId), blob, password);
  }

  /** The wallet's share. WRONG_PASSWORD (with a growing wait), SHARE_NOT_FOUND, SHARE_CORRUPTED, KEYCHAIN_UNAVAILABLE. */
  async openShare(walletId: string, keysetId: string, password: string): Promise<Uint8Array> {
    return this.open(this.walletSlot(walletId, keysetId), password);
  }

  async hasShare(walletId: string): Promise<boolean> {
    assertWalletId(walletId);
    return exists(this.shareFile(walletId));
  }

  /** The wallet ids with a share file, sorted. Leftover temporary files and anything else are ignored. */
  async listShares(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.sharesDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return names
      .map((n) => SHARE_FILE.exec(n)?.[1])
      .filter((id): id is string => id !== undefined)
      .sort();
  }

  /**
   * A backup of the wallet's share: the EncryptedShare JSON alone (no keychain layer), freshly encrypted under
   * `backupPassword` (the same password by default) once `password` has opened the stored share (so it counts as an
   * attempt, with its wait). A restored share keeps the backup's password.
   */
  async exportBackup(walletId: string, keysetId: string, password: string, backupPassword = password): Promise<string> {
    assertNewPassword(backupPassword);
    const slot = this.walletSlot(walletId, keysetId);
    const blob = await this.open(slot, password);
    try {
      return await sealShare(blob, backupPassword, slot.ids, { iterations: this.iterations, now: this.now });
    } finally {
      blob.fill(0);
    }
  }

  /**
   * Restores a backup made by exportBackup (on any machine) for the wallet and keyset the caller expects: opened with
   * `backupPassword`, then sealed afresh under `password` (this workstation's password, so one password opens
   * everything here; the backup's own password by default) and wrapped with this profile's device key. SHARE_EXISTS
   * if this profile already holds the wallet; SHARE_CORRUPTED if the file is damaged or belongs to another wallet or
   * keyset. Wrong backup passwords are not throttled: whoever holds a backup file can try passwords offline anyway
   * (PBKDF2 is its protection).
   */
  async importBackup(
    json: string,
    backupPassword: string,
    expected: ShareIds,
    password = backupPassword,
  ): Promise<void> {
    assertNewPassword(password);
    const slot = this.walletSlot(expected.walletId, expected.keysetId);
    if (await exists(slot.file)) throw new VaultError('SHARE_EXISTS');
    let share: EncryptedShare;
    try {
      share = parseEncryptedShare(json, slot.ids);
    } catch (e) {
      if (!(e instanceof VaultError)) throw e;
      throw new VaultError('SHARE_CORRUPTED', {
        message:
          'This backup file is damaged or belongs to another wallet, so it was not restored. Check that you picked ' +
          "this wallet's backup file, or contact support.",
        detail: e.detail,
      });
    }
    await this.writeWrapped(slot, async () => {
      const blob = await decryptEncryptedShare(share, backupPassword);
      try {
        return await sealShare(blob, password, slot.ids, { iterations: this.iterations, now: this.now });
      } finally {
        blob.fill(0);
      }
    });
  }

  /** Stores the device's one-time ring-Pedersen setup. SHARE_EXISTS if the device has one. */
  async storeSetup(blob: Uint8Array, password: string): Promise<void> {
    return this.store(this.setupSlot, blob, password);
  }

  async openSetup(password: string): Promise<Uint8Array> {
    return this.open(this.setupSlot, password);
  }

  async hasSetup(): Promise<boolean> {
    return exists(this.setupSlot.file);
  }

  /** Stores the device's Ed25519 identity seed. SHARE_EXISTS if the device has one. */
  async storeIdentity(seed: Uint8Array, password: string): Promise<void> {
    return this.store(this.identitySlot, seed, password);
  }

  async openIdentity(password: string): Promise<Uint8Array> {
    return this.open(this.identitySlot, password);
  }

  async hasIdentity(): Promise<boolean> {
    return exists(this.identitySlot.file);
  }

  private shareFile(walletId: string): string {
    return path.join(this.sharesDir, `${walletId}.json`);
  }

  private walletSlot(walletId: string, keysetId: string): Slot {
    assertWalletId(walletId);
    const ids = { walletId, keysetId };
    return { file: this.shareFile(walletId), label: walletId, ids, attemptsKey: `wallet.${walletId}` };
  }

  private async store(slot: Slot, blob: Uint8Array, password: string): Promise<void> {
    assertNewPassword(password);
    // Checked before the slow key derivation; the atomic link below is what really guarantees no overwrite.
    if (await exists(slot.file)) throw new VaultError('SHARE_EXISTS');
    await this.writeWrapped(slot, () =>
      sealShare(blob, password, slot.ids, { iterations: this.iterations, now: this.now }),
    );
  }

  /** Gets the device key first (so a missing keychain fails fast), then seals `inner()` with it and writes it. */
  private async writeWrapped(slot: Slot, inner: () => Promise<string>): Promise<void> {
    const key = await this.deviceKeyForWriting();
    let wrapped: string;
    try {
      wrapped = wrapForDevice(key, slot.label, await inner());
    } finally {
      key.fill(0);
    }
    await ensurePrivateDir(this.dir);
    await ensurePrivateDir(path.dirname(slot.file));
    if (!(await writeNewFileAtomic(slot.file, wrapped))) throw new VaultError('SHARE_EXISTS');
  }

  private async open(slot: Slot, password: string): Promise<Uint8Array> {
    let file: string | undefined;
    try {
      file = await readSmallFile(slot.file, MAX_WRAPPED_FILE_BYTES);
    } catch (e) {
      if (e instanceof UnusableFileError) throw corrupted(`share file ${e.message}`);
      throw e;
    }
    if (file === undefined) throw new VaultError('SHARE_NOT_FOUND');
    const key = await this.deviceKeyForReading();
    let inner: string;
    try {
      inner = unwrapFromDevice(key, slot.label, file);
    } finally {
      key.fill(0);
    }
    // Every structural check happens here, before any wait or key derivation: only a real password try is counted.
    const share = parseEncryptedShare(inner, slot.ids);
    return this.attempts.attempt(slot.attemptsKey, () => decryptEncryptedShare(share, password));
  }

  private async deviceKeyForReading(): Promise<Buffer> {
    const key = await getDeviceKey(this.profileId);
    if (!key) throw new VaultError('KEYCHAIN_UNAVAILABLE', { message: KEY_MISSING, detail: 'no device key entry' });
    return key;
  }

  /**
   * A new device key is made only for a profile that holds no wrapped file yet. If files exist but the keychain
   * shows no key (a keychain without its usual collection, a profile copied from another machine), making a fresh key
   * would silently split the profile between two keys; we stop instead.
   */
  private async deviceKeyForWriting(): Promise<Buffer> {
    const key = await getDeviceKey(this.profileId);
    if (key) return key;
    if ((await this.listShares()).length > 0 || (await this.hasSetup()) || (await this.hasIdentity())) {
      throw new VaultError('KEYCHAIN_UNAVAILABLE', { message: KEY_MISSING, detail: 'no device key, files exist' });
    }
    return getOrCreateDeviceKey(this.profileId);
  }
}
