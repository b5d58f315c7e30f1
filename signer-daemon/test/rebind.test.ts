// RebindDevice: a keyset moved to another workstation with a rebind permit, over the real gRPC
// server and mutual TLS, after a real DKG. Once moved, only the new workstation's identity signs;
// the permit is spent once (a retry after a lost answer is idempotent), every refusal has its
// code and changes nothing, and a signing permit's MAC is never a rebind permit's.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { recoverAddress, type Hex } from 'viem';
import { txDigest } from '@tandem/tecdsa/txDigest';
import { permitMac, rebindPermitMac } from '@tandem/proto/permit';
import { type Keyset, type RebindPermit } from '@tandem/proto/mpc';
import {
  Device,
  call,
  devPermitKey,
  envBytes,
  issuePermit,
  issueRebindPermit,
  parseEnv,
  refused,
  signThrough,
  signUpToSign5,
  startTestSigner,
  type TestSigner,
} from './harness.ts';
import { isDeviceKey } from '../src/permits/checkPermit.ts';

let t: TestSigner;
let signerKey: Buffer;
/** The workstation that ran the DKG of KS. */
let oldDevice: Device;
const KS = 'rebind-ks';
const OTHER = 'rebind-other';
const FROZEN = 'rebind-frozen';
const message = Buffer.from('rebind tests');
const m32 = txDigest({ type: 'personal', message });
const payload = { personalMessage: message };

before(async () => {
  t = await startTestSigner();
  signerKey = (await call<{ identityPublicKey: Buffer }>(t.client, 'getSignerInfo', {})).identityPublicKey;
  oldDevice = new Device(signerKey);
  await oldDevice.dkg(t.client, KS);
  await new Device(signerKey).dkg(t.client, OTHER);
  await new Device(signerKey).dkg(t.client, FROZEN);
});
after(async () => {
  t.client.close();
  await t.signer.close();
});

const key = () => devPermitKey(t.dataDir);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The same key share restored on another workstation: a new Ed25519 identity. */
function restoredOn(from: Device): Device {
  const d = new Device(signerKey);
  d.share = from.share;
  return d;
}

const rebind = (permit: RebindPermit | undefined, keysetId = KS) =>
  call<{ keyset: Keyset }>(t.client, 'rebindDevice', { keysetId, permit });
const boundKey = async (keysetId = KS) =>
  hex((await call<{ keyset: Keyset }>(t.client, 'getKeyset', { keysetId })).keyset.devicePublicKey);
const sign = (device: Device, keysetId = KS) =>
  signThrough(t.client, device, keysetId, m32, payload, issuePermit(key(), { keysetId, txHash: m32 }));
const rebinds = (keysetId = KS) =>
  t.signer.ctx.audit.entries().filter((e) => e.subject === keysetId && e.action === 'keyset.device_rebound');
const usedRow = (permitId: string) =>
  t.signer.ctx.db.prepare('SELECT keyset_id, tx_request_id FROM used_permits WHERE permit_id = ?').get(permitId) as
    { keyset_id: string; tx_request_id: string } | undefined;

/** Everything a rebind may change, to show a refusal changed none of it. */
function snapshot() {
  const c = t.signer.ctx;
  return {
    keysets: c.keysets.list().map((k) => ({ id: k.keysetId, device: hex(k.devicePublicKey), at: k.updatedAtMs })),
    usedPermits: (c.db.prepare('SELECT COUNT(*) AS n FROM used_permits').get() as { n: number }).n,
    audit: c.audit.entries().length,
  };
}

async function refusedUnchanged(p: () => Promise<unknown>, code: string): Promise<void> {
  const before = snapshot();
  await refused(p(), code);
  assert.deepEqual(snapshot(), before, `${code}: nothing changed`);
}

/** Re-MACs a rebind permit after changing fields, so only the changed field is wrong. */
function remac(p: RebindPermit, secret: Uint8Array = key().secret): RebindPermit {
  return { ...p, mac: rebindPermitMac(secret, p) };
}

