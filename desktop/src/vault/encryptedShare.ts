// The password layer: the seed's EncryptedShare JSON (DESIGN.md "The user share on disk"). It is both what the vault
// keeps inside its device-key layer and, alone, the backup file a user carries to another workstation.
//
//   {
//     "version": 1, "walletId": "…", "keysetId": "…", "cipherSuite": "secp256k1-tecdsa-2pc",
//     "kdf": { "name": "PBKDF2-SHA256", "iterations": 600000, "salt": "<base64, 16–64 bytes>" },
//     "enc": { "name": "AES-256-GCM", "iv": "<base64, 12 bytes>", "ciphertext": "<base64>" },
//     "createdAt": "2026-01-01T00:00:00.000Z"
//   }
//
// - key = PBKDF2-HMAC-SHA256(UTF-8(NFC(password)), salt, iterations, 32 bytes). NFC so that the same password typed
//   on another operating system (which may compose accented letters differently) opens a backup.
// - ciphertext = the AES-256-GCM ciphertext followed by its 16-byte tag, in one base64 string (as WebCrypto emits it).
// - associated data = four length-prefixed fields (u32 big-endian length, then the bytes): "tandem/encrypted-share",
//   u32be(version), UTF-8(walletId), UTF-8(keysetId). A file renamed onto another wallet or keyset cannot be opened as
//   that wallet's share.
// - iterations are 600,000 (OWASP's figure for PBKDF2-SHA256) to 10,000,000: a tampered file can neither weaken the
//   KDF nor make us spin for hours.
//
// Any defect in the file is SHARE_CORRUPTED, found before the (slow) KDF runs. A failed tag is WRONG_PASSWORD: once the
// file is well formed and names the wallet and keyset we expect, GCM's single tag cannot tell a wrong password from a
// ciphertext altered by someone who could rewrite the file. On this machine the device layer (deviceWrap.ts) catches
// any change to the stored file first; for a backup file, a damaged ciphertext reads as a wrong password.

import { createCipheriv, createDecipheriv, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { VaultError, corrupted } from './errors.ts';
import {
  type JsonObject,
  StrictJsonError,
  decodeBase64Strict,
  hasExactKeys,
  isObject,
  parseStrictJson,
} from './strictJson.ts';

export const ENCRYPTED_SHARE_VERSION = 1;
export const CIPHER_SUITE = 'secp256k1-tecdsa-2pc';
export const KDF_NAME = 'PBKDF2-SHA256';
export const ENC_NAME = 'AES-256-GCM';
export const MIN_ITERATIONS = 600_000;
export const DEFAULT_ITERATIONS = 600_000;
export const MAX_ITERATIONS = 10_000_000;
export const MIN_PASSWORD_LENGTH = 12;

const MAX_PASSWORD_LENGTH = 1024;
const SALT_BYTES = 16;
const MAX_SALT_BYTES = 64;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** Shares and the ring-Pedersen setup are a few KiB at the full profile; anything far larger is not ours. */
export const MAX_SECRET_BYTES = 64 * 1024;
/** The JSON of the largest share we write, with room for pretty-printing. */
export const MAX_ENCRYPTED_SHARE_CHARS = 4 * MAX_SECRET_BYTES;
const AD_LABEL = 'tandem/encrypted-share';
const ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;

const pbkdf2Async = promisify(pbkdf2);

/** Which wallet and keyset a share belongs to; bound into the ciphertext. */
export interface ShareIds {
  readonly walletId: string;
  readonly keysetId: string;
}

export interface EncryptedShare {
  readonly version: 1;
  readonly walletId: string;
  readonly keysetId: string;
  readonly cipherSuite: typeof CIPHER_SUITE;
  readonly kdf: { readonly name: typeof KDF_NAME; readonly iterations: number; readonly salt: string };
  readonly enc: { readonly name: typeof ENC_NAME; readonly iv: string; readonly ciphertext: string };
  readonly createdAt: string;
}

export interface SealOptions {
  iterations?: number;
  /** ms since the epoch, for createdAt */
  now?: () => number;
}

export function assertShareIds(ids: ShareIds): void {
  for (const k of ['walletId', 'keysetId'] as const) {
    if (typeof ids[k] !== 'string' || !ID.test(ids[k])) throw new TypeError(`${k} must match ${ID.source}`);
  }
}

export function assertIterations(n: number): void {
  if (!Number.isInteger(n) || n < MIN_ITERATIONS || n > MAX_ITERATIONS) {
    throw new TypeError(`PBKDF2 iterations must be an integer from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}`);
  }
}

function assertSecretBlob(blob: Uint8Array): void {
  if (!(blob instanceof Uint8Array) || blob.length === 0 || blob.length > MAX_SECRET_BYTES) {
    throw new TypeError(`the secret must be a Uint8Array of 1 to ${MAX_SECRET_BYTES} bytes`);
  }
}

/** A password chosen now (for a new share or setup): BAD_PASSWORD when too short. */
export function assertNewPassword(password: string): void {
  if (typeof password !== 'string') throw new TypeError('password must be a string');
  // Code points, not UTF-16 units: an emoji is one character to the person typing it.
  const length = [...password.normalize('NFC')].length;
  if (length < MIN_PASSWORD_LENGTH) throw new VaultError('BAD_PASSWORD', { detail: 'shorter than 12 characters' });
  if (length > MAX_PASSWORD_LENGTH) {
    throw new VaultError('BAD_PASSWORD', {
      message: `Choose a password of at most ${MAX_PASSWORD_LENGTH} characters.`,
      detail: 'too long',
    });
  }
}

function lengthPrefixed(parts: Uint8Array[]): Buffer {
  return Buffer.concat(
    parts.flatMap((p) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(p.length);
      return [len, p];
    }),
  );
}

