// §8.4 step 7 as one double multiplication (signatureMatches) against the step as written: ECDSA
// verification (low-s) and public-key recovery with the recovery id, both by @noble/secp256k1, an
// implementation independent of the one signatureMatches runs on. Same verdict on honest
// signatures and on every defect.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import * as secp from '@noble/secp256k1';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { Point, SECP256K1_N } from '../src/curve.ts';
import { signatureMatches, type Signature } from '../src/sign.ts';

secp.hashes.sha256 = sha256;
secp.hashes.hmacSha256 = (k: Uint8Array, m: Uint8Array) => hmac(sha256, k, m);

/** The step as PROTOCOL.md §8.4 writes it. */
function asWritten(sig: Signature, m32: Uint8Array, Q: Uint8Array): boolean {
  try {
    const ok = secp.verify(new secp.Signature(sig.r, sig.s).toBytes('compact'), m32, Q, {
      prehash: false,
      lowS: true,
    });
    const rec = secp.recoverPublicKey(new secp.Signature(sig.r, sig.s, sig.recid).toBytes('recovered'), m32, {
      prehash: false,
    });
    return ok && Buffer.from(rec).equals(Buffer.from(Q));
  } catch {
    return false;
  }
}

function agree(sig: Signature, m32: Uint8Array, Q: Uint8Array, what: string): boolean {
  const want = asWritten(sig, m32, Q);
  assert.equal(signatureMatches(sig, m32, Point.fromBytes(Q)), want, what);
  return want;
}

test('honest signatures match, and every kind of defect gives the same verdict as verify + recover', () => {
  for (let i = 0; i < 40; i++) {
    const key = secp.utils.randomSecretKey();
    const Q = secp.getPublicKey(key, true);
    const m32 = new Uint8Array(randomBytes(32));
    const p = secp.Signature.fromBytes(secp.sign(m32, key, { prehash: false, format: 'recovered' }), 'recovered');
    const sig: Signature = { r: p.r, s: p.s, recid: p.recovery as 0 | 1 };
    assert.equal(agree(sig, m32, Q, 'honest'), true);
    const other = secp.getPublicKey(secp.utils.randomSecretKey(), true);
    const cases: [string, Signature, Uint8Array, Uint8Array][] = [
      ['the other recovery id', { ...sig, recid: (1 - sig.recid) as 0 | 1 }, m32, Q],
      ['high s', { ...sig, s: SECP256K1_N - sig.s }, m32, Q],
      [
        'high s with the other id (verifies as plain ECDSA)',
        { ...sig, s: SECP256K1_N - sig.s, recid: (1 - sig.recid) as 0 | 1 },
        m32,
        Q,
      ],
      ['r + 1', { ...sig, r: sig.r + 1n }, m32, Q],
      ['s + 1', { ...sig, s: sig.s + 1n }, m32, Q],
      ['r = 0', { ...sig, r: 0n }, m32, Q],
      ['s = 0', { ...sig, s: 0n }, m32, Q],
      ['r = n', { ...sig, r: SECP256K1_N }, m32, Q],
      ['another digest', sig, new Uint8Array(randomBytes(32)), Q],
      ['another key', sig, m32, other],
    ];
    for (const [what, s, m, key2] of cases) assert.equal(agree(s, m, key2, what), false, what);
  }
});

test('recovery ids other than 0 and 1, and digests that are not 32 bytes, never match', () => {
  const key = secp.utils.randomSecretKey();
  const Q = Point.fromBytes(secp.getPublicKey(key, true));
  const m32 = new Uint8Array(randomBytes(32));
  const p = secp.Signature.fromBytes(secp.sign(m32, key, { prehash: false, format: 'recovered' }), 'recovered');
  const sig: Signature = { r: p.r, s: p.s, recid: p.recovery as 0 | 1 };
  assert.equal(signatureMatches(sig, m32, Q), true);
  assert.equal(signatureMatches({ ...sig, recid: (sig.recid + 2) as 0 | 1 }, m32, Q), false);
  assert.equal(signatureMatches(sig, m32.subarray(0, 31), Q), false);
  assert.equal(signatureMatches(sig, new Uint8Array([...m32, 0]), Q), false);
});