async function assertSignedBy(keysetId: string, fromSigner: { r: Buffer; s: Buffer; recoveryId: number }) {
  const { keyset } = await call<{ keyset: Keyset }>(t.client, 'getKeyset', { keysetId });
  const recovered = await recoverAddress({
    hash: `0x${hex(m32)}` as Hex,
    signature: { r: `0x${hex(fromSigner.r)}`, s: `0x${hex(fromSigner.s)}`, yParity: fromSigner.recoveryId },
  });
  assert.equal(recovered, keyset.address);
}

let newDevice: Device;
let firstPermit: RebindPermit;

test('a valid permit moves the keyset: only the new workstation signs from then on', async () => {
  newDevice = restoredOn(oldDevice);
  const oldKey = hex(oldDevice.identity.publicKey);
  assert.equal(await boundKey(), oldKey);
  // A session the old workstation opened before the move keeps its key to the end.
  const running = await signUpToSign5(
    t.client,
    oldDevice,
    KS,
    m32,
    payload,
    issuePermit(key(), { keysetId: KS, txHash: m32 }),
  );

  firstPermit = issueRebindPermit(key(), { keysetId: KS, devicePublicKey: newDevice.identity.publicKey });
  const { keyset } = await rebind(firstPermit);
  assert.equal(hex(keyset.devicePublicKey), hex(newDevice.identity.publicKey));
  assert.equal(await boundKey(), hex(newDevice.identity.publicKey));
  assert.equal(t.signer.ctx.keysets.get(KS)!.status, 'ACTIVE');

  const entries = rebinds();
  assert.equal(entries.length, 1);
  assert.equal(entries[0]!.actor, 'coordinator');
  assert.deepEqual(entries[0]!.details, {
    permitId: firstPermit.permitId,
    keyId: firstPermit.keyId,
    from: oldKey,
    to: hex(newDevice.identity.publicKey),
  });
  assert.deepEqual(usedRow(firstPermit.permitId), { keyset_id: KS, tx_request_id: `rebind/${firstPermit.permitId}` });
  assert.equal(t.signer.ctx.audit.verify().ok, true);

  const f = await call<{ envelope: Buffer; signature: { r: Buffer; s: Buffer; recoveryId: number } }>(
    t.client,
    'finalizeSigning',
    { sessionId: running.sessionId, envelope: envBytes(running.sign5) },
  );
  assert.ok((await running.p2.receive(parseEnv(f.envelope))).result);
  await assertSignedBy(KS, f.signature);

  await refused(sign(oldDevice), 'E_AUTH');
  const { fromSigner } = await sign(newDevice);
  await assertSignedBy(KS, fromSigner);
  assert.match(t.signer.ctx.metrics.render(), /signer_keyset_rebinds_total 1\b/);
});

test('the same permit again succeeds without a change (a retry after a lost answer)', async () => {
  const before = snapshot();
  const { keyset } = await rebind(firstPermit);
  assert.equal(hex(keyset.devicePublicKey), hex(newDevice.identity.publicKey));
  assert.deepEqual(snapshot(), before);
  // Concurrent retries too: one binding, one audit entry.
  const all = await Promise.all(Array.from({ length: 20 }, () => rebind(firstPermit)));
  for (const r of all) assert.equal(hex(r.keyset.devicePublicKey), hex(newDevice.identity.publicKey));
  assert.deepEqual(snapshot(), before);
  assert.equal(rebinds().length, 1);
});

test('after a second move, the first permit is PERMIT_REPLAYED; both survive a restart', async () => {
  const third = restoredOn(oldDevice);
  const second = issueRebindPermit(key(), { keysetId: KS, devicePublicKey: third.identity.publicKey });
  await rebind(second);
  assert.equal(await boundKey(), hex(third.identity.publicKey));
  await refusedUnchanged(() => rebind(firstPermit), 'PERMIT_REPLAYED');
  assert.equal(await boundKey(), hex(third.identity.publicKey));

  t.client.close();
  await t.signer.close();
  t = await startTestSigner(t.dataDir);
  assert.equal(await boundKey(), hex(third.identity.publicKey));
  await refusedUnchanged(() => rebind(firstPermit), 'PERMIT_REPLAYED');
  await rebind(second); // still the idempotent retry
  await refused(sign(newDevice), 'E_AUTH');
  await assertSignedBy(KS, (await sign(third)).fromSigner);
  newDevice = third;
  assert.equal(rebinds().length, 2);
});

