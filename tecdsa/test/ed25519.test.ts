// Envelope Ed25519 on the runtime's implementation, and on the JavaScript path a runtime without it
// takes, against a reference written from RFC 8032 with @noble/ed25519: the same signature bytes,
// and the same verdict on valid signatures and on every kind of defect (a changed bit anywhere,
// S ≥ L, non-canonical or invalid R, wrong key or message).
// Small-order keys are the one place where ours is stricter: it refuses them outright.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToBig, concatBytes } from '../src/bytes.ts';
import { ed25519PublicKey, ed25519Sign, verifyEd25519Strict } from '../src/ed25519.ts';

ed.hashes.sha512 = sha512;

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;
const le = (x: bigint) => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((x >> BigInt(8 * i)) & 0xffn);
  return out;
};

/**
 * RFC 8032 §5.1.7 written as OpenSSL does it, independently of the JavaScript path under test:
 * S < L, A decoded strictly, then R' = [S]B − [k]A must encode to exactly the signature's R bytes.
 */
function reference(sig: Uint8Array, msg: Uint8Array, publicKey: Uint8Array): boolean {
  if (sig.length !== 64 || publicKey.length !== 32) return false;
  try {
    const A = ed.Point.fromBytes(publicKey, false);
    const S = bytesToBig(sig.subarray(32).slice().reverse());
    if (S >= L) return false;
    const k = bytesToBig(sha512(concatBytes(sig.subarray(0, 32), publicKey, msg)).reverse()) % L;
    let Rp = S === 0n ? ed.Point.ZERO : ed.Point.BASE.multiply(S);
    if (k !== 0n) Rp = Rp.subtract(A.multiplyUnsafe(k));
    return Buffer.from(Rp.toBytes()).equals(Buffer.from(sig.subarray(0, 32)));
  } catch {
    return false;
  }
}

const fresh = () => {
  const secretKey = new Uint8Array(randomBytes(32));
  return { secretKey, publicKey: ed25519PublicKey(secretKey) };
};

/** The runtime's path and the JavaScript one both give the reference's verdict. */
function agree(sig: Uint8Array, msg: Uint8Array, publicKey: Uint8Array, what: string): boolean {
  const want = reference(sig, msg, publicKey);
  assert.equal(verifyEd25519Strict(sig, msg, publicKey), want, what);
  assert.equal(verifyEd25519Strict(sig, msg, publicKey, false), want, `${what} (JavaScript)`);
  return want;
}

describe('envelope Ed25519', () => {
  test('signatures are byte for byte those of RFC 8032 (noble), and verify', () => {
    for (let i = 0; i < 50; i++) {
      const id = fresh();
      const msg = new Uint8Array(randomBytes(i % 3 === 0 ? 64 : i));
      const sig = ed25519Sign(id, msg);
      assert.deepEqual(sig, ed.sign(msg, id.secretKey));
      assert.equal(agree(sig, msg, id.publicKey, 'valid'), true);
    }
  });

  test('the public key the runtime signs under is derived from the seed alone', () => {
    const id = fresh();
    const other = fresh();
    const msg = new Uint8Array(randomBytes(64));
    const sig = ed25519Sign({ secretKey: id.secretKey, publicKey: other.publicKey }, msg);
    assert.equal(verifyEd25519Strict(sig, msg, id.publicKey), true);
  });

  test('every single-bit change of signature, message or key gives the reference verdict (false)', () => {
    const id = fresh();
    const msg = new Uint8Array(randomBytes(64));
    const sig = ed25519Sign(id, msg);
    for (let bit = 0; bit < 512; bit++) {
      const bad = sig.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      assert.equal(agree(bad, msg, id.publicKey, `sig bit ${bit}`), false);
    }
    for (let bit = 0; bit < 512; bit += 7) {
      const bad = msg.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      assert.equal(agree(sig, bad, id.publicKey, `msg bit ${bit}`), false);
    }
    for (let bit = 0; bit < 256; bit++) {
      const bad = id.publicKey.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      assert.equal(agree(sig, msg, bad, `key bit ${bit}`), false);
    }
    assert.equal(agree(sig, msg, fresh().publicKey, 'another key'), false);
  });

  test('S ≥ L is refused: the malleated S + L, S = L, and the largest S', () => {
    const id = fresh();
    const msg = new Uint8Array(randomBytes(64));
    const sig = ed25519Sign(id, msg);
    const S = bytesToBig(sig.subarray(32).slice().reverse());
    for (const s of [S + L, L, 2n ** 256n - 1n]) {
      if (s >= 2n ** 256n) continue;
      const bad = concatBytes(sig.subarray(0, 32), le(s));
      assert.equal(agree(bad, msg, id.publicKey, `S = ${s}`), false);
    }
  });

  test('non-canonical, off-curve and small-order R encodings are refused', () => {
    const id = fresh();
    const msg = new Uint8Array(randomBytes(64));
    const sig = ed25519Sign(id, msg);
    const Rs = [
      le(P), // y = p: non-canonical 0
      le(P + 1n), // y = p + 1: non-canonical 1 (the identity)
      le(2n ** 255n - 1n), // the largest y
      concatBytes(le(1n).subarray(0, 31), Uint8Array.of(0x80)), // the identity with x's sign bit set
      le(1n), // the identity
      le(P - 1n), // (0, −1), order 2
      le(2n), // y = 2 is not on the curve
    ];
    for (const [i, R] of Rs.entries()) {
      const bad = concatBytes(R, sig.subarray(32));
      assert.equal(agree(bad, msg, id.publicKey, `R #${i}`), false);
    }
  });

  test('a small-order key is refused, where the bare equation would accept a forgery', () => {
    const identity = le(1n); // A = O: [S]B = R + [k]O holds for R = [S]B, whatever the message
    const S = 12345n;
    const forged = concatBytes(ed.Point.BASE.multiply(S).toBytes(), le(S));
    const msg = new Uint8Array(randomBytes(64));
    assert.equal(reference(forged, msg, identity), true, 'the bare equation accepts it');
    for (const native of [true, false]) {
      assert.equal(verifyEd25519Strict(forged, msg, identity, native), false);
      assert.equal(verifyEd25519Strict(forged, msg, le(P - 1n), native), false); // (0, −1), order 2
    }
  });

  test('wrong lengths are refused', () => {
    const id = fresh();
    const msg = new Uint8Array(randomBytes(64));
    const sig = ed25519Sign(id, msg);
    assert.equal(verifyEd25519Strict(sig.subarray(0, 63), msg, id.publicKey), false);
    assert.equal(verifyEd25519Strict(concatBytes(sig, Uint8Array.of(0)), msg, id.publicKey), false);
    assert.equal(verifyEd25519Strict(sig, msg, id.publicKey.subarray(0, 31)), false);
  });
});
