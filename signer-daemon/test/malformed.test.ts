// Malformed input of every kind against each RPC (PROTOCOL.md §10, §9.2 class A): broken
// envelopes, bodies that are cut short or carry a trailing byte (re-signed by the device so they
// get past E_AUTH), envelopes signed by a stranger, messages of the wrong round or for another
// requestId, bad request fields and malformed SIGN-5 ciphertexts. Every refusal carries its
// stable code, the daemon keeps serving, and no keyset is ever frozen: none of this reaches a
// decryption.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { status as grpcStatus } from '@grpc/grpc-js';
import type Database from 'better-sqlite3';
import { type Envelope, identityFromSeed, signEnvelope } from '@tandem/tecdsa/envelope';
import { MAX_ENVELOPE_BYTES, frame, modLen } from '@tandem/tecdsa/encoding';
import { bigToBytes } from '@tandem/tecdsa/bytes';
import { encodeKg5 } from '@tandem/tecdsa/messages';
import { P2Keygen } from '@tandem/tecdsa/keygen';
import { txDigest } from '@tandem/tecdsa/txDigest';
import { systemRng } from '@tandem/tecdsa/rng';
import { FULL } from '@tandem/tecdsa/params';
import { KeysetStatus, type Keyset, type SigningPermit } from '@tandem/proto/mpc';
import {
  call,
  CallFailed,
  Device,
  devPermitKey,
  envBytes,
  issuePermit,
  mp,
  parseEnv,
  readDb,
  refused,
  ringPedersen,
  signerWithKeyset,
  signThrough,
  signUpToSign5,
  stopTestSigner,
  type TestSigner,
} from './harness.ts';

let t: TestSigner;
let device: Device;
let db: Database.Database;
const KS = 'malformed-ks';
const message = Buffer.from('malformed input tests');
const m32 = txDigest({ type: 'personal', message });
const payload = { personalMessage: message };
const stranger = identityFromSeed(randomBytes(32));

before(async () => {
  ({ t, device } = await signerWithKeyset(KS));
  db = readDb(t.dataDir);
});
after(async () => {
  db?.close();
  await stopTestSigner(t);
  if (t) rmSync(t.dataDir, { recursive: true, force: true }); // holds a KEK and a share
});

// ---------- helpers ----------

const permit = (): SigningPermit => issuePermit(devPermitKey(t.dataDir), { keysetId: KS, txHash: m32 });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The daemon still serves, and no keyset was frozen or retired by what just happened. */
async function healthy(): Promise<void> {
  const info = await call<{ identityPublicKey: Buffer }>(t.client, 'getSignerInfo', {});
  assert.equal(info.identityPublicKey.length, 32);
  const k = await call<{ keyset: Keyset }>(t.client, 'getKeyset', { keysetId: KS });
  assert.equal(k.keyset.status, KeysetStatus.KEYSET_STATUS_ACTIVE);
  const notActive = db.prepare("SELECT keyset_id, status FROM keysets WHERE status != 'ACTIVE'").all();
  assert.deepEqual(notActive, [], 'no keyset is frozen or retired');
  const pending = db.prepare("SELECT session_id FROM sign_sessions WHERE state IN ('DECRYPT_PENDING', 'FROZE')").all();
  assert.deepEqual(pending, [], 'no session reached decryption');
}

/** The call fails with `code` (tandem-error-code trailer), then the daemon is checked. */
async function rejects(p: Promise<unknown>, code: string): Promise<CallFailed> {
  const e = await refused(p, code);
  await healthy();
  return e;
}

/** One row as a plain object ({} when there is none), ready for deepEqual. */
const rowOf = (sql: string, key: Uint8Array) => ({ ...(db.prepare(sql).get(key) as object | undefined) });
const signRow = (requestId: Uint8Array): { state?: string; error_code?: string | null } =>
  rowOf('SELECT state, error_code FROM sign_sessions WHERE request_id = ?', requestId);
const dkgRow = (requestId: Uint8Array): { state?: string; error_code?: string | null; keyset_id?: string } =>
  rowOf('SELECT state, error_code, keyset_id FROM dkg_sessions WHERE request_id = ?', requestId);
const permitUsed = (p: SigningPermit) =>
  db.prepare('SELECT 1 FROM used_permits WHERE permit_id = ?').get(p.permitId) !== undefined;

/** The same envelope with some fields changed, signed again by the device (so it passes E_AUTH). */
function resign(env: Envelope, patch: Partial<Omit<Envelope, 'sig'>>, by = device.identity): Envelope {
  const { sig: _sig, ...unsigned } = env;
  void _sig;
  return signEnvelope(by, { ...unsigned, ...patch });
}

interface Case {
  name: string;
  bytes: Buffer;
  code: string;
}

