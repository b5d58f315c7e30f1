// Permits (DESIGN.md "Signing permits"): every way a permit can be wrong has its own code, and
// a permit signs at most once — under 50 concurrent uses and after a restart.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { txDigest } from '@tandem/tecdsa/txDigest';
import { permitMac } from '@tandem/proto/permit';
import {
  call,
  CallFailed,
  Device,
  devPermitKey,
  issuePermit,
  newDevice,
  refused,
  signerWithKeyset,
  signThrough,
  startTestSigner,
  stopTestSigner,
  type TestSigner,
} from './harness.ts';
import { type SigningPermit } from '@tandem/proto/mpc';

let t: TestSigner;
let device: Device;
const KS = 'permits-ks';
const message = Buffer.from('permit tests');
const m32 = txDigest({ type: 'personal', message });

before(async () => {
  ({ t, device } = await signerWithKeyset(KS));
  await (await newDevice(t.client)).dkg(t.client, 'permits-other');
});
after(() => stopTestSigner(t));

const key = () => devPermitKey(t.dataDir);
const start = (permit: SigningPermit, keysetId = KS, payload: object = { personalMessage: message }) =>
  signThrough(t.client, device, keysetId, m32, payload, permit);

/** Re-MACs a permit after changing fields, so only the changed field is wrong. */
function remac(p: SigningPermit, secret = key().secret): SigningPermit {
  return { ...p, mac: permitMac(secret, p) };
}

test('an honest permit signs', async () => {
  const { signature } = await start(issuePermit(key(), { keysetId: KS, txHash: m32 }));
  assert.ok(signature.s > 0n);
});

test('forged MAC, wrong key id, malformed and missing permits are refused', async () => {
  const good = issuePermit(key(), { keysetId: KS, txHash: m32 });
  const flipped = Buffer.from(good.mac);
  flipped[0]! ^= 1;
  await refused(start({ ...good, mac: flipped }), 'PERMIT_INVALID');
  await refused(start(remac(good, randomBytes(32))), 'PERMIT_INVALID'); // MAC under a key we do not share
  await refused(start(remac({ ...good, keyId: 'pk-unknown' })), 'PERMIT_KEY_UNKNOWN');
  await refused(start({ ...good, mac: Buffer.alloc(31) }), 'PERMIT_INVALID');
  await refused(start(remac({ ...good, permitId: 'has space' })), 'PERMIT_INVALID');
  // A field changed after MACing: the MAC covers every field.
  await refused(start({ ...good, txRequestId: 'wd-other' }), 'PERMIT_INVALID');
  await refused(start({ ...good, expiresAtMs: good.expiresAtMs + 1n }), 'PERMIT_INVALID');
  await refused(
    call(t.client, 'startSigning', { keysetId: KS, personalMessage: message, envelope: Buffer.from('{}') }),
    'PERMIT_INVALID',
  );
});

test('expired, not yet valid and too-long permits are refused', async () => {
  const now = Date.now();
  await refused(start(issuePermit(key(), { keysetId: KS, txHash: m32, issuedAtMs: now - 70_000 })), 'PERMIT_EXPIRED');
  await refused(
    start(issuePermit(key(), { keysetId: KS, txHash: m32, issuedAtMs: now + 60_000 })),
    'PERMIT_NOT_YET_VALID',
  );
  await refused(start(issuePermit(key(), { keysetId: KS, txHash: m32, ttlMs: 120_001 })), 'PERMIT_TTL_TOO_LONG');
  await refused(start(issuePermit(key(), { keysetId: KS, txHash: m32, ttlMs: 0 })), 'PERMIT_EXPIRED');
});

test('a permit for another keyset or another digest is refused', async () => {
  await refused(start(issuePermit(key(), { keysetId: 'permits-other', txHash: m32 })), 'PERMIT_KEYSET_MISMATCH');
  await refused(start(issuePermit(key(), { keysetId: KS, txHash: randomBytes(32) })), 'PERMIT_HASH_MISMATCH');
  // The digest is the signer's own: a permit for this message does not cover another one.
  await refused(
    start(issuePermit(key(), { keysetId: KS, txHash: m32 }), KS, { personalMessage: Buffer.from('other') }),
    'PERMIT_HASH_MISMATCH',
  );
});

test('50 concurrent uses of one permit: exactly one signs, 49 are PERMIT_REPLAYED', async () => {
  const permit = issuePermit(key(), { keysetId: KS, txHash: m32 });
  const results = await Promise.allSettled(Array.from({ length: 50 }, () => start(permit)));
  const ok = results.filter((r) => r.status === 'fulfilled');
  const codes = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as CallFailed).code] : []));
  assert.equal(ok.length, 1);
  assert.deepEqual(new Set(codes), new Set(['PERMIT_REPLAYED']));
  assert.equal(codes.length, 49);
});

test('a permit used before a restart is refused after it', async () => {
  const permit = issuePermit(key(), { keysetId: KS, txHash: m32 });
  await start(permit);
  t.client.close();
  await t.signer.close();
  t = await startTestSigner(t.dataDir);
  await refused(start(permit), 'PERMIT_REPLAYED');
  await start(issuePermit(key(), { keysetId: KS, txHash: m32 }));
});

test('refusals are counted in the metrics', async () => {
  const body = t.signer.ctx.metrics.render();
  assert.match(body, /signer_permit_refusals_total\{code="PERMIT_REPLAYED"\} \d+/);
});
