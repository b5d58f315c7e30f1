// The device layer: the EncryptedShare JSON sealed once more with AES-256-GCM under this profile's device key (kept in
// the OS keychain, deviceKey.ts), so a copied disk without the keychain is useless (DESIGN.md "The user share on
// disk"). The file is a small JSON
//
//   { "v": 1, "alg": "A256GCM", "iv": "<base64, 12 bytes>", "ct": "<base64: ciphertext ‖ 16-byte tag>" }
//
// with associated data UTF-8("tandem-device-wrap") ‖ UTF-8(label), where label is the walletId (or the device setup's
// label): the prefix has a fixed length, so the concatenation has one reading, and a file copied onto another
// wallet's name fails here. Any byte changed on disk fails the tag: SHARE_CORRUPTED, before the password is tried.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { corrupted } from './errors.ts';
import { StrictJsonError, decodeBase64Strict, hasExactKeys, parseStrictJson } from './strictJson.ts';
import { MAX_ENCRYPTED_SHARE_CHARS } from './encryptedShare.ts';

const AD_PREFIX = 'tandem-device-wrap';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** The wrapped file holds one EncryptedShare; base64 grows it by 4/3, plus the few bytes of the envelope. */
export const MAX_WRAPPED_FILE_BYTES = Math.ceil((MAX_ENCRYPTED_SHARE_CHARS + TAG_BYTES) / 3) * 4 + 256;

function assertKey(deviceKey: Uint8Array): void {
  if (!(deviceKey instanceof Uint8Array) || deviceKey.length !== KEY_BYTES) {
    throw new TypeError('the device key must be 32 bytes');
  }
}

const associatedData = (label: string): Buffer => Buffer.from(AD_PREFIX + label, 'utf8');

/** Seals the EncryptedShare JSON text for this device; returns the file's text. */
export function wrapForDevice(deviceKey: Uint8Array, label: string, inner: string): string {
  assertKey(deviceKey);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', deviceKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(label));
  const ct = Buffer.concat([cipher.update(inner, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${JSON.stringify({ v: 1, alg: 'A256GCM', iv: iv.toString('base64'), ct: ct.toString('base64') })}\n`;
}

/** Opens a file written by wrapForDevice for the same label; SHARE_CORRUPTED for any defect or a failed tag. */
export function unwrapFromDevice(deviceKey: Uint8Array, label: string, file: string): string {
  assertKey(deviceKey);
  if (file.length > MAX_WRAPPED_FILE_BYTES) throw corrupted('device layer: file too large');
  let o;
  try {
    o = parseStrictJson(file, 1);
  } catch (e) {
    if (e instanceof StrictJsonError) throw corrupted(`device layer: not strict JSON: ${e.message}`);
    throw e;
  }
  if (!hasExactKeys(o, ['v', 'alg', 'iv', 'ct']) || o.v !== 1 || o.alg !== 'A256GCM') {
    throw corrupted('device layer: unexpected fields or version');
  }
  const iv = typeof o.iv === 'string' ? decodeBase64Strict(o.iv) : undefined;
  const ct = typeof o.ct === 'string' ? decodeBase64Strict(o.ct) : undefined;
  if (!iv || iv.length !== IV_BYTES || !ct || ct.length <= TAG_BYTES) throw corrupted('device layer: bad iv or ct');
  const decipher = createDecipheriv('aes-256-gcm', deviceKey, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(associatedData(label));
  decipher.setAuthTag(ct.subarray(ct.length - TAG_BYTES));
  const plain = decipher.update(ct.subarray(0, ct.length - TAG_BYTES));
  try {
    decipher.final();
    // The inner JSON holds only ciphertext and public parameters, so a string copy of it is harmless.
    return plain.toString('utf8');
  } catch {
    throw corrupted('device layer: tag check failed (file altered, copied from another wallet, or another device key)');
  } finally {
    plain.fill(0);
  }
}