/**
 * Envelopes that are refused before they reach the session's state machine, built from a
 * valid one: the session (if any) is unchanged afterwards.
 */
function brokenEnvelopes(env: Envelope): Case[] {
  const json = envBytes(env).toString('utf8');
  const fields = JSON.parse(json) as Record<string, unknown>;
  const nonUtf8 = Buffer.from(json);
  nonUtf8[json.indexOf('"body":"') + 10] = 0xff;
  const { sig: _sig, ...noSig } = fields;
  void _sig;
  const bytes = (o: unknown) => Buffer.from(JSON.stringify(o));
  return [
    { name: 'an empty envelope', bytes: Buffer.alloc(0), code: 'BAD_REQUEST' },
    { name: 'random bytes', bytes: randomBytes(600), code: 'E_DECODE' },
    { name: 'bytes that are not UTF-8', bytes: nonUtf8, code: 'E_DECODE' },
    { name: 'JSON without the sig field', bytes: bytes(noSig), code: 'E_DECODE' },
    { name: 'JSON with an extra field', bytes: bytes({ ...fields, note: 'x' }), code: 'E_DECODE' },
    { name: 'JSON with a duplicate key', bytes: Buffer.from(json.replace('{', '{"round":1,')), code: 'E_DECODE' },
    { name: 'JSON with v = 2', bytes: bytes({ ...fields, v: 2 }), code: 'E_DECODE' },
    { name: 'a body that is not base64url', bytes: bytes({ ...fields, body: 'a+b/' }), code: 'E_DECODE' },
    { name: 'a JSON array', bytes: Buffer.from(`[${json}]`), code: 'E_DECODE' },
    {
      name: 'an envelope over 256 KiB',
      bytes: Buffer.from(' '.repeat(MAX_ENVELOPE_BYTES + 1 - Buffer.byteLength(json)) + json),
      code: 'MESSAGE_TOO_LARGE',
    },
    { name: 'a truncated envelope', bytes: Buffer.from(json.slice(0, json.length >> 1)), code: 'E_DECODE' },
    { name: 'an envelope missing its last byte', bytes: Buffer.from(json.slice(0, -1)), code: 'E_DECODE' },
    { name: 'an envelope signed by another key', bytes: envBytes(resign(env, {}, stranger)), code: 'E_AUTH' },
    {
      name: 'a good signature over other bytes',
      bytes: envBytes({ ...env, body: Buffer.concat([env.body, Buffer.of(0)]) }),
      code: 'E_AUTH',
    },
    {
      name: 'a message for another requestId',
      bytes: envBytes(resign(env, { requestId: randomBytes(32) })),
      code: 'E_SESSION',
    },
    {
      name: 'a message with the roles swapped',
      bytes: envBytes(resign(env, { from: env.to, to: env.from })),
      code: 'E_SESSION',
    },
    {
      name: 'a message of the other kind',
      bytes: envBytes(resign(env, { kind: env.kind === 'kg' ? 'sign' : 'kg' })),
      code: 'E_SESSION',
    },
  ];
}

/** Messages that authenticate but are wrong for the session: they close it (Class A). */
function sessionClosers(env: Envelope): Case[] {
  return [
    { name: 'a body cut short', bytes: envBytes(resign(env, { body: env.body.subarray(0, -1) })), code: 'E_DECODE' },
    {
      name: 'a body with a trailing byte',
      bytes: envBytes(resign(env, { body: Buffer.concat([env.body, Buffer.of(0)]) })),
      code: 'E_DECODE',
    },
  ];
}

/**
 * A message of another round sent through an RPC: refused as a wrong request (BAD_REQUEST)
 * before the state machine sees it, so the session stays open and usable.
 */
function wrongRound(env: Envelope, round: number): Case {
  return { name: `a message of round ${round}`, bytes: envBytes(resign(env, { round })), code: 'BAD_REQUEST' };
}

const BAD_SESSION_IDS = ['', 'short', 'x'.repeat(23), 'x'.repeat(21) + '!', 'x'.repeat(200)];
const UNKNOWN_SESSION = 'AAAAAAAAAAAAAAAAAAAAAA';
const BAD_KEYSET_IDS = ['', 'k'.repeat(65), 'has space', 'ünïcode', 'semi;colon'];

/** A KG-1 from the device (or another identity) for a new wallet, not yet sent. */
function freshKg1(identity = device.identity) {
  const walletId = randomBytes(32);
  const p2 = new P2Keygen(
    {
      identity,
      peerPublicKey: device.signerKey,
      requestId: randomBytes(32),
      rng: systemRng,
      modPow: mp,
      now: Date.now,
      profile: FULL,
      walletId,
    },
    ringPedersen(),
  );
  return { p2, kg1: p2.start().send!, walletId };
}

