// The coordinator's own check of a signature from the signer before it stores a signed transaction: low-s, and
// recovery with its recovery id to the wallet's key (which is ECDSA verification, and pins the transaction's sender).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SECP256K1_N, secp } from '@tandem/tecdsa/curve';
import { recoversTo } from '../src/withdrawals/signatureCheck.ts';

test('a signature counts only if it is low-s and recovers, with its own recovery id, to the wallet key', () => {
  const key = secp.utils.randomSecretKey();
  const wallet = secp.getPublicKey(key, true);
  const other = secp.getPublicKey(secp.utils.randomSecretKey(), true);
  for (let i = 0; i < 8; i++) {
    const digest = randomBytes(32);
    const raw = secp.sign(digest, key, { prehash: false, format: 'recovered' });
    const parsed = secp.Signature.fromBytes(raw, 'recovered');
    const sig = { r: parsed.r, s: parsed.s, recid: parsed.recovery as 0 | 1 };
    assert.equal(recoversTo(sig, digest, wallet), true);
    assert.equal(recoversTo(sig, randomBytes(32), wallet), false, 'another digest');
    assert.equal(recoversTo(sig, digest, other), false, 'another wallet');
    assert.equal(
      recoversTo({ ...sig, recid: (1 - sig.recid) as 0 | 1 }, digest, wallet),
      false,
      'the other recovery id',
    );
    assert.equal(recoversTo({ ...sig, s: SECP256K1_N - sig.s }, digest, wallet), false, 'high s');
    assert.equal(recoversTo({ ...sig, r: 0n }, digest, wallet), false);
    assert.equal(recoversTo({ ...sig, s: 0n }, digest, wallet), false);
    assert.equal(recoversTo({ ...sig, r: SECP256K1_N }, digest, wallet), false);
  }
});

test("the check agrees with recovery before and after the wallet key's table is built, and refuses a key that is no point", async () => {
  const key = secp.utils.randomSecretKey();
  const wallet = secp.getPublicKey(key, true);
  const sigs = Array.from({ length: 24 }, () => {
    const digest = randomBytes(32);
    const p = secp.Signature.fromBytes(secp.sign(digest, key, { prehash: false, format: 'recovered' }), 'recovered');
    return { digest, sig: { r: p.r, s: p.s, recid: p.recovery as 0 | 1 } };
  });
  const first = sigs.map(({ sig, digest }) => recoversTo(sig, digest, wallet));
  await new Promise((r) => setImmediate(r)); // the table is built off the signing path
  const later = sigs.map(({ sig, digest }) => recoversTo(sig, digest, wallet));
  assert.deepEqual(first, Array(24).fill(true));
  assert.deepEqual(later, Array(24).fill(true));
  for (const { sig, digest } of sigs.slice(0, 4)) {
    assert.equal(recoversTo({ ...sig, recid: (1 - sig.recid) as 0 | 1 }, digest, wallet), false);
    assert.equal(recoversTo(sig, digest.subarray(0, 31), wallet), false, 'a digest that is not 32 bytes');
    const notAPoint = Uint8Array.from([2, ...Array(32).fill(0xff)]);
    assert.equal(recoversTo(sig, digest, notAPoint), false, 'a malformed wallet key');
  }
});