function associatedData(version: number, ids: ShareIds): Buffer {
  const v = Buffer.alloc(4);
  v.writeUInt32BE(version);
  return lengthPrefixed([Buffer.from(AD_LABEL), v, Buffer.from(ids.walletId), Buffer.from(ids.keysetId)]);
}

/** Runs PBKDF2 off the main thread (libuv's pool), so the app stays responsive for the ~0.2–1 s it takes. */
async function deriveKey(password: string, salt: Uint8Array, iterations: number): Promise<Buffer> {
  if (typeof password !== 'string') throw new TypeError('password must be a string');
  // The Buffer is wiped; the string itself cannot be (JavaScript strings are immutable and may be copied by the GC).
  const pw = Buffer.from(password.normalize('NFC'), 'utf8');
  try {
    return await pbkdf2Async(pw, salt, iterations, KEY_BYTES, 'sha256');
  } finally {
    pw.fill(0);
  }
}

/** The EncryptedShare JSON text (pretty-printed: it is also the backup file a person may open). */
export function serializeEncryptedShare(s: EncryptedShare): string {
  const ordered: EncryptedShare = {
    version: s.version,
    walletId: s.walletId,
    keysetId: s.keysetId,
    cipherSuite: s.cipherSuite,
    kdf: { name: s.kdf.name, iterations: s.kdf.iterations, salt: s.kdf.salt },
    enc: { name: s.enc.name, iv: s.enc.iv, ciphertext: s.enc.ciphertext },
    createdAt: s.createdAt,
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** Encrypts `secret` under `password` for the given wallet and keyset; returns the EncryptedShare JSON text. */
export async function sealShare(
  secret: Uint8Array,
  password: string,
  ids: ShareIds,
  opts: SealOptions = {},
): Promise<string> {
  assertSecretBlob(secret);
  assertShareIds(ids);
  assertNewPassword(password);
  const iterations = opts.iterations ?? DEFAULT_ITERATIONS;
  assertIterations(iterations);
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const key = await deriveKey(password, salt, iterations);
  try {
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(ENCRYPTED_SHARE_VERSION, ids));
    const ct = Buffer.concat([cipher.update(secret), cipher.final(), cipher.getAuthTag()]);
    return serializeEncryptedShare({
      version: ENCRYPTED_SHARE_VERSION,
      walletId: ids.walletId,
      keysetId: ids.keysetId,
      cipherSuite: CIPHER_SUITE,
      kdf: { name: KDF_NAME, iterations, salt: salt.toString('base64') },
      enc: { name: ENC_NAME, iv: iv.toString('base64'), ciphertext: ct.toString('base64') },
      createdAt: new Date(opts.now?.() ?? Date.now()).toISOString(),
    });
  } finally {
    key.fill(0);
  }
}

function str(o: JsonObject, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw corrupted(`${key} is not a string`);
  return v;
}

function bytes(o: JsonObject, key: string, min: number, max: number): Buffer {
  const b = decodeBase64Strict(str(o, key));
  if (!b || b.length < min || b.length > max) throw corrupted(`${key} is not base64 of ${min}–${max} bytes`);
  return b;
}

/**
 * Parses an EncryptedShare strictly and checks that it belongs to `expected`: exact keys, types, names, sizes and
 * ranges. Throws SHARE_CORRUPTED for any defect, including a file of another wallet or keyset.
 */
export function parseEncryptedShare(text: string, expected: ShareIds): EncryptedShare {
  assertShareIds(expected);
  if (typeof text !== 'string' || text.length > MAX_ENCRYPTED_SHARE_CHARS) throw corrupted('not a share file (size)');
  let o: JsonObject;
  try {
    o = parseStrictJson(text, 2);
  } catch (e) {
    // StrictJsonError messages hold positions only; anything else would be a bug worth seeing.
    if (e instanceof StrictJsonError) throw corrupted(`not strict JSON: ${e.message}`);
    throw e;
  }
  const keys = ['version', 'walletId', 'keysetId', 'cipherSuite', 'kdf', 'enc', 'createdAt'];
  if (!hasExactKeys(o, keys)) throw corrupted('unexpected or missing fields');
  if (o.version !== ENCRYPTED_SHARE_VERSION) throw corrupted('unsupported version');
  if (str(o, 'cipherSuite') !== CIPHER_SUITE) throw corrupted('unsupported cipherSuite');
  const walletId = str(o, 'walletId');
  const keysetId = str(o, 'keysetId');
  if (walletId !== expected.walletId) throw corrupted('walletId is not the expected wallet');
  if (keysetId !== expected.keysetId) throw corrupted('keysetId is not the expected keyset');

  const kdf = o.kdf;
  if (!isObject(kdf) || !hasExactKeys(kdf, ['name', 'iterations', 'salt'])) throw corrupted('kdf: unexpected fields');
  if (str(kdf, 'name') !== KDF_NAME) throw corrupted('kdf.name is not PBKDF2-SHA256');
  const iterations = kdf.iterations;
  if (typeof iterations !== 'number' || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw corrupted(`kdf.iterations is outside ${MIN_ITERATIONS}–${MAX_ITERATIONS}`);
  }
  bytes(kdf, 'salt', SALT_BYTES, MAX_SALT_BYTES);

  const enc = o.enc;
  if (!isObject(enc) || !hasExactKeys(enc, ['name', 'iv', 'ciphertext'])) throw corrupted('enc: unexpected fields');
  if (str(enc, 'name') !== ENC_NAME) throw corrupted('enc.name is not AES-256-GCM');
  bytes(enc, 'iv', IV_BYTES, IV_BYTES);
  bytes(enc, 'ciphertext', TAG_BYTES + 1, MAX_SECRET_BYTES + TAG_BYTES);

  const createdAt = str(o, 'createdAt');
  if (!ISO_UTC.test(createdAt) || Number.isNaN(Date.parse(createdAt))) throw corrupted('createdAt is not an ISO date');

  return {
    version: ENCRYPTED_SHARE_VERSION,
    walletId,
    keysetId,
    cipherSuite: CIPHER_SUITE,
    kdf: { name: KDF_NAME, iterations, salt: str(kdf, 'salt') },
    enc: { name: ENC_NAME, iv: str(enc, 'iv'), ciphertext: str(enc, 'ciphertext') },
    createdAt,
  };
}

/** Decrypts a share that parseEncryptedShare accepted. WRONG_PASSWORD when the tag does not verify. */
export async function decryptEncryptedShare(s: EncryptedShare, password: string): Promise<Uint8Array> {
  const ct = Buffer.from(s.enc.ciphertext, 'base64');
  const key = await deriveKey(password, Buffer.from(s.kdf.salt, 'base64'), s.kdf.iterations);
  let plain: Buffer | undefined;
  try {
    // authTagLength pins the tag to 16 bytes: Node would otherwise accept a truncated tag.
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(s.enc.iv, 'base64'), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(associatedData(s.version, s));
    decipher.setAuthTag(ct.subarray(ct.length - TAG_BYTES));
    plain = decipher.update(ct.subarray(0, ct.length - TAG_BYTES));
    const rest = decipher.final();
    // A plain Uint8Array of its own: a small Buffer.concat result may be a slice of Node's shared pool, next to
    // other data, and the caller could not wipe it without touching its neighbours.
    const out = new Uint8Array(plain.length + rest.length);
    out.set(plain);
    out.set(rest, plain.length);
    plain.fill(0);
    rest.fill(0);
    return out;
  } catch {
    // Unverified plaintext must not linger. The cause is dropped: it only says "unable to authenticate data".
    plain?.fill(0);
    throw new VaultError('WRONG_PASSWORD');
  } finally {
    key.fill(0);
  }
}

/** parseEncryptedShare, then decryptEncryptedShare. */
export async function openShare(text: string, password: string, expected: ShareIds): Promise<Uint8Array> {
  return decryptEncryptedShare(parseEncryptedShare(text, expected), password);
}