/** P2's DKG side and the signer's session after StartDKG (KG-1 in, KG-2 out). */
async function startDkg(keysetId: string) {
  const { p2, kg1, walletId } = freshKg1();
  const s = await call<{ sessionId: string; envelope: Buffer }>(t.client, 'startDkg', {
    keysetId,
    walletId,
    devicePublicKey: Buffer.from(device.identity.publicKey),
    envelope: envBytes(kg1),
  });
  const kg3 = (await p2.receive(parseEnv(s.envelope))).send!;
  return { p2, kg1, kg3, sessionId: s.sessionId, walletId };
}

/** A DKG session past KG-3: the signer has sent KG-4 and waits for KG-5. */
async function dkgUpToKg5(keysetId: string) {
  const d = await startDkg(keysetId);
  const r = await call<{ envelope: Buffer }>(t.client, 'dkgRound', {
    sessionId: d.sessionId,
    envelope: envBytes(d.kg3),
  });
  return { ...d, kg4: parseEnv(r.envelope) };
}

/** A signing session after StartSigning (SIGN-1 in, SIGN-2 out). */
async function startSigning(p = permit()) {
  const p2 = device.signer(m32);
  const sign1 = p2.start().send!;
  const s = await call<{ sessionId: string; envelope: Buffer }>(t.client, 'startSigning', {
    keysetId: KS,
    permit: p,
    ...payload,
    envelope: envBytes(sign1),
  });
  const sign3 = (await p2.receive(parseEnv(s.envelope))).send!;
  return { p2, sign1, sign3, sessionId: s.sessionId };
}

/** SIGN-5 with another c3, signed by the device. */
function sign5With(sign5: Envelope, c3: bigint, len = modLen(device.share!.N ** 2n)): Buffer {
  return envBytes(resign(sign5, { body: frame([bigToBytes(c3, len)]) }));
}

// ---------- StartDKG ----------

const startDkgReq = (keysetId: string, walletId: Uint8Array, envelope: Uint8Array) => ({
  keysetId,
  walletId,
  devicePublicKey: Buffer.from(device.identity.publicKey),
  envelope,
});

describe('StartDKG', () => {
  test('broken KG-1 envelopes are refused before any session exists', async () => {
    const { kg1, walletId } = freshKg1();
    const sessions = () => db.prepare('SELECT COUNT(*) FROM dkg_sessions').pluck().get();
    const before = sessions();
    // Stranger-signed and wrong-kind/roles KG-1 have their own tests below.
    for (const c of brokenEnvelopes(kg1).filter((c) => c.code !== 'E_AUTH' && c.code !== 'E_SESSION'))
      await rejects(call(t.client, 'startDkg', startDkgReq('dkg-broken', walletId, c.bytes)), c.code).catch(
        (e: Error) => assert.fail(`${c.name}: ${e.message}`),
      );
    assert.equal(sessions(), before, 'no DKG session was opened');
    await rejects(call(t.client, 'getKeyset', { keysetId: 'dkg-broken' }), 'KEYSET_NOT_FOUND');
  });

  test('a KG-1 signed by another key than device_public_key: E_AUTH', async () => {
    const { kg1, walletId } = freshKg1(stranger);
    await rejects(call(t.client, 'startDkg', startDkgReq('dkg-auth', walletId, envBytes(kg1))), 'E_AUTH');
    await rejects(call(t.client, 'getKeyset', { keysetId: 'dkg-auth' }), 'KEYSET_NOT_FOUND');
  });

  test('a signing envelope or swapped roles handed to StartDKG: E_SESSION', async () => {
    const sign1 = device.signer(m32).start().send!;
    await rejects(call(t.client, 'startDkg', startDkgReq('dkg-kind', randomBytes(32), envBytes(sign1))), 'E_SESSION');
    const { kg1, walletId } = freshKg1();
    const swapped = resign(kg1, { from: 'P1', to: 'P2' });
    await rejects(call(t.client, 'startDkg', startDkgReq('dkg-roles', walletId, envBytes(swapped))), 'E_SESSION');
  });

  test('authenticated KG-1 that is wrong: cut short / trailing byte (E_DECODE)', async () => {
    for (const i of [0, 1]) {
      const keysetId = `dkg-close-${i}`;
      const { kg1, walletId } = freshKg1();
      const c = sessionClosers(kg1)[i]!;
      await rejects(call(t.client, 'startDkg', startDkgReq(keysetId, walletId, c.bytes)), c.code);
      assert.deepEqual(dkgRow(kg1.requestId), { state: 'FAILED', error_code: c.code, keyset_id: keysetId }, c.name);
      await rejects(call(t.client, 'getKeyset', { keysetId }), 'KEYSET_NOT_FOUND');
    }
  });

  test('a reused requestId: E_REPLAY; a KG-1 whose walletId differs from wallet_id: E_ENROLMENT', async () => {
    const d = await startDkg('dkg-first');
    // The requestId is checked before anything else about the message.
    await rejects(call(t.client, 'startDkg', startDkgReq('dkg-again', d.walletId, envBytes(d.kg1))), 'E_REPLAY');
    const { kg1 } = freshKg1();
    await rejects(call(t.client, 'startDkg', startDkgReq('dkg-enrol', randomBytes(32), envBytes(kg1))), 'E_ENROLMENT');
    assert.deepEqual(dkgRow(kg1.requestId), { state: 'FAILED', error_code: 'E_ENROLMENT', keyset_id: 'dkg-enrol' });
  });

  test('bad keyset_id, wallet_id and device_public_key: BAD_REQUEST; an existing keyset: KEYSET_EXISTS', async () => {
    const { kg1, walletId } = freshKg1();
    const good = startDkgReq('dkg-fields', walletId, envBytes(kg1));
    for (const keysetId of BAD_KEYSET_IDS)
      await rejects(call(t.client, 'startDkg', { ...good, keysetId }), 'BAD_REQUEST');
    for (const n of [0, 31, 33, 64])
      await rejects(call(t.client, 'startDkg', { ...good, walletId: randomBytes(n) }), 'BAD_REQUEST');
    for (const n of [0, 31, 33])
      await rejects(call(t.client, 'startDkg', { ...good, devicePublicKey: randomBytes(n) }), 'BAD_REQUEST');
    await rejects(call(t.client, 'startDkg', { ...good, keysetId: KS }), 'KEYSET_EXISTS');
    assert.deepEqual(dkgRow(kg1.requestId), {}, 'none of these opened a session');
  });
});