test('a fresh permit for the key already bound is spent and audited, changing nothing else', async () => {
  const p = issueRebindPermit(key(), { keysetId: KS, devicePublicKey: newDevice.identity.publicKey });
  await rebind(p);
  assert.equal(await boundKey(), hex(newDevice.identity.publicKey));
  const last = rebinds().at(-1)!;
  assert.equal(last.details.permitId, p.permitId);
  assert.equal(last.details.from, last.details.to);
  assert.ok(usedRow(p.permitId));
});

test('a rebind permit cannot reuse a spent signing permit id', async () => {
  const signing = issuePermit(key(), { keysetId: KS, txHash: m32 });
  await signThrough(t.client, newDevice, KS, m32, payload, signing);
  const p = issueRebindPermit(key(), {
    keysetId: KS,
    devicePublicKey: newDevice.identity.publicKey, // even for the key already bound
    permitId: signing.permitId,
  });
  await refusedUnchanged(() => rebind(p), 'PERMIT_REPLAYED');
});

test('missing, forged, unknown-key, expired, future, too-long and misdirected permits are refused', async () => {
  const to = restoredOn(oldDevice).identity.publicKey;
  const good = issueRebindPermit(key(), { keysetId: KS, devicePublicKey: to });
  const flipped = Buffer.from(good.mac);
  flipped[0]! ^= 1;
  const now = Date.now();
  const cases: [string, () => Promise<unknown>, string][] = [
    ['missing', () => rebind(undefined), 'PERMIT_INVALID'],
    ['flipped MAC', () => rebind({ ...good, mac: flipped }), 'PERMIT_INVALID'],
    ['short MAC', () => rebind({ ...good, mac: Buffer.alloc(31) }), 'PERMIT_INVALID'],
    ['MAC under a key we do not share', () => rebind(remac(good, randomBytes(32))), 'PERMIT_INVALID'],
    ['field changed after MACing', () => rebind({ ...good, expiresAtMs: good.expiresAtMs + 1n }), 'PERMIT_INVALID'],
    [
      'device key changed after MACing',
      () => rebind({ ...good, devicePublicKey: Buffer.from(signerKey) }),
      'PERMIT_INVALID',
    ],
    ['malformed id', () => rebind(remac({ ...good, permitId: 'has space' })), 'PERMIT_INVALID'],
    ['unknown key id', () => rebind(remac({ ...good, keyId: 'pk-unknown' })), 'PERMIT_KEY_UNKNOWN'],
    [
      'expired',
      () => rebind(issueRebindPermit(key(), { keysetId: KS, devicePublicKey: to, issuedAtMs: now - 70_000 })),
      'PERMIT_EXPIRED',
    ],
    [
      'issued in the future',
      () => rebind(issueRebindPermit(key(), { keysetId: KS, devicePublicKey: to, issuedAtMs: now + 60_000 })),
      'PERMIT_NOT_YET_VALID',
    ],
    [
      'TTL too long',
      () => rebind(issueRebindPermit(key(), { keysetId: KS, devicePublicKey: to, ttlMs: 120_001 })),
      'PERMIT_TTL_TOO_LONG',
    ],
    [
      'for another keyset',
      () => rebind(issueRebindPermit(key(), { keysetId: OTHER, devicePublicKey: to })),
      'PERMIT_KEYSET_MISMATCH',
    ],
    [
      'unknown keyset',
      () => rebind(issueRebindPermit(key(), { keysetId: 'rebind-nope', devicePublicKey: to }), 'rebind-nope'),
      'KEYSET_NOT_FOUND',
    ],
    ['malformed keyset id', () => rebind(good, 'no spaces allowed'), 'BAD_REQUEST'],
  ];
  for (const [name, run, code] of cases) await refusedUnchanged(run, code).catch((e) => assert.fail(`${name}: ${e}`));
  // None of these spent the good permit.
  await rebind(good);
  assert.equal(await boundKey(), hex(to));
});

