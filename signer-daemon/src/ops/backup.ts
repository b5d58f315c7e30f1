// `admin backup` and `admin restore` for the signer (common/src/backup.ts does the copying and checking).
//
// The backup holds signer.db only: shares, permit keys and the identity seed in it are sealed under the
// KEK, and the KEK is never in a backup — it is backed up separately (docs/operator-guide.md), which is
// what makes a stolen database backup useless. The manifest records the KEK's fingerprint so that a
// restore can say which KEK it needs; restore then proves it by opening the sealed identity (and every
// share) with the KEK in use before anything is installed.
//
// A restore brings back the state at the time of the backup. What happened later is not in it: keysets
// made later, freezes and failures recorded later, permits used later. The summary says so, and the
// audit log of the restored database records the restore.

import { join } from 'node:path';
import { bigintModPow, type ModPow } from '@tandem/tecdsa/arith';
import { nativeModPow } from '@tandem/tecdsa/modpowNative';
import { AuditLog } from '@tandem/common/auditLog';
import { BackupError, readManifest, restoreBackup, writeBackup, type BackupManifest } from '@tandem/common/backup';
import { type DaemonConfig, ConfigError } from '../config.ts';
import { type Db, openDb } from '../store/db.ts';
import { type KeyEncryptionKey, loadKek } from '../store/kek.ts';
import { KeysetStore } from '../store/keysets.ts';
import { loadIdentity } from '../identity.ts';
import { SignerError } from '../errors.ts';

const DB_FILE = 'signer.db';

/** The configured KEK; never generated here (a new KEK opens nothing in an existing database). */
function configuredKek(config: DaemonConfig, env: Record<string, string | undefined>, purpose: string) {
  try {
    return loadKek({ env: env.TANDEM_SIGNER_KEK, file: config.kekFile, generate: false }).kek;
  } catch (e) {
    throw new ConfigError(
      `${(e as Error).message}. ${purpose} needs the KEK this signer's data is sealed with: install it (mode 600) ` +
        `and point TANDEM_SIGNER_KEK_FILE at it`,
    );
  }
}

/** The sealed identity's public key (hex), or null when the database has none yet; throws if the KEK cannot open it. */
function sealedIdentity(db: Db, kek: KeyEncryptionKey, mismatch: () => Error): string | null {
  if (!db.prepare("SELECT 1 FROM settings WHERE name = 'identity_seed'").get()) return null;
  try {
    // The row exists, so this only opens it (it creates an identity only where there is none).
    return Buffer.from(loadIdentity(db, kek).identity.publicKey).toString('hex');
  } catch (e) {
    if (e instanceof ConfigError) throw mismatch();
    throw e;
  }
}

function keysetCounts(db: Db): Record<string, number> {
  const out: Record<string, number> = { ACTIVE: 0, FROZEN: 0, RETIRED: 0 };
  for (const r of db.prepare('SELECT status, COUNT(*) AS n FROM keysets GROUP BY status').all() as {
    status: string;
    n: number;
  }[])
    out[r.status] = r.n;
  return out;
}

export interface SignerBackupSummary {
  dir: string;
  manifest: BackupManifest;
}

/** Copies the live signer.db into `outDir` (safe while the signer runs) and writes the manifest. */
export async function backupSigner(
  config: DaemonConfig,
  env: Record<string, string | undefined>,
  outDir: string,
  now: () => number = Date.now,
): Promise<SignerBackupSummary> {
  const kek = configuredKek(config, env, 'backup');
  return writeBackup({
    source: join(config.dataDir, DB_FILE),
    outDir,
    service: 'signer',
    now,
    inspect: (copy) => {
      const identity = sealedIdentity(
        copy,
        kek,
        () =>
          new BackupError(
            'KEK_MISMATCH',
            `the KEK in use (fingerprint ${kek.fingerprint}) does not open this signer's sealed identity: it is not ` +
              `the KEK this data is sealed with, and a backup labelled with its fingerprint would mislead a restore. ` +
              `Fix TANDEM_SIGNER_KEK_FILE first`,
          ),
      );
      const counts = keysetCounts(copy);
      return {
        kekFingerprint: kek.fingerprint,
        identityPublicKey: identity,
        keysetsActive: counts.ACTIVE ?? 0,
        keysetsFrozen: counts.FROZEN ?? 0,
        keysetsRetired: counts.RETIRED ?? 0,
      };
    },
  });
}

export interface SignerRestoreSummary {
  restored: string;
  from: string;
  backupCreatedAt: string;
  schemaVersion: number;
  kekFingerprint: string;
  identityPublicKey: string | null;
  keysets: Record<string, number>;
  /** Keysets whose share did not open or match its row: they cannot sign (SHARE_CORRUPTED). */
  corruptedShares: string[];
  replacedInto: string | null;
  audit: { entries: number; head: string };
  note: string;
}