// ---------- DKGRound and FinalizeDKG ----------

describe('DKGRound and FinalizeDKG', () => {
  test('broken KG-3 and KG-5 leave the session intact: the DKG still completes', async () => {
    const d = await startDkg('dkg-survivor');
    for (const c of brokenEnvelopes(d.kg3))
      await rejects(call(t.client, 'dkgRound', { sessionId: d.sessionId, envelope: c.bytes }), c.code).catch(
        (e: Error) => assert.fail(`DKGRound, ${c.name}: ${e.message}`),
      );
    assert.equal(dkgRow(d.kg1.requestId).state, 'RUNNING');
    const r = await call<{ envelope: Buffer }>(t.client, 'dkgRound', {
      sessionId: d.sessionId,
      envelope: envBytes(d.kg3),
    });
    const step = await d.p2.receive(parseEnv(r.envelope));
    const kg5 = step.send!;
    for (const c of brokenEnvelopes(kg5))
      await rejects(call(t.client, 'finalizeDkg', { sessionId: d.sessionId, envelope: c.bytes }), c.code).catch(
        (e: Error) => assert.fail(`FinalizeDKG, ${c.name}: ${e.message}`),
      );
    await rejects(call(t.client, 'getKeyset', { keysetId: 'dkg-survivor' }), 'KEYSET_NOT_FOUND');
    const f = await call<{ keyset: Keyset }>(t.client, 'finalizeDkg', {
      sessionId: d.sessionId,
      envelope: envBytes(kg5),
    });
    assert.equal(f.keyset.status, KeysetStatus.KEYSET_STATUS_ACTIVE);
    assert.equal(hex(f.keyset.keyId), hex(step.result!.keyId));
    assert.equal(dkgRow(d.kg1.requestId).state, 'COMPLETED');
  });

  test('KG-3 session closers: cut / trailing byte (E_DECODE)', async () => {
    for (const i of [0, 1]) {
      const keysetId = `dkg-kg3-close-${i}`;
      const d = await startDkg(keysetId);
      const c = sessionClosers(d.kg3)[i]!;
      await rejects(call(t.client, 'dkgRound', { sessionId: d.sessionId, envelope: c.bytes }), c.code);
      assert.deepEqual(dkgRow(d.kg1.requestId), { state: 'FAILED', error_code: c.code, keyset_id: keysetId }, c.name);
      // The session is closed for good: even the real KG-3 is now refused.
      await rejects(call(t.client, 'dkgRound', { sessionId: d.sessionId, envelope: envBytes(d.kg3) }), 'E_UNEXPECTED');
    }
  });

  test('KG-5 session closers: cut / trailing byte (E_DECODE), wrong keyId (E_TRANSCRIPT_MISMATCH)', async () => {
    for (const i of [0, 1, 3]) {
      const keysetId = `dkg-kg5-close-${i}`;
      const d = await dkgUpToKg5(keysetId);
      // A KG-5 of the right shape; the signer compares its content only when it is well formed.
      const kg5 = signEnvelope(device.identity, {
        v: 1,
        kind: 'kg',
        requestId: d.kg1.requestId,
        round: 5,
        from: 'P2',
        to: 'P1',
        body: encodeKg5({ keyId: randomBytes(32), tKg: randomBytes(32) }),
      });
      const c =
        i < 3
          ? sessionClosers(kg5)[i]!
          : { name: 'a wrong keyId', bytes: envBytes(kg5), code: 'E_TRANSCRIPT_MISMATCH' };
      await rejects(call(t.client, 'finalizeDkg', { sessionId: d.sessionId, envelope: c.bytes }), c.code);
      assert.deepEqual(dkgRow(d.kg1.requestId), { state: 'FAILED', error_code: c.code, keyset_id: keysetId }, c.name);
      await rejects(call(t.client, 'getKeyset', { keysetId }), 'KEYSET_NOT_FOUND');
    }
  });

  test('FinalizeDKG given a retransmitted KG-3: BAD_REQUEST, and the session still completes', async () => {
    const d = await dkgUpToKg5('dkg-kg3-to-finalize');
    await rejects(call(t.client, 'finalizeDkg', { sessionId: d.sessionId, envelope: envBytes(d.kg3) }), 'BAD_REQUEST');
    const kg5 = (await d.p2.receive(d.kg4)).send!;
    const f = await call<{ keyset: Keyset }>(t.client, 'finalizeDkg', {
      sessionId: d.sessionId,
      envelope: envBytes(kg5),
    });
    assert.equal(f.keyset.status, KeysetStatus.KEYSET_STATUS_ACTIVE);
  });

  test('bad and unknown session ids: BAD_REQUEST and SESSION_NOT_FOUND', async () => {
    const d = await startDkg('dkg-ids');
    for (const method of ['dkgRound', 'finalizeDkg'] as const) {
      for (const sessionId of BAD_SESSION_IDS)
        await rejects(call(t.client, method, { sessionId, envelope: envBytes(d.kg3) }), 'BAD_REQUEST');
      await rejects(
        call(t.client, method, { sessionId: UNKNOWN_SESSION, envelope: envBytes(d.kg3) }),
        'SESSION_NOT_FOUND',
      );
    }
    // A signing session's id is not a DKG session's id (and the other way round).
    const s = await startSigning();
    await rejects(
      call(t.client, 'dkgRound', { sessionId: s.sessionId, envelope: envBytes(d.kg3) }),
      'SESSION_NOT_FOUND',
    );
    await rejects(
      call(t.client, 'signingRound', { sessionId: d.sessionId, envelope: envBytes(s.sign3) }),
      'SESSION_NOT_FOUND',
    );
  });
});

