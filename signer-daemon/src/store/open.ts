// Opens the signer's storage the same way for the daemon and the admin CLI: the KEK, the
// database (migrated), and the stores over them.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type ModPow, bigintModPow } from '@tandem/tecdsa/arith';
import { ModPowPool } from '@tandem/tecdsa/modpowPool';
import { nativeModPow } from '@tandem/tecdsa/modpowNative';
import { type DaemonConfig, ConfigError } from '../config.ts';
import { type Db, openDb } from './db.ts';
import { type KeyEncryptionKey, loadKek } from './kek.ts';
import { KeysetStore } from './keysets.ts';
import { PermitKeys } from '../permits/permitKeys.ts';
import { AuditLog } from '@tandem/common/auditLog';

export interface SignerStore {
  db: Db;
  kek: KeyEncryptionKey;
  kekOrigin: 'env' | 'file' | 'generated';
  modPow: ModPow;
  keysets: KeysetStore;
  permitKeys: PermitKeys;
  audit: AuditLog;
  close(): void;
}

export function openSignerStore(config: DaemonConfig, now: () => number, env = process.env): SignerStore {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  let loaded: ReturnType<typeof loadKek>;
  try {
    loaded = loadKek({ env: env.TANDEM_SIGNER_KEK, file: config.kekFile, generate: !config.production });
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const { kek, origin } = loaded;
  if (config.production && origin === 'generated') throw new ConfigError('production: the KEK must not be generated');
  const db = openDb(join(config.dataDir, 'signer.db'));
  // Worker threads for the big exponentiations when OpenSSL is there; BigInt otherwise.
  const modPow: ModPow = nativeModPow() ? new ModPowPool() : bigintModPow;
  return {
    db,
    kek,
    kekOrigin: origin,
    modPow,
    keysets: new KeysetStore(db, kek, modPow),
    permitKeys: new PermitKeys(db, kek),
    audit: new AuditLog(db, now),
    close() {
      db.close();
      if (modPow instanceof ModPowPool) modPow.close();
    },
  };
}