function kekMismatch(inUse: string, recorded: unknown): BackupError {
  const made =
    typeof recorded === 'string' ? `; the backup was made with the KEK whose fingerprint is ${recorded}` : '';
  return new BackupError(
    'KEK_MISMATCH',
    `KEK fingerprint mismatch: the KEK in use (fingerprint ${inUse}) does not open this backup's sealed identity${made}. ` +
      `Restore needs that KEK: install it from its own backup (mode 600), point TANDEM_SIGNER_KEK_FILE at it, and run restore again`,
  );
}

/** Opens every keyset's share with the KEK and checks it against its row; returns the ones that fail. */
function corruptedShares(db: Db, kek: KeyEncryptionKey, modPow: ModPow): string[] {
  const store = new KeysetStore(db, kek, modPow);
  const bad: string[] = [];
  for (const k of store.list()) {
    try {
      store.share(k.keysetId);
    } catch (e) {
      if (e instanceof SignerError && e.code === 'SHARE_CORRUPTED') bad.push(k.keysetId);
      else throw e;
    }
  }
  return bad;
}

/**
 * Installs the backup in `fromDir` as this data directory's signer.db. Stop the signer first. Refuses,
 * leaving the directory as it was, when: a database is already there (unless `force`), the file does not
 * match its manifest, the KEK in use does not open the backup's sealed identity, or the audit chain is broken.
 */
export function restoreSigner(
  config: DaemonConfig,
  env: Record<string, string | undefined>,
  o: { fromDir: string; force: boolean; operator: string },
  now: () => number = Date.now,
): SignerRestoreSummary {
  const kek = configuredKek(config, env, 'restore');
  // The recorded fingerprint gives the clearest early answer; opening the sealed identity below is the proof.
  const recorded = readManifest(o.fromDir, 'signer').facts.kekFingerprint;
  if (typeof recorded === 'string' && recorded !== kek.fingerprint) throw kekMismatch(kek.fingerprint, recorded);
  const modPow = nativeModPow() ?? bigintModPow;
  const target = join(config.dataDir, DB_FILE);
  let identity: string | null = null;
  let corrupted: string[] = [];
  const { manifest, replacedInto } = restoreBackup({
    fromDir: o.fromDir,
    service: 'signer',
    target,
    force: o.force,
    open: openDb,
    now,
    check: (copy, m) => {
      identity = sealedIdentity(copy, kek, () => kekMismatch(kek.fingerprint, m.facts.kekFingerprint));
      if ((m.facts.identityPublicKey ?? null) !== identity)
        throw new BackupError('BAD_MANIFEST', 'the manifest names another signer identity than the backed-up database');
      corrupted = corruptedShares(copy, kek, modPow);
    },
  });

  const db = openDb(target);
  try {
    const audit = new AuditLog(db, now);
    // A backup predates whatever happened since: a keyset frozen after it (a failure past decryption,
    // PROTOCOL.md §9) would come back ACTIVE. Fail closed: every restored ACTIVE keyset is frozen, and
    // an operator unfreezes each one (admin unfreeze, with a reason) after comparing with the old
    // signer's audit export and the alerts.
    const active = (
      db.prepare("SELECT keyset_id FROM keysets WHERE status = 'ACTIVE'").all() as { keyset_id: string }[]
    ).map((r) => r.keyset_id);
    db.transaction(() => {
      audit.append(o.operator, 'backup.restored', 'signer', {
        from: o.fromDir,
        backupCreatedAt: manifest.createdAt,
        sha256: manifest.sha256,
        replacedInto: replacedInto ?? null,
      });
      for (const id of active) {
        db.prepare(
          "UPDATE keysets SET status = 'FROZEN', updated_at_ms = ? WHERE keyset_id = ? AND status = 'ACTIVE'",
        ).run(now(), id);
        audit.append(o.operator, 'keyset.frozen', id, { reason: 'RESTORED_FROM_BACKUP' });
      }
    })();
    const v = audit.verify();
    if (!v.ok) throw new Error(`the restored audit log does not verify at entry ${v.seq}: ${v.reason}`);
    return {
      restored: target,
      from: o.fromDir,
      backupCreatedAt: manifest.createdAt,
      schemaVersion: manifest.schemaVersion,
      kekFingerprint: kek.fingerprint,
      identityPublicKey: identity,
      keysets: keysetCounts(db),
      corruptedShares: corrupted,
      replacedInto: replacedInto ?? null,
      audit: { entries: v.entries, head: v.head },
      note:
        `every restored keyset is FROZEN until an operator unfreezes it with a reason; ` +
        `state after ${manifest.createdAt} is not in this backup: keysets created later (compare with the ` +
        `coordinator's wallets), freezes and failures recorded later (compare with the old signer's audit export ` +
        `and alerts) and permits used later; review them before starting the signer`,
    };
  } finally {
    db.close();
  }
}