// ---------- StartSigning ----------

describe('StartSigning', () => {
  test('broken SIGN-1 envelopes and bad request fields are refused without spending the permit', async () => {
    const p = permit();
    const sign1 = device.signer(m32).start().send!;
    const req = { keysetId: KS, permit: p, ...payload, envelope: envBytes(sign1) };
    for (const c of brokenEnvelopes(sign1).filter((c) => c.code !== 'E_AUTH' && c.code !== 'E_SESSION'))
      await rejects(call(t.client, 'startSigning', { ...req, envelope: c.bytes }), c.code).catch((e: Error) =>
        assert.fail(`${c.name}: ${e.message}`),
      );
    for (const keysetId of BAD_KEYSET_IDS)
      await rejects(call(t.client, 'startSigning', { ...req, keysetId }), 'BAD_REQUEST');
    await rejects(call(t.client, 'startSigning', { ...req, keysetId: 'no-such-keyset' }), 'PERMIT_KEYSET_MISMATCH');
    // unsigned_tx and personal_message: exactly one.
    await rejects(call(t.client, 'startSigning', { ...req, personalMessage: undefined }), 'BAD_REQUEST');
    await rejects(call(t.client, 'startSigning', { ...req, unsignedTx: Buffer.from('02c0', 'hex') }), 'BAD_REQUEST');
    for (const tx of [
      '',
      '05c0',
      '02',
      '02c0',
      '02c180',
      'c0',
      '80',
      '02f8',
      '01c3010203',
      randomBytes(64).toString('hex'),
    ])
      await rejects(
        call(t.client, 'startSigning', { ...req, personalMessage: undefined, unsignedTx: Buffer.from(tx, 'hex') }),
        'TX_INVALID',
      ).catch((e: Error) => assert.fail(`unsigned_tx ${tx}: ${e.message}`));
    assert.equal(permitUsed(p), false, 'none of these spent the permit');
    // The same permit then signs.
    const { signature } = await signThrough(t.client, device, KS, m32, payload, p);
    assert.ok(signature.r > 0n);
    assert.equal(permitUsed(p), true);
  });

  test('authenticated SIGN-1 that is wrong: cut / trailing byte (E_DECODE), other key (E_UNKNOWN_KEY), other digest (E_MSG_MISMATCH)', async () => {
    for (const i of [0, 1, 3, 4]) {
      const sign1 = device.signer(m32).start().send!;
      const body = Buffer.from(sign1.body);
      const c =
        i < 3
          ? sessionClosers(sign1)[i]!
          : i === 3
            ? {
                name: 'another keyId',
                bytes: envBytes(
                  resign(sign1, { body: Buffer.concat([body.subarray(0, 4), randomBytes(32), body.subarray(36)]) }),
                ),
                code: 'E_UNKNOWN_KEY',
              }
            : {
                name: 'another m32',
                bytes: envBytes(
                  resign(sign1, { body: Buffer.concat([body.subarray(0, 40), randomBytes(32), body.subarray(72)]) }),
                ),
                code: 'E_MSG_MISMATCH',
              };
      const p = permit();
      await rejects(call(t.client, 'startSigning', { keysetId: KS, permit: p, ...payload, envelope: c.bytes }), c.code);
      const row = signRow(sign1.requestId);
      assert.deepEqual(row, { state: 'FAILED', error_code: c.code }, c.name);
      await rejects(
        call(t.client, 'startSigning', { keysetId: KS, permit: p, ...payload, envelope: envBytes(sign1) }),
        'PERMIT_REPLAYED',
      );
    }
  });

  test('a SIGN-1 signed by another key: E_AUTH; a DKG envelope: E_SESSION', async () => {
    const sign1 = device.signer(m32).start().send!;
    await rejects(
      call(t.client, 'startSigning', {
        keysetId: KS,
        permit: permit(),
        ...payload,
        envelope: envBytes(resign(sign1, {}, stranger)),
      }),
      'E_AUTH',
    );
    const kg = resign(device.signer(m32).start().send!, { kind: 'kg' });
    await rejects(
      call(t.client, 'startSigning', { keysetId: KS, permit: permit(), ...payload, envelope: envBytes(kg) }),
      'E_SESSION',
    );
  });

  test('a reused SIGN-1 requestId: E_REPLAY', async () => {
    const s = await startSigning();
    await rejects(
      call(t.client, 'startSigning', { keysetId: KS, permit: permit(), ...payload, envelope: envBytes(s.sign1) }),
      'E_REPLAY',
    );
  });
});

