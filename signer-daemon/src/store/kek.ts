// The key-encryption key (KEK) that seals every secret row (shares, permit keys, the identity
// seed) with AES-256-GCM. Sources, in order: TANDEM_SIGNER_KEK (64 hex chars), a KEK file
// (64 hex chars, mode 0600), or — in development only — a file generated on first start.
// A KMS plugs in behind the same interface: it only has to seal and open.

import { createCipheriv, createDecipheriv, randomBytes, createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';

export interface KeyEncryptionKey {
  /** A non-secret fingerprint, for logs and the audit trail. */
  readonly fingerprint: string;
  seal(plaintext: Uint8Array, ad: Uint8Array): Buffer;
  /** Throws SealError when the ciphertext or its associated data was altered. */
  open(sealed: Uint8Array, ad: Uint8Array): Buffer;
}

export class SealError extends Error {
  override readonly name = 'SealError';
}

const VERSION = 1;
const NONCE = 12;
const TAG = 16;

/** AES-256-GCM with a random 96-bit nonce; format: version ‖ nonce ‖ ciphertext ‖ tag. */
export function aesGcmKek(key: Uint8Array): KeyEncryptionKey {
  if (key.length !== 32) throw new Error('KEK must be 32 bytes');
  const k = Buffer.from(key);
  return {
    fingerprint: createHash('sha256').update('tandem-kek-fingerprint').update(k).digest('hex').slice(0, 16),
    seal(plaintext, ad) {
      const nonce = randomBytes(NONCE);
      const c = createCipheriv('aes-256-gcm', k, nonce);
      c.setAAD(ad);
      const body = Buffer.concat([c.update(plaintext), c.final()]);
      return Buffer.concat([Buffer.of(VERSION), nonce, body, c.getAuthTag()]);
    },
    open(sealed, ad) {
      if (sealed.length < 1 + NONCE + TAG || sealed[0] !== VERSION) throw new SealError('sealed value is malformed');
      const nonce = sealed.subarray(1, 1 + NONCE);
      const d = createDecipheriv('aes-256-gcm', k, nonce);
      d.setAAD(ad);
      d.setAuthTag(sealed.subarray(sealed.length - TAG));
      try {
        return Buffer.concat([d.update(sealed.subarray(1 + NONCE, sealed.length - TAG)), d.final()]);
      } catch {
        throw new SealError('sealed value failed authentication');
      }
    },
  };
}

function parseKekHex(text: string, where: string): Buffer {
  const t = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(t)) throw new Error(`${where}: expected 64 hex characters (32 bytes)`);
  return Buffer.from(t, 'hex');
}

export interface KekSource {
  /** Value of TANDEM_SIGNER_KEK, if set. */
  env?: string;
  file: string;
  /** Development: create the file when it is missing. */
  generate: boolean;
}

export function loadKek(src: KekSource): { kek: KeyEncryptionKey; origin: 'env' | 'file' | 'generated' } {
  if (src.env !== undefined && src.env !== '')
    return { kek: aesGcmKek(parseKekHex(src.env, 'TANDEM_SIGNER_KEK')), origin: 'env' };
  if (!existsSync(src.file)) {
    if (!src.generate) throw new Error(`KEK file ${src.file} does not exist and generating one is disabled`);
    const key = randomBytes(32);
    writeFileSync(src.file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    return { kek: aesGcmKek(key), origin: 'generated' };
  }
  const key = readKekFile(src.file);
  try {
    return { kek: aesGcmKek(key), origin: 'file' };
  } finally {
    key.fill(0); // aesGcmKek keeps its own copy
  }
}

/** A KEK file's 32 bytes: 64 hex characters, in a file nobody but its owner can read (mode 600 or 400). */
export function readKekFile(file: string): Buffer {
  // Like ssh with private keys: a KEK others can read is refused rather than trusted.
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) throw new Error(`KEK file ${file} has mode ${mode.toString(8)}; it must be 600`);
  return parseKekHex(readFileSync(file, 'utf8'), file);
}

/** Length-prefixed associated data, so that ("ab","c") and ("a","bc") differ. */
export function associatedData(...parts: (string | number)[]): Buffer {
  return Buffer.concat(
    parts.map((p) => {
      const b = Buffer.from(String(p), 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      return Buffer.concat([len, b]);
    }),
  );
}
