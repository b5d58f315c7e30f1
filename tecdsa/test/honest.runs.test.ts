// Many honest DKG + signing runs (PROTOCOL.md §13.2 property tests, test profile, plus one
// at full size): every signature valid and low-s, recovers to the DKG's address through an
// independent stack (noble-curves and viem), every r distinct; every honest proof verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { recoverAddress, type Hex } from 'viem';
import { bytesToHex } from '../src/bytes.ts';
import { HALF_N } from '../src/curve.ts';
import { ethereumAddress } from '../src/address.ts';
import { FULL, TEST } from '../src/params.ts';
import { seededRng } from '../src/rng.ts';
import { runDkg, runSign } from '../src/runLocal.ts';
import { precomputeEncryptionMask, type Signature } from '../src/sign.ts';
import { encodeP1Share, encodeP2Share, parseP1Share, parseP2Share } from '../src/shares.ts';
import { parties, ringPedersenFor, mp } from './helpers.ts';

const h = (x: bigint) => `0x${x.toString(16).padStart(64, '0')}` as Hex;

async function checkSignature(sig: Signature, m32: Uint8Array, Qc: Uint8Array, address: string) {
  assert.ok(sig.s >= 1n && sig.s <= HALF_N, 'low-s');
  assert.ok(sig.recid === 0 || sig.recid === 1);
  const compact = secp256k1.Signature.fromHex(h(sig.r).slice(2) + h(sig.s).slice(2)).toBytes('compact');
  assert.ok(secp256k1.verify(compact, m32, Qc, { prehash: false, lowS: true }));
  const recovered = await recoverAddress({
    hash: `0x${bytesToHex(m32)}`,
    signature: { r: h(sig.r), s: h(sig.s), yParity: sig.recid },
  });
  assert.equal(recovered, address);
}

test('8 DKGs × 12 signatures at the test profile: all valid, low-s, recoverable, distinct r', async () => {
  const rs = new Set<bigint>();
  for (let k = 0; k < 8; k++) {
    const l = parties(TEST, seededRng(`honest/${k}`));
    const dkg = await runDkg(l, ringPedersenFor(TEST), { requestId: l.rng.bytes(32), walletId: l.rng.bytes(32) });
    const address = ethereumAddress(dkg.share1.Q);
    assert.equal(bytesToHex(dkg.share1.keyId), bytesToHex(dkg.share2.keyId));
    for (let i = 0; i < 12; i++) {
      const m32 = l.rng.bytes(32);
      const mask = i % 2 ? precomputeEncryptionMask(l, dkg.share2.N) : undefined;
      const { signature } = await runSign(l, dkg, m32, l.rng.bytes(32), { encryptionMask: mask });
      await checkSignature(signature, m32, dkg.share1.Q.toBytes(true), address);
      rs.add(signature.r);
    }
  }
  assert.equal(rs.size, 96);
});

test('full-size DKG and 3 signatures; shares survive their blob round trip', async () => {
  const l = parties(FULL, seededRng('honest/full'));
  const dkg = await runDkg(l, ringPedersenFor(FULL), { requestId: l.rng.bytes(32), walletId: l.rng.bytes(32) });
  const share1 = parseP1Share(encodeP1Share(dkg.share1), mp);
  const share2 = parseP2Share(encodeP2Share(dkg.share2));
  assert.deepEqual(encodeP1Share(share1), encodeP1Share(dkg.share1));
  assert.deepEqual(encodeP2Share(share2), encodeP2Share(dkg.share2));
  const address = ethereumAddress(share2.Q);
  for (let i = 0; i < 3; i++) {
    const m32 = l.rng.bytes(32);
    const { signature } = await runSign(l, { share1, share2 }, m32, l.rng.bytes(32));
    await checkSignature(signature, m32, share1.Q.toBytes(true), address);
  }
});

test('a seeded run replays byte for byte', async () => {
  const run = async () => {
    const l = parties(TEST, seededRng('replay'));
    const dkg = await runDkg(l, ringPedersenFor(TEST), { requestId: l.rng.bytes(32), walletId: l.rng.bytes(32) });
    const s = await runSign(l, dkg, l.rng.bytes(32), l.rng.bytes(32));
    return [...dkg.envelopes, ...s.envelopes].map((e) => bytesToHex(e.body) + bytesToHex(e.sig)).join('|');
  };
  assert.equal(await run(), await run());
});