test('a permit naming a malformed device key is refused even with a valid MAC', async () => {
  const p = (devicePublicKey: Uint8Array) => issueRebindPermit(key(), { keysetId: KS, devicePublicKey });
  const le = (y: number) => Buffer.concat([Buffer.of(y), Buffer.alloc(31)]);
  const malformed: [string, Uint8Array][] = [
    ['31 bytes', randomBytes(31)],
    ['33 bytes', Buffer.concat([Buffer.from(newDevice.identity.publicKey), Buffer.of(0)])],
    ['empty', Buffer.alloc(0)],
    ['y = 2: not on the curve', le(2)],
    ['y = p: a non-canonical encoding', Buffer.concat([Buffer.of(0xed), Buffer.alloc(30, 0xff), Buffer.of(0x7f)])],
    ['the identity point (small order)', le(1)],
    ['all zero (a point of order 4)', Buffer.alloc(32)],
    ['y = 3: a point outside the prime-order subgroup', le(3)],
  ];
  for (const [name, bytes] of malformed) {
    if (bytes.length === 32) assert.equal(isDeviceKey(bytes), false, name);
    await refusedUnchanged(() => rebind(p(bytes)), 'PERMIT_INVALID').catch((e) => assert.fail(`${name}: ${e}`));
  }
  assert.equal(isDeviceKey(newDevice.identity.publicKey), true);
});

test('a signing permit MAC never passes as a rebind permit, nor the other way round', async () => {
  const to = restoredOn(oldDevice).identity.publicKey;
  const issued = BigInt(Date.now());
  const ids = {
    permitId: `cross-${randomBytes(6).toString('hex')}`,
    keysetId: KS,
    issuedAtMs: issued,
    expiresAtMs: issued + 60_000n,
    keyId: key().keyId,
  };
  // Same ids and times, the device key in tx_hash's place: the signing permit's MAC.
  const signingMac = permitMac(key().secret, { ...ids, txRequestId: 'wd-cross', txHash: Buffer.from(to) });
  await refusedUnchanged(() => rebind({ ...ids, devicePublicKey: Buffer.from(to), mac: signingMac }), 'PERMIT_INVALID');
  // And a rebind permit's MAC on a signing permit (refused before anything is spent).
  const rebindMac = rebindPermitMac(key().secret, { ...ids, devicePublicKey: Buffer.from(m32) });
  const crossed = { ...ids, txRequestId: 'wd-cross', txHash: Buffer.from(m32), mac: rebindMac };
  await refusedUnchanged(() => signThrough(t.client, newDevice, KS, m32, payload, crossed), 'PERMIT_INVALID');
});

test('a frozen keyset is never moved, a retired one neither; the refused permit stays unspent', async () => {
  const ks = t.signer.ctx.keysets;
  const to = restoredOn(oldDevice).identity.publicKey;
  const p = issueRebindPermit(key(), { keysetId: FROZEN, devicePublicKey: to });
  ks.freeze(FROZEN, Date.now()); // what a failure past decryption does (freeze.test.ts drives the real one)
  assert.equal(ks.get(FROZEN)!.status, 'FROZEN');
  await refusedUnchanged(() => rebind(p, FROZEN), 'KEYSET_FROZEN');
  ks.unfreeze(FROZEN, Date.now());
  await rebind(p, FROZEN);
  assert.equal(await boundKey(FROZEN), hex(to));
  assert.equal(ks.freeze(FROZEN, Date.now()), 'RETIRED'); // the second lifetime failure
  await refusedUnchanged(
    () => rebind(issueRebindPermit(key(), { keysetId: FROZEN, devicePublicKey: newDevice.identity.publicKey }), FROZEN),
    'KEYSET_RETIRED',
  );
  assert.equal(await boundKey(FROZEN), hex(to));
});

test('refusals are counted in the metrics', () => {
  const body = t.signer.ctx.metrics.render();
  assert.match(body, /signer_permit_refusals_total\{code="PERMIT_REPLAYED"\} \d+/);
  assert.match(body, /signer_rpc_errors_total\{code="KEYSET_FROZEN",method="RebindDevice"\} 1\b/);
});
