// The signer's Ed25519 identity (PROTOCOL.md §3.2): created on first start, its seed sealed
// under the KEK in the settings table. Desktops pin its public key from their configuration.

import { randomBytes } from 'node:crypto';
import { type Identity, identityFromSeed } from '@tandem/tecdsa/envelope';
import { type Db } from './store/db.ts';
import { type KeyEncryptionKey, SealError, associatedData } from './store/kek.ts';
import { ConfigError } from './config.ts';

/** The settings row holding the sealed seed, and its associated data (also used by rotate-kek). */
export const IDENTITY_SETTING = 'identity_seed';
export const IDENTITY_AD = associatedData('tandem-signer-identity', 1);

export function loadIdentity(db: Db, kek: KeyEncryptionKey): { identity: Identity; created: boolean } {
  const row = db.prepare("SELECT value FROM settings WHERE name = 'identity_seed'").get() as
    { value: Buffer } | undefined;
  if (row) {
    try {
      return { identity: identityFromSeed(kek.open(row.value, IDENTITY_AD)), created: false };
    } catch (e) {
      if (!(e instanceof SealError)) throw e;
      // The first sealed value read at start: the likeliest cause is another KEK.
      throw new ConfigError(
        `the KEK (fingerprint ${kek.fingerprint}) does not open this data directory's sealed data: is it the KEK this signer was set up with, or the one it was last rotated to (admin rotate-kek)?`,
      );
    }
  }
  const seed = randomBytes(32);
  db.prepare("INSERT INTO settings (name, value) VALUES ('identity_seed', ?)").run(kek.seal(seed, IDENTITY_AD));
  return { identity: identityFromSeed(seed), created: true };
}