// ---------- SigningRound and FinalizeSigning ----------

describe('SigningRound and FinalizeSigning', () => {
  test('broken SIGN-3 and SIGN-5 leave the session intact: it still signs', async () => {
    const s = await startSigning();
    for (const c of brokenEnvelopes(s.sign3))
      await rejects(call(t.client, 'signingRound', { sessionId: s.sessionId, envelope: c.bytes }), c.code).catch(
        (e: Error) => assert.fail(`SigningRound, ${c.name}: ${e.message}`),
      );
    const r = await call<{ envelope: Buffer }>(t.client, 'signingRound', {
      sessionId: s.sessionId,
      envelope: envBytes(s.sign3),
    });
    const sign5 = (await s.p2.receive(parseEnv(r.envelope))).send!;
    for (const c of brokenEnvelopes(sign5))
      await rejects(call(t.client, 'finalizeSigning', { sessionId: s.sessionId, envelope: c.bytes }), c.code).catch(
        (e: Error) => assert.fail(`FinalizeSigning, ${c.name}: ${e.message}`),
      );
    assert.equal(signRow(s.sign1.requestId).state, 'RUNNING');
    const f = await call<{ envelope: Buffer }>(t.client, 'finalizeSigning', {
      sessionId: s.sessionId,
      envelope: envBytes(sign5),
    });
    const done = await s.p2.receive(parseEnv(f.envelope));
    assert.ok(done.result!.r > 0n);
    assert.equal(signRow(s.sign1.requestId).state, 'SIGNED');
  });

  test('SIGN-3 session closers: cut / trailing byte (E_DECODE)', async () => {
    for (const i of [0, 1]) {
      const s = await startSigning();
      const c = sessionClosers(s.sign3)[i]!;
      await rejects(call(t.client, 'signingRound', { sessionId: s.sessionId, envelope: c.bytes }), c.code);
      assert.deepEqual(signRow(s.sign1.requestId), { state: 'FAILED', error_code: c.code }, c.name);
      await rejects(
        call(t.client, 'signingRound', { sessionId: s.sessionId, envelope: envBytes(s.sign3) }),
        'E_UNEXPECTED',
      );
    }
  });

  test('SIGN-5 session closers: cut / trailing byte (E_DECODE)', async () => {
    for (const i of [0, 1]) {
      const { sessionId, sign5 } = await signUpToSign5(t.client, device, KS, m32, payload, permit());
      const c = sessionClosers(sign5)[i]!;
      await rejects(call(t.client, 'finalizeSigning', { sessionId, envelope: c.bytes }), c.code);
      assert.deepEqual(signRow(sign5.requestId), { state: 'FAILED', error_code: c.code }, c.name);
      // Closed for good: the honest SIGN-5 is not decrypted either.
      await rejects(call(t.client, 'finalizeSigning', { sessionId, envelope: envBytes(sign5) }), 'E_UNEXPECTED');
    }
  });

  test('malformed c3 (0, N, a multiple of N, N², all-ones, wrong length) is Class A: the keyset stays ACTIVE', async () => {
    const N = device.share!.N;
    const N2 = N * N;
    const len = modLen(N2);
    const cases: { name: string; c3: bigint; len?: number; code: string }[] = [
      { name: 'c3 = 0', c3: 0n, code: 'E_CIPHERTEXT' },
      { name: 'c3 = N (not coprime to N)', c3: N, code: 'E_CIPHERTEXT' },
      { name: 'c3 = 7N (not coprime to N)', c3: 7n * N, code: 'E_CIPHERTEXT' },
      { name: 'c3 = N²', c3: N2, code: 'E_DECODE' },
      { name: 'c3 = N² + 1', c3: N2 + 1n, code: 'E_DECODE' },
      { name: 'c3 = 2^(8·len) − 1', c3: (1n << BigInt(8 * len)) - 1n, code: 'E_DECODE' },
      { name: 'c3 one byte short', c3: 1n, len: len - 1, code: 'E_DECODE' },
      { name: 'c3 one byte long', c3: 1n, len: len + 1, code: 'E_DECODE' },
    ];
    for (const c of cases) {
      const { sessionId, sign5 } = await signUpToSign5(t.client, device, KS, m32, payload, permit());
      await rejects(
        call(t.client, 'finalizeSigning', { sessionId, envelope: sign5With(sign5, c.c3, c.len) }),
        c.code,
      ).catch((e: Error) => assert.fail(`${c.name}: ${e.message}`));
      // FAILED straight from RUNNING: the DECRYPT_PENDING marker was never written.
      assert.deepEqual(signRow(sign5.requestId), { state: 'FAILED', error_code: c.code }, c.name);
    }
    const frozen = db.prepare("SELECT COUNT(*) FROM audit_log WHERE action = 'keyset.frozen'").pluck().get();
    assert.equal(frozen, 0);
  });

  test('FinalizeSigning given the retransmitted SIGN-3: BAD_REQUEST, and the session still signs', async () => {
    const s = await startSigning();
    const r = await call<{ envelope: Buffer }>(t.client, 'signingRound', {
      sessionId: s.sessionId,
      envelope: envBytes(s.sign3),
    });
    await rejects(
      call(t.client, 'finalizeSigning', { sessionId: s.sessionId, envelope: envBytes(s.sign3) }),
      'BAD_REQUEST',
    );
    const sign5 = (await s.p2.receive(parseEnv(r.envelope))).send!;
    const f = await call<{ envelope: Buffer }>(t.client, 'finalizeSigning', {
      sessionId: s.sessionId,
      envelope: envBytes(sign5),
    });
    assert.ok((await s.p2.receive(parseEnv(f.envelope))).result);
  });

  test('bad and unknown session ids: BAD_REQUEST and SESSION_NOT_FOUND', async () => {
    const { sign5 } = await signUpToSign5(t.client, device, KS, m32, payload, permit());
    for (const method of ['signingRound', 'finalizeSigning'] as const) {
      for (const sessionId of BAD_SESSION_IDS)
        await rejects(call(t.client, method, { sessionId, envelope: envBytes(sign5) }), 'BAD_REQUEST');
      await rejects(
        call(t.client, method, { sessionId: UNKNOWN_SESSION, envelope: envBytes(sign5) }),
        'SESSION_NOT_FOUND',
      );
    }
  });
});

