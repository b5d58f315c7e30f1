// Ed25519 for envelopes on the runtime's own implementation (OpenSSL in Node, BoringSSL in
// Electron): an order of magnitude faster than pure JavaScript, and every protocol message is
// signed once and verified once, so it shows in every round's latency. Signatures are
// deterministic (RFC 8032), so the bytes are the ones @noble/ed25519 produces, and the vectors
// still agree byte for byte. A runtime that fails a check at load runs the same steps in JavaScript.
//
// Verification stays strict RFC 8032 (§3.2a): the public key is decoded canonically by noble once
// per key (and refused if it has a small-order part); S < L is checked here; the runtime then
// checks the cofactorless equation by recomputing R = [S]B − [k]A and comparing its canonical
// encoding with the signature's R bytes, which no non-canonical R encoding can match.

import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToBig, concatBytes, equalBytes } from './bytes.ts';

ed.hashes.sha512 = sha512;

const L = 2n ** 252n + 27742317777372353535851937790883648493n;

// SPKI wrapping of a raw Ed25519 public key: a fixed 12-byte prefix, then the key.
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/** The public key for a 32-byte secret seed. */
export const ed25519PublicKey = (seed: Uint8Array): Uint8Array => ed.getPublicKey(seed);

/**
 * The key object is made per call from JWK (a tenth of the cost of PKCS#8 here) and not cached:
 * callers wipe their seed after a job, as the desktop's worker does, and a cache would keep a copy
 * alive. The runtime derives the public key from the seed itself.
 */
function nativeSign(seed: Uint8Array, publicKey: Uint8Array, msg: Uint8Array): Uint8Array {
  const key = createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: b64url(publicKey) },
    format: 'jwk',
  });
  return new Uint8Array(sign(null, msg, key));
}

const spki = (publicKey: Uint8Array): KeyObject =>
  createPublicKey({ key: Buffer.from(concatBytes(SPKI_PREFIX, publicKey)), format: 'der', type: 'spki' });

/** Whether this runtime signs and verifies as RFC 8032 says: checked once, against noble, on a fixed key. */
const NATIVE = ((): boolean => {
  try {
    const seed = new Uint8Array(32).fill(7);
    const pub = ed.getPublicKey(seed);
    const msg = new Uint8Array(64).fill(1);
    const want = ed.sign(msg, seed);
    return equalBytes(nativeSign(seed, pub, msg), want) && verify(null, msg, spki(pub), want);
  } catch {
    return false;
  }
})();

export function ed25519Sign(id: { secretKey: Uint8Array; publicKey: Uint8Array }, msg: Uint8Array): Uint8Array {
  return NATIVE ? nativeSign(id.secretKey, id.publicKey, msg) : ed.sign(msg, id.secretKey);
}

/** Public key objects of acceptable keys (hex → key), the most recently used kept. */
const publicKeys = new Map<string, KeyObject>();
const MAX_PUBLIC_KEYS = 1024;

function publicKeyObject(publicKey: Uint8Array): KeyObject | undefined {
  const hex = Buffer.from(publicKey).toString('hex');
  const known = publicKeys.get(hex);
  if (known) {
    publicKeys.delete(hex);
    publicKeys.set(hex, known);
    return known;
  }
  try {
    // zip215=false: rejects a non-canonical y or an x that does not exist. A key with a small-order
    // part is refused too, as enrolment refuses it: forged signatures verify under small-order keys.
    const A = ed.Point.fromBytes(publicKey, false);
    if (A.isSmallOrder() || !A.isTorsionFree()) return undefined;
  } catch {
    return undefined;
  }
  const key = spki(publicKey);
  publicKeys.set(hex, key);
  if (publicKeys.size > MAX_PUBLIC_KEYS) publicKeys.delete(publicKeys.keys().next().value!);
  return key;
}

/** Strict Ed25519 verification; false on any defect. `native`: tests run the JavaScript path with false. */
export function verifyEd25519Strict(sig: Uint8Array, msg: Uint8Array, publicKey: Uint8Array, native = NATIVE): boolean {
  if (sig.length !== 64 || publicKey.length !== 32) return false;
  const key = publicKeyObject(publicKey);
  if (!key) return false;
  if (bytesToBig(sig.subarray(32).slice().reverse()) >= L) return false;
  try {
    return native ? verify(null, msg, key, sig) : verifyInJs(sig, msg, publicKey);
  } catch {
    return false;
  }
}

/** The cofactorless equation [S]B = R + [k]A in JavaScript, R decoded canonically. */
function verifyInJs(sig: Uint8Array, msg: Uint8Array, publicKey: Uint8Array): boolean {
  const A = ed.Point.fromBytes(publicKey, false);
  const R = ed.Point.fromBytes(sig.subarray(0, 32), false);
  const S = bytesToBig(sig.subarray(32).slice().reverse());
  const k = bytesToBig(sha512(concatBytes(sig.subarray(0, 32), publicKey, msg)).reverse()) % L;
  const SB = S === 0n ? ed.Point.ZERO : ed.Point.BASE.multiplyUnsafe(S);
  const kA = k === 0n ? ed.Point.ZERO : A.multiplyUnsafe(k);
  return SB.equals(R.add(kA));
}