// ---------- the rest ----------

describe('other requests', () => {
  test('GetKeyset: bad keyset ids are BAD_REQUEST, an unknown one KEYSET_NOT_FOUND', async () => {
    for (const keysetId of BAD_KEYSET_IDS) await rejects(call(t.client, 'getKeyset', { keysetId }), 'BAD_REQUEST');
    await rejects(call(t.client, 'getKeyset', { keysetId: 'never-created' }), 'KEYSET_NOT_FOUND');
  });

  test('a request above gRPC’s 512 KiB limit is cut off by gRPC (RESOURCE_EXHAUSTED); the daemon carries on', async () => {
    for (const method of [
      'startDkg',
      'dkgRound',
      'finalizeDkg',
      'startSigning',
      'signingRound',
      'finalizeSigning',
    ] as const) {
      const envelope = Buffer.alloc(600 * 1024, 0x20);
      const req = {
        startDkg: { keysetId: 'huge', walletId: randomBytes(32), devicePublicKey: randomBytes(32), envelope },
        startSigning: { keysetId: KS, permit: permit(), ...payload, envelope },
      }[method as string] ?? { sessionId: UNKNOWN_SESSION, envelope };
      const e = await call(t.client, method, req).then(
        () => assert.fail('accepted'),
        (e: unknown) => e,
      );
      assert.ok(e instanceof CallFailed);
      assert.equal(e.status, grpcStatus.RESOURCE_EXHAUSTED, `${method}: ${e.message}`);
      await healthy();
    }
  });

  test('after all of the above the keyset still signs and nothing was ever frozen', async () => {
    const { signature } = await signThrough(t.client, device, KS, m32, payload, permit());
    assert.ok(signature.s > 0n);
    assert.equal(
      db.prepare("SELECT COUNT(*) FROM sign_sessions WHERE state IN ('DECRYPT_PENDING', 'FROZE')").pluck().get(),
      0,
    );
    assert.equal(db.prepare("SELECT COUNT(*) FROM keysets WHERE status != 'ACTIVE'").pluck().get(), 0);
  });
});

// ---------- regressions: RPC/round mismatches and first messages that are not the peer's ----------

describe('regressions', () => {
  test('a message of another round through an RPC: BAD_REQUEST, and the session carries on', async () => {
    const d = await startDkg('dkg-wrong-round');
    for (const c of [wrongRound(d.kg3, 5), wrongRound(d.kg3, 1)])
      await rejects(call(t.client, 'dkgRound', { sessionId: d.sessionId, envelope: c.bytes }), c.code);
    assert.equal(dkgRow(d.kg1.requestId).state, 'RUNNING');
    await call(t.client, 'dkgRound', { sessionId: d.sessionId, envelope: envBytes(d.kg3) });
    const s = await startSigning();
    for (const c of [wrongRound(s.sign3, 5), wrongRound(s.sign3, 1)])
      await rejects(call(t.client, 'signingRound', { sessionId: s.sessionId, envelope: c.bytes }), c.code);
    assert.equal(signRow(s.sign1.requestId).state, 'RUNNING');
    await call(t.client, 'signingRound', { sessionId: s.sessionId, envelope: envBytes(s.sign3) });
  });

  test('after a KG-1 that fails E_AUTH, a correct StartDKG for the same keyset id is not blocked', async () => {
    const bad = freshKg1(stranger);
    await rejects(call(t.client, 'startDkg', startDkgReq('dkg-retry', bad.walletId, envBytes(bad.kg1))), 'E_AUTH');
    assert.notEqual(dkgRow(bad.kg1.requestId).state, 'RUNNING', 'the refused KG-1 leaves no running DKG behind');
    await startDkg('dkg-retry'); // the coordinator retries with the device's real KG-1
  });

  test('DKGRound given KG-5 does not consume the DKG', async () => {
    const d = await dkgUpToKg5('dkg-kg5-to-round');
    const kg5 = (await d.p2.receive(d.kg4)).send!;
    await rejects(call(t.client, 'dkgRound', { sessionId: d.sessionId, envelope: envBytes(kg5) }), 'BAD_REQUEST');
    const f = await call<{ keyset: Keyset }>(t.client, 'finalizeDkg', {
      sessionId: d.sessionId,
      envelope: envBytes(kg5),
    });
    assert.equal(f.keyset.status, KeysetStatus.KEYSET_STATUS_ACTIVE);
  });

  test('a SIGN-1 that fails E_AUTH leaves no running session behind', async () => {
    const sign1 = device.signer(m32).start().send!;
    await rejects(
      call(t.client, 'startSigning', {
        keysetId: KS,
        permit: permit(),
        ...payload,
        envelope: envBytes(resign(sign1, {}, stranger)),
      }),
      'E_AUTH',
    );
    assert.notEqual(signRow(sign1.requestId).state, 'RUNNING');
  });

  test('SigningRound given SIGN-5 does not decrypt outside FinalizeSigning', async () => {
    const { sessionId, sign5 } = await signUpToSign5(t.client, device, KS, m32, payload, permit());
    await assert.rejects(call(t.client, 'signingRound', { sessionId, envelope: envBytes(sign5) }), CallFailed);
    assert.notEqual(signRow(sign5.requestId).state, 'DECRYPT_PENDING');
    await call(t.client, 'finalizeSigning', { sessionId, envelope: envBytes(sign5) });
    assert.equal(signRow(sign5.requestId).state, 'SIGNED');
  });
});
