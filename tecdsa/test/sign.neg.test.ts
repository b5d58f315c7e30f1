// Negative tests for signing (PROTOCOL.md §6, §8, §9, §10 and the "Signing" part of §13.2),
// test profile. One honest DKG for the whole file; every test drives real P1Signer/P2Signer
// sessions and plays the network (or a misbehaving peer) in between. Wherever P1 could have
// decrypted, the test asserts its decryption counter.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { TecdsaError } from '../src/errors.ts';
import { bigToBytes, bytesToBig, bytesToHex, concatBytes } from '../src/bytes.ts';
import { G, HALF_N, Point, SECP256K1_N, SECP256K1_P, modN } from '../src/curve.ts';
import { type Envelope, type Identity, identityFromSeed, signEnvelope } from '../src/envelope.ts';
import { encPt, encSc, frame } from '../src/encoding.ts';
import { modInv, modPowBigInt } from '../src/arith.ts';
import {
  decodeSign1,
  decodeSign2,
  decodeSign3,
  decodeSign4,
  decodeSign5,
  decodeSign6,
  encodeSign1,
  encodeSign2,
  encodeSign3,
  encodeSign4,
  encodeSign5,
  encodeSign6,
} from '../src/messages.ts';
import { decrypt, encrypt } from '../src/paillier.ts';
import { TEST } from '../src/params.ts';
import { seededRng, uniformRange, uniformUnit } from '../src/rng.ts';
import { type DkgRun, runDkg } from '../src/runLocal.ts';
import { type P1Share, type P2Share } from '../src/shares.ts';
import { signSid } from '../src/sessionIds.ts';
import { proveSchnorr } from '../src/proofs/schnorr.ts';
import { P1Signer, P2Signer, type Signature, rOf } from '../src/sign.ts';
import { expectCode, mp, ringPedersenFor } from './helpers.ts';

const q = SECP256K1_N;
const rng = seededRng('sign.neg');
const id1: Identity = identityFromSeed(seededRng('sign.neg/id1').bytes(32));
const id2: Identity = identityFromSeed(seededRng('sign.neg/id2').bytes(32));
let dkg: DkgRun;

before(async () => {
  dkg = await runDkg({ p1: id1, p2: id2, rng, modPow: mp, profile: TEST }, ringPedersenFor(TEST), {
    requestId: rng.bytes(32),
    walletId: rng.bytes(32),
  });
});

// ---------- session plumbing ----------

interface P1Opts {
  requestId: Uint8Array;
  m32: Uint8Array;
  share?: P1Share;
  k1?: bigint;
  now?: () => number;
  beforeDecrypt?: () => void | Promise<void>;
}

interface P2Opts {
  requestId: Uint8Array;
  m32: Uint8Array;
  share?: P2Share;
  k2?: bigint;
  now?: () => number;
}

/** A P1 session plus a counter of its beforeDecrypt calls. */
function mkP1(o: P1Opts): { p1: P1Signer; hook: { calls: number } } {
  const hook = { calls: 0 };
  const p1 = new P1Signer({
    identity: id1,
    peerPublicKey: id2.publicKey,
    requestId: o.requestId,
    rng,
    modPow: mp,
    now: o.now ?? (() => 0),
    profile: TEST,
    m32: o.m32,
    share: o.share ?? dkg.share1,
    testOnlyNonce: o.k1,
    beforeDecrypt: async () => {
      hook.calls++;
      await o.beforeDecrypt?.();
    },
  });
  return { p1, hook };
}

function mkP2(o: P2Opts): P2Signer {
  return new P2Signer({
    identity: id2,
    peerPublicKey: id1.publicKey,
    requestId: o.requestId,
    rng,
    modPow: mp,
    now: o.now ?? (() => 0),
    profile: TEST,
    m32: o.m32,
    share: o.share ?? dkg.share2,
    testOnlyNonce: o.k2,
  });
}

interface Pair {
  p1: P1Signer;
  p2: P2Signer;
  hook: { calls: number };
  requestId: Uint8Array;
  m32: Uint8Array;
}

type PairOpts = Partial<Omit<P1Opts, 'share' | 'now'>> & {
  /** P2's requestId and digest when they differ from P1's. */
  requestId2?: Uint8Array;
  m32P2?: Uint8Array;
  share1?: P1Share;
  share2?: P2Share;
  k2?: bigint;
  now1?: () => number;
  now2?: () => number;
};

function pair(o: PairOpts = {}): Pair {
  const requestId = o.requestId ?? rng.bytes(32);
  const m32 = o.m32 ?? rng.bytes(32);
  const { p1, hook } = mkP1({
    requestId,
    m32,
    share: o.share1,
    k1: o.k1,
    now: o.now1,
    beforeDecrypt: o.beforeDecrypt,
  });
  const p2 = mkP2({
    requestId: o.requestId2 ?? requestId,
    m32: o.m32P2 ?? m32,
    share: o.share2,
    k2: o.k2,
    now: o.now2,
  });
  return { p1, p2, hook, requestId, m32 };
}

const deliver = (p: { p1: P1Signer; p2: P2Signer }, e: Envelope) => (e.to === 'P1' ? p.p1.receive(e) : p.p2.receive(e));

interface FlowOpts {
  /** Stop before delivering the envelope of this round (it is still logged). */
  stop?: number;
  /** The network / a misbehaving sender: applied to every envelope before delivery. */
  rewrite?: (e: Envelope) => Envelope;
  /** Receives every envelope as delivered; log[r − 1] is SIGN-r. */
  log?: Envelope[];
}

/** Relays the two sessions from SIGN-1; rejects with the first error either party throws. */
async function flow(p: Pair, o: FlowOpts = {}): Promise<{ log: Envelope[]; p1Sig?: Signature; p2Sig?: Signature }> {
  const log = o.log ?? [];
  let p1Sig: Signature | undefined;
  let p2Sig: Signature | undefined;
  let next = p.p2.start().send;
  while (next) {
    if (o.rewrite) next = o.rewrite(next);
    log.push(next);
    if (next.round >= (o.stop ?? 7)) break;
    const step = await deliver(p, next);
    if (step.result) {
      if (next.to === 'P1') p1Sig = step.result;
      else p2Sig = step.result;
    }
    next = step.send;
  }
  return { log, p1Sig, p2Sig };
}

/** The same envelope with a new body (and header changes), signed again by its sender. */
function resign(e: Envelope, body: Uint8Array, over: Partial<Pick<Envelope, 'requestId' | 'round'>> = {}): Envelope {
  const id = e.from === 'P1' ? id1 : id2;
  return signEnvelope(id, {
    v: e.v,
    kind: e.kind,
    requestId: over.requestId ?? e.requestId,
    round: over.round ?? e.round,
    from: e.from,
    to: e.to,
    body,
  });
}

/** A rewrite hook changing the body of one round (re-signed by the sender's identity). */
const onRound =
  (round: number, f: (body: Uint8Array) => Uint8Array) =>
  (e: Envelope): Envelope =>
    e.round === round ? resign(e, f(e.body)) : e;

const other32 = (b: Uint8Array): Uint8Array => {
  const c = b.slice();
  c[0]! ^= 0x01;
  return c;
};

const sidOf = (p: Pair, n1: Uint8Array, n2: Uint8Array) =>
  signSid(p.requestId, dkg.share1.keyId, dkg.share1.Q, p.m32, n1, n2);

/** x³ + 7 mod p, and whether it is a square. */
const curveRhs = (x: bigint) => (x * x * x + 7n) % SECP256K1_P;
const isSquare = (v: bigint) => v === 0n || modPowBigInt(v, (SECP256K1_P - 1n) / 2n, SECP256K1_P) === 1n;

// ---------- tests ----------

describe('wrong sid (§6.1): each of requestId, keyId, Q, m32, n1, n2 altered → Class A, no decryption', () => {
  test('requestId: an envelope naming another requestId → E_SESSION, and the session is left unchanged', async () => {
    const a = pair();
    const b = pair({ m32: a.m32 });
    await expectCode(() => a.p1.receive(b.p2.start().send!), 'E_SESSION');
    const { p1Sig, p2Sig } = await flow(a);
    assert.deepEqual(p1Sig, p2Sig);
    assert.equal(a.p1.decryptions, 1);
  });

  test('requestId: P2 binding its sid to another requestId (envelopes re-addressed, re-signed) → E_PROOF_SCH at SIGN-3', async () => {
    const rid1 = rng.bytes(32);
    const rid2 = rng.bytes(32);
    const p = pair({ requestId: rid1, requestId2: rid2 });
    const readdress = (e: Envelope, rid: Uint8Array) => resign(e, e.body, { requestId: rid });
    const s2 = (await p.p1.receive(readdress(p.p2.start().send!, rid1))).send!;
    const s3 = (await p.p2.receive(readdress(s2, rid2))).send!;
    await expectCode(() => p.p1.receive(readdress(s3, rid1)), 'E_PROOF_SCH');
    assert.equal(p.p1.decryptions, 0);
  });

  test('keyId: P2 binding its sid to another keyId (SIGN-1 re-signed with the real one) → E_PROOF_SCH at SIGN-3', async () => {
    const p = pair({ share2: { ...dkg.share2, keyId: other32(dkg.share2.keyId) } });
    const log: Envelope[] = [];
    const fix = onRound(1, (b) => encodeSign1({ ...decodeSign1(b), keyId: dkg.share1.keyId }));
    await expectCode(() => flow(p, { rewrite: fix, log }), 'E_PROOF_SCH');
    assert.equal(log.at(-1)!.round, 3);
    assert.equal(p.p1.decryptions, 0);
  });

  test('Q: P2 share with another joint key → E_PROOF_SCH at SIGN-3', async () => {
    const p = pair({ share2: { ...dkg.share2, Q: dkg.share2.Q.add(G) } });
    await expectCode(() => flow(p), 'E_PROOF_SCH');
    assert.equal(p.p1.decryptions, 0);
  });

  test('Q: P1 share with another joint key → E_PROOF_SCH at SIGN-3', async () => {
    const p = pair({ share1: { ...dkg.share1, Q: dkg.share1.Q.add(G) } });
    await expectCode(() => flow(p), 'E_PROOF_SCH');
    assert.equal(p.p1.decryptions, 0);
  });

  test('m32: P2 binding another digest, SIGN-1 re-signed with P1 digest → E_PROOF_SCH at SIGN-3', async () => {
    const m32 = rng.bytes(32);
    const p = pair({ m32, m32P2: other32(m32) });
    const fix = onRound(1, (b) => encodeSign1({ ...decodeSign1(b), m32 }));
    await expectCode(() => flow(p, { rewrite: fix }), 'E_PROOF_SCH');
    assert.equal(p.p1.decryptions, 0);
  });

  test('n1: SIGN-2 re-signed with another n1 → E_PROOF_SCH at SIGN-3 (P1)', async () => {
    const p = pair();
    const alter = onRound(2, (b) => encodeSign2({ ...decodeSign2(b), n1: rng.bytes(32) }));
    await expectCode(() => flow(p, { rewrite: alter }), 'E_PROOF_SCH');
    assert.equal(p.p1.decryptions, 0);
  });

  test('n1: P2 sees another n1 and π2 is re-proved for P1 sid → P2 rejects the opening with E_COMMITMENT', async () => {
    const k2 = uniformRange(rng, 1n, q);
    const p = pair({ k2 });
    const s1 = p.p2.start().send!;
    const n2 = decodeSign1(s1.body).n2;
    const s2 = (await p.p1.receive(s1)).send!;
    const { n1 } = decodeSign2(s2.body);
    const s3 = (await p.p2.receive(resign(s2, encodeSign2({ ...decodeSign2(s2.body), n1: other32(n1) })))).send!;
    // The man in the middle (here: P2's own key) repairs π2 so that P1 accepts it.
    const R2 = decodeSign3(s3.body).R2;
    const pi2 = proveSchnorr(rng, sidOf(p, n1, n2), 'R2', 'P2', k2, R2);
    const s4 = (await p.p1.receive(resign(s3, encodeSign3({ R2, pi2 })))).send!;
    await expectCode(() => p.p2.receive(s4), 'E_COMMITMENT');
    assert.equal(p.p1.decryptions, 0);
  });

  test('n2: SIGN-1 re-signed with another n2 → E_PROOF_SCH at SIGN-3', async () => {
    const p = pair();
    const alter = onRound(1, (b) => encodeSign1({ ...decodeSign1(b), n2: rng.bytes(32) }));
    await expectCode(() => flow(p, { rewrite: alter }), 'E_PROOF_SCH');
    assert.equal(p.p1.decryptions, 0);
  });

  test('n1/n2 altered by the coordinator without re-signing → E_AUTH, and the session is left unchanged', async () => {
    const p = pair();
    const s1 = p.p2.start().send!;
    const badS1 = { ...s1, body: encodeSign1({ ...decodeSign1(s1.body), n2: rng.bytes(32) }) };
    await expectCode(() => p.p1.receive(badS1), 'E_AUTH');
    const s2 = (await p.p1.receive(s1)).send!;
    const badS2 = { ...s2, body: encodeSign2({ ...decodeSign2(s2.body), n1: rng.bytes(32) }) };
    await expectCode(() => p.p2.receive(badS2), 'E_AUTH');
    let next = (await p.p2.receive(s2)).send;
    let sig: Signature | undefined;
    while (next) {
      const step = await deliver(p, next);
      sig = step.result ?? sig;
      next = step.send;
    }
    assert.ok(sig);
    assert.equal(p.p1.decryptions, 1);
  });
});

describe('replay of SIGN-3 / SIGN-5 from an earlier session', () => {
  test('SIGN-3 from an earlier session into a new one → E_SESSION (requestId differs); the new session is unchanged', async () => {
    const old = await flow(pair());
    const p = pair();
    const { log } = await flow(p, { stop: 3 });
    await expectCode(() => p.p1.receive(old.log[2]!), 'E_SESSION');
    await p.p1.receive(log[2]!);
  });

  test('SIGN-5 from an earlier session into a new one → E_SESSION, no decryption', async () => {
    const old = await flow(pair());
    const p = pair();
    const { log } = await flow(p, { stop: 5 });
    await expectCode(() => p.p1.receive(old.log[4]!), 'E_SESSION');
    assert.equal(p.p1.decryptions, 0);
    assert.equal(p.hook.calls, 0);
    await p.p1.receive(log[4]!);
    assert.equal(p.p1.decryptions, 1);
  });

  test('SIGN-3 from an earlier session with the same requestId → E_PROOF_SCH (the sid holds fresh n1, n2)', async () => {
    const requestId = rng.bytes(32);
    const old = await flow(pair({ requestId }));
    const p = pair({ requestId });
    await flow(p, { stop: 3 });
    await expectCode(() => p.p1.receive(old.log[2]!), 'E_PROOF_SCH');
    assert.equal(p.p1.decryptions, 0);
  });

  test('SIGN-5 from an earlier session with the same requestId, before SIGN-3 → E_UNEXPECTED, no decryption', async () => {
    const requestId = rng.bytes(32);
    const old = await flow(pair({ requestId }));
    const p = pair({ requestId });
    await flow(p, { stop: 3 });
    await expectCode(() => p.p1.receive(old.log[4]!), 'E_UNEXPECTED');
    assert.equal(p.p1.decryptions, 0);
  });

  // SIGN-5 carries no sid (§3.2a item 11): only the requestId binds c3 to its session, so
  // requestId uniqueness (§6.1) is what keeps an old c3 away from decryption. P1Signer does
  // not keep a table of used requestIds; this pins down that the caller must.
  test('SIGN-5 replayed into a new session that reuses the requestId reaches decryption: requestId uniqueness is the caller’s job', async () => {
    const requestId = rng.bytes(32);
    const old = await flow(pair({ requestId }));
    const p = pair({ requestId });
    await flow(p, { stop: 5 });
    const err = await expectCode(() => p.p1.receive(old.log[4]!), 'E_SIGNING_FAILED');
    assert.equal(err.freezeKey, true);
    assert.equal(p.p1.decryptions, 1);
  });
});

describe('order and duplicates (§6.2)', () => {
  test('SIGN-3 before SIGN-1 → E_UNEXPECTED', async () => {
    const p = pair();
    const { log } = await flow(p, { stop: 3 });
    const { p1: fresh } = mkP1({ requestId: p.requestId, m32: p.m32 });
    await expectCode(() => fresh.receive(log[2]!), 'E_UNEXPECTED');
    await expectCode(() => fresh.receive(log[0]!), 'E_UNEXPECTED'); // closed
  });

  test('SIGN-5 before SIGN-3 → E_UNEXPECTED, no decryption', async () => {
    const p = pair();
    const { log } = await flow(p, { stop: 5 });
    const { p1: fresh, hook } = mkP1({ requestId: p.requestId, m32: p.m32 });
    await fresh.receive(log[0]!);
    await expectCode(() => fresh.receive(log[4]!), 'E_UNEXPECTED');
    assert.equal(fresh.decryptions, 0);
    assert.equal(hook.calls, 0);
  });

  test('a round P1 never accepts (round 6 from P2, round 2 from P2) → E_UNEXPECTED', async () => {
    for (const round of [6, 2]) {
      const p = pair();
      const s1 = p.p2.start().send!;
      await expectCode(() => p.p1.receive(resign(s1, s1.body, { round })), 'E_UNEXPECTED');
    }
  });

  test('P2: SIGN-4 before SIGN-2 and SIGN-6 before SIGN-4 → E_UNEXPECTED', async () => {
    const p = pair();
    const { log } = await flow(p);
    const a = mkP2({ requestId: p.requestId, m32: p.m32 });
    a.start();
    await expectCode(() => a.receive(log[3]!), 'E_UNEXPECTED');
    const b = mkP2({ requestId: p.requestId, m32: p.m32 });
    b.start();
    await b.receive(log[1]!);
    await expectCode(() => b.receive(log[5]!), 'E_UNEXPECTED');
  });

  test('a byte-identical SIGN-1 gets the same SIGN-2; a different SIGN-1 → E_EQUIVOCATION', async () => {
    const p = pair();
    const s1 = p.p2.start().send!;
    const s2 = (await p.p1.receive(s1)).send!;
    assert.deepEqual((await p.p1.receive(s1)).send, s2);
    const s1b = resign(s1, encodeSign1({ ...decodeSign1(s1.body), n2: rng.bytes(32) }));
    await expectCode(() => p.p1.receive(s1b), 'E_EQUIVOCATION');
  });

  test('two different SIGN-5 for one session → E_EQUIVOCATION, decryptions stay 1', async () => {
    const p = pair();
    const { log } = await flow(p);
    assert.equal(p.p1.decryptions, 1);
    const N = dkg.share2.N;
    const { c3 } = decodeSign5(log[4]!.body, N);
    // Same plaintext, re-randomised: c3 · Enc(0; r).
    const c3b = (c3 * encrypt(mp, { N, N2: N * N }, 0n, uniformUnit(rng, N))) % (N * N);
    await expectCode(() => p.p1.receive(resign(log[4]!, encodeSign5({ c3: c3b }, N))), 'E_EQUIVOCATION');
    assert.equal(p.p1.decryptions, 1);
    assert.equal(p.hook.calls, 1);
  });

  test('a valid SIGN-5 after an invalid one (E_CIPHERTEXT) → E_UNEXPECTED, no decryption', async () => {
    const p = pair();
    const { log } = await flow(p, { stop: 5 });
    await expectCode(() => p.p1.receive(resign(log[4]!, encodeSign5({ c3: 0n }, dkg.share2.N))), 'E_CIPHERTEXT');
    await expectCode(() => p.p1.receive(log[4]!), 'E_UNEXPECTED');
    assert.equal(p.p1.decryptions, 0);
  });

  test('a byte-identical SIGN-5 after success returns the cached SIGN-6 without a second decryption', async () => {
    const p = pair();
    const { log } = await flow(p);
    const again = await p.p1.receive(log[4]!);
    assert.deepEqual(again.send, log[5]);
    assert.equal(again.result, undefined);
    assert.equal(p.p1.decryptions, 1);
    assert.equal(p.hook.calls, 1);
  });
});

// While P1 awaits beforeDecrypt (where the daemon takes its per-key lock and writes
// DECRYPT_PENDING), a second receive() of the same session must not decrypt again: a copy
// shares the first one's outcome, a different message closes the session and the pending
// handler then refuses to decrypt (Class B: only SIGNED or FROZEN after the marker).
describe('SIGN-5 delivered twice concurrently to one session', () => {
  const slowHook = () => new Promise<void>((r) => setTimeout(r, 5));

  test('a byte-identical SIGN-5 arriving while the first awaits beforeDecrypt: one decryption, no freeze', async () => {
    const p = pair({ beforeDecrypt: slowHook });
    const { log } = await flow(p, { stop: 5 });
    const results = await Promise.allSettled([p.p1.receive(log[4]!), p.p1.receive(log[4]!)]);
    for (const r of results)
      if (r.status === 'rejected') assert.equal((r.reason as TecdsaError).freezeKey, false, String(r.reason));
    assert.equal(p.p1.decryptions, 1);
  });

  test('two different SIGN-5 arriving concurrently: at most one decryption', async () => {
    const p = pair({ beforeDecrypt: slowHook });
    const { log } = await flow(p, { stop: 5 });
    const N = dkg.share2.N;
    const { c3 } = decodeSign5(log[4]!.body, N);
    const c3b = (c3 * encrypt(mp, { N, N2: N * N }, 0n, uniformUnit(rng, N))) % (N * N);
    const [first, second] = await Promise.allSettled([
      p.p1.receive(log[4]!),
      p.p1.receive(resign(log[4]!, encodeSign5({ c3: c3b }, N))),
    ]);
    assert.ok(p.p1.decryptions <= 1);
    // The equivocating copy is refused; the pending one may not decrypt after it (Class B).
    assert.equal(second.status === 'rejected' && (second.reason as TecdsaError).code, 'E_EQUIVOCATION');
    assert.equal(first.status === 'rejected' && (first.reason as TecdsaError).freezeKey, true);
    assert.equal(p.p1.decryptions, 0);
  });
});

describe('SIGN-1 checks at P1', () => {
  test('m32 differing between P1 and P2 → E_MSG_MISMATCH at SIGN-1, no decryption', async () => {
    const m32 = rng.bytes(32);
    const p = pair({ m32, m32P2: other32(m32) });
    const log: Envelope[] = [];
    await expectCode(() => flow(p, { log }), 'E_MSG_MISMATCH');
    assert.equal(log.length, 1);
    assert.equal(p.p1.decryptions, 0);
  });

  test('SIGN-1 for another keyId → E_UNKNOWN_KEY', async () => {
    const p = pair({ share2: { ...dkg.share2, keyId: other32(dkg.share2.keyId) } });
    await expectCode(() => flow(p), 'E_UNKNOWN_KEY');
    assert.equal(p.p1.decryptions, 0);
  });
});

describe('SIGN-3 checks at P1 (R2, π2)', () => {
  const sign3With = async (f: (b: Uint8Array) => Uint8Array, code: string) => {
    const p = pair();
    const log: Envelope[] = [];
    await expectCode(() => flow(p, { rewrite: onRound(3, f), log }), code);
    assert.equal(log.length, 3, 'rejected at SIGN-3');
    assert.equal(p.p1.decryptions, 0);
  };

  test('π2 with z + 1 → E_PROOF_SCH', async () => {
    await sign3With((b) => {
      const m = decodeSign3(b);
      return encodeSign3({ R2: m.R2, pi2: { A: m.pi2.A, z: modN(m.pi2.z + 1n) } });
    }, 'E_PROOF_SCH');
  });

  test('π2 with another A → E_PROOF_SCH', async () => {
    await sign3With((b) => {
      const m = decodeSign3(b);
      return encodeSign3({ R2: m.R2, pi2: { A: m.pi2.A.add(G), z: m.pi2.z } });
    }, 'E_PROOF_SCH');
  });

  test('R2 replaced by another valid point (π2 unchanged) → E_PROOF_SCH', async () => {
    await sign3With((b) => {
      const m = decodeSign3(b);
      return encodeSign3({ R2: m.R2.add(G), pi2: m.pi2 });
    }, 'E_PROOF_SCH');
  });

  test('π2.z = q → E_SCALAR_RANGE', async () => {
    await sign3With((b) => {
      const m = decodeSign3(b);
      return frame([encPt(m.R2), encPt(m.pi2.A), bigToBytes(q, 32)]);
    }, 'E_SCALAR_RANGE');
  });

  test('R2 identity, uncompressed, bad prefix, X ≥ p, X off the curve → E_POINT', async (t) => {
    let noRoot = 1n;
    while (isSquare(curveRhs(noRoot))) noRoot++;
    const encodings: [string, (R2: Point) => Uint8Array][] = [
      ['identity as 33 zero bytes', () => new Uint8Array(33)],
      ['identity as the single byte 00', () => Uint8Array.of(0)],
      ['uncompressed 04 ‖ X ‖ Y', (R2) => R2.toBytes(false)],
      ['prefix 05', (R2) => concatBytes(Uint8Array.of(5), R2.toBytes(true).subarray(1))],
      ['X = p', () => concatBytes(Uint8Array.of(2), bigToBytes(SECP256K1_P, 32))],
      ['X = p + 1 (≡ 1, on the curve mod p)', () => concatBytes(Uint8Array.of(2), bigToBytes(SECP256K1_P + 1n, 32))],
      ['X with no square root', () => concatBytes(Uint8Array.of(3), bigToBytes(noRoot, 32))],
      ['32 bytes', (R2) => R2.toBytes(true).subarray(1)],
    ];
    for (const [what, enc] of encodings) {
      await t.test(what, async () => {
        await sign3With((b) => {
          const m = decodeSign3(b);
          return frame([enc(m.R2), encPt(m.pi2.A), encSc(m.pi2.z)]);
        }, 'E_POINT');
      });
    }
  });
});

describe('SIGN-4 checks at P2 (opening of C1)', () => {
  const tampers: [string, (b: Uint8Array) => Uint8Array][] = [
    ['R1', (b) => encodeSign4({ ...decodeSign4(b), R1: decodeSign4(b).R1.add(G) })],
    ['π1.A', (b) => encodeSign4({ ...decodeSign4(b), pi1: { ...decodeSign4(b).pi1, A: decodeSign4(b).pi1.A.add(G) } })],
    [
      'π1.z',
      (b) => encodeSign4({ ...decodeSign4(b), pi1: { ...decodeSign4(b).pi1, z: modN(decodeSign4(b).pi1.z + 1n) } }),
    ],
    ['salt', (b) => encodeSign4({ ...decodeSign4(b), salt: other32(decodeSign4(b).salt) })],
  ];
  for (const [what, f] of tampers) {
    test(`a bad opening of C1 (${what} changed) → E_COMMITMENT at P2, no SIGN-5`, async () => {
      const p = pair();
      const log: Envelope[] = [];
      await expectCode(() => flow(p, { rewrite: onRound(4, f), log }), 'E_COMMITMENT');
      assert.equal(log.length, 4);
      assert.equal(p.p1.decryptions, 0);
    });
  }
});

describe('SIGN-5 checks at P1 (c3)', () => {
  test('c3 ∈ {0, N, p, q_P, 7p} → E_CIPHERTEXT, no decryption, beforeDecrypt never called', async () => {
    const { N, p: P, q: QP } = dkg.share1.paillier;
    for (const c3 of [0n, N, P, QP, 7n * P]) {
      const p = pair();
      const { log } = await flow(p, { stop: 5 });
      await expectCode(() => p.p1.receive(resign(log[4]!, encodeSign5({ c3 }, N))), 'E_CIPHERTEXT');
      assert.equal(p.p1.decryptions, 0);
      assert.equal(p.hook.calls, 0);
    }
  });

  test('c3 ∈ {N², N² + 1, 2^|N²| − 1} or a c3 field of the wrong length → E_DECODE, no decryption', async () => {
    const { N2 } = dkg.share1.paillier;
    const len = Math.ceil(N2.toString(2).length / 8);
    const fields = [
      bigToBytes(N2, len),
      bigToBytes(N2 + 1n, len),
      bigToBytes((1n << BigInt(8 * len)) - 1n, len),
      bigToBytes(12345n, len - 1),
      bigToBytes(12345n, len + 1),
    ];
    for (const f of fields) {
      const p = pair();
      const { log } = await flow(p, { stop: 5 });
      await expectCode(() => p.p1.receive(resign(log[4]!, frame([f]))), 'E_DECODE');
      assert.equal(p.p1.decryptions, 0);
      assert.equal(p.hook.calls, 0);
    }
  });

  test('c3 · Enc(1) → E_SIGNING_FAILED with freezeKey, one decryption, no secret in the error, session closed', async () => {
    const k1 = uniformRange(rng, 1n, q);
    const p = pair({ k1 });
    const { log } = await flow(p, { stop: 5 });
    const sk = dkg.share1.paillier;
    const { c3 } = decodeSign5(log[4]!.body, sk.N);
    const bad = (c3 * encrypt(mp, sk, 1n, uniformUnit(rng, sk.N))) % sk.N2;
    const badEnv = resign(log[4]!, encodeSign5({ c3: bad }, sk.N));
    const err = await expectCode(() => p.p1.receive(badEnv), 'E_SIGNING_FAILED');
    assert.equal(err.freezeKey, true);
    assert.equal(p.p1.decryptions, 1);
    assert.equal(p.hook.calls, 1);
    assert.equal(p.p1.error, err);

    // Nothing derived from the secrets: d, d mod q, s0 (and its low-s twin), k1, x1.
    const d = decrypt(mp, sk, bad);
    const s0 = modN(modInv(k1, q) * modN(d));
    const text = [err.message, JSON.stringify(err.details), String(err.stack), String(err.cause)]
      .join('\n')
      .toLowerCase();
    for (const v of [d, modN(d), s0, q - s0, k1, dkg.share1.x1]) {
      for (const s of [v.toString(10), v.toString(16), v.toString(16).padStart(64, '0')])
        assert.ok(!text.includes(s), 'the error must not carry a secret-derived value');
    }
    assert.equal(err.cause, undefined);
    assert.deepEqual(Object.keys(err.details), []);

    // Closed: whatever arrives next is E_UNEXPECTED and never decrypted.
    for (const e of [badEnv, log[4]!, log[2]!, log[0]!]) await expectCode(() => p.p1.receive(e), 'E_UNEXPECTED');
    assert.equal(p.p1.decryptions, 1);
  });

  test('beforeDecrypt throwing E_KEY_FROZEN → that error, no decryption, session closed', async () => {
    const p = pair({
      beforeDecrypt: () => {
        throw new TecdsaError('E_KEY_FROZEN', 'key is frozen');
      },
    });
    const { log } = await flow(p, { stop: 5 });
    await expectCode(() => p.p1.receive(log[4]!), 'E_KEY_FROZEN');
    assert.equal(p.p1.decryptions, 0);
    assert.equal(p.hook.calls, 1);
    await expectCode(() => p.p1.receive(log[4]!), 'E_UNEXPECTED');
    assert.equal(p.p1.decryptions, 0);
  });

  test('beforeDecrypt rejecting asynchronously with E_KEY_FROZEN → that error, no decryption', async () => {
    const p = pair({ beforeDecrypt: () => Promise.reject(new TecdsaError('E_KEY_FROZEN', 'key is frozen')) });
    const { log } = await flow(p, { stop: 5 });
    await expectCode(() => p.p1.receive(log[4]!), 'E_KEY_FROZEN');
    assert.equal(p.p1.decryptions, 0);
  });
});

describe('R_x ≥ q (§8.2): rOf', () => {
  test('rOf refuses a real curve point whose x lies in [q, p) with E_R_OVERFLOW', async () => {
    let x = q;
    while (!isSquare(curveRhs(x))) x++;
    assert.ok(x < SECP256K1_P);
    const y = modPowBigInt(curveRhs(x), (SECP256K1_P + 1n) / 4n, SECP256K1_P);
    assert.equal((y * y) % SECP256K1_P, curveRhs(x));
    for (const yy of [y, SECP256K1_P - y]) {
      const R = Point.fromAffine({ x, y: yy });
      R.assertValidity();
      assert.equal(R.toAffine().x, x);
      await expectCode(() => rOf(R), 'E_R_OVERFLOW');
    }
  });

  test('rOf returns R_x for an ordinary point', () => {
    const R = G.multiply(uniformRange(rng, 1n, q));
    assert.equal(rOf(R), R.toAffine().x);
  });
});

describe('SIGN-6 checks at P2 → E_BAD_SIGNATURE', () => {
  const sign6 = async (f: (sig: Signature, m32: Uint8Array) => Uint8Array) => {
    const p = pair();
    const { log } = await flow(p, { stop: 6 });
    const honest = decodeSign6(log[5]!.body);
    const body = f({ r: honest.r, s: honest.s, recid: honest.recid as 0 | 1 }, p.m32);
    await expectCode(() => p.p2.receive(resign(log[5]!, body)), 'E_BAD_SIGNATURE');
  };

  test('the untampered SIGN-6 is accepted (control)', async () => {
    const p = pair();
    const { p1Sig, p2Sig } = await flow(p);
    assert.ok(p1Sig && p2Sig);
    assert.deepEqual(p2Sig, p1Sig);
  });

  test('s + 1', () => sign6((s) => encodeSign6({ ...s, s: s.s + 1n })));
  test('high-s: q − s with recid flipped (the same signature, not normalised)', () =>
    sign6((s) => encodeSign6({ ...s, s: q - s.s, recid: s.recid ^ 1 })));
  test('high-s: q − s with the same recid', () => sign6((s) => encodeSign6({ ...s, s: q - s.s })));
  test('wrong recid', () => sign6((s) => encodeSign6({ ...s, recid: s.recid ^ 1 })));
  test('s = 0', () => sign6((s) => encodeSign6({ ...s, s: 0n })));
  test('s = q (does not decode)', () => sign6((s) => frame([encSc(s.r), bigToBytes(q, 32), Uint8Array.of(s.recid)])));
  test('recid = 2 (does not decode)', () => sign6((s) => frame([encSc(s.r), encSc(s.s), Uint8Array.of(2)])));
  test('r ≠ own r: a valid low-s signature of the same digest under Q with another nonce', () =>
    sign6((own, m32) => {
      const x = modN(dkg.share1.x1 + dkg.share2.x2);
      const rec = secp256k1.sign(m32, bigToBytes(x, 32), {
        prehash: false,
        lowS: true,
        format: 'recovered',
        extraEntropy: rng.bytes(32),
      });
      const sig = { recid: rec[0]! as 0 | 1, r: bytesToBig(rec.subarray(1, 33)), s: bytesToBig(rec.subarray(33)) };
      assert.notEqual(sig.r, own.r);
      const Qc = dkg.share1.Q.toBytes(true);
      assert.ok(secp256k1.verify(rec.subarray(1), m32, Qc, { prehash: false, lowS: true }));
      assert.deepEqual(secp256k1.recoverPublicKey(rec, m32, { prehash: false }), Qc);
      return encodeSign6(sig);
    }));
});

describe('timeouts (§2: 120 s per step, 10 min per session)', () => {
  test('P1: SIGN-3 after exactly 120 s is accepted, after 120.001 s → E_TIMEOUT', async () => {
    for (const [delay, ok] of [
      [120_000, true],
      [120_001, false],
    ] as const) {
      const clock = { t: 0 };
      const p = pair({ now1: () => clock.t });
      const { log } = await flow(p, { stop: 3 });
      clock.t += delay;
      if (ok) await p.p1.receive(log[2]!);
      else await expectCode(() => p.p1.receive(log[2]!), 'E_TIMEOUT');
    }
  });

  test('P1: SIGN-5 after 121 s → E_TIMEOUT, no decryption', async () => {
    const clock = { t: 0 };
    const p = pair({ now1: () => clock.t });
    const { log } = await flow(p, { stop: 5 });
    clock.t += 121_000;
    await expectCode(() => p.p1.receive(log[4]!), 'E_TIMEOUT');
    assert.equal(p.p1.decryptions, 0);
    assert.equal(p.hook.calls, 0);
    await expectCode(() => p.p1.receive(log[4]!), 'E_UNEXPECTED');
  });

  test('P1: SIGN-1 more than 120 s after the session was created → E_TIMEOUT', async () => {
    const clock = { t: 0 };
    const p = pair({ now1: () => clock.t });
    const s1 = p.p2.start().send!;
    clock.t = 120_001;
    await expectCode(() => p.p1.receive(s1), 'E_TIMEOUT');
  });

  test('P2: SIGN-4 after 121 s → E_TIMEOUT, no SIGN-5', async () => {
    const clock = { t: 0 };
    const p = pair({ now2: () => clock.t });
    const { log } = await flow(p, { stop: 4 });
    clock.t += 121_000;
    await expectCode(() => p.p2.receive(log[3]!), 'E_TIMEOUT');
  });

  test('P1: a session over 10 minutes → E_TIMEOUT even though no single step took 120 s', async () => {
    // Each receive reads the clock before the checks and again after handling (lastActivity).
    // The schedule has slow handlers: every gap between messages stays under 120 s, while the
    // session as a whole passes 10 minutes at SIGN-5 (600.001 s) or stays at it (600 s).
    for (const [last, ok] of [
      [600_000, true],
      [600_001, false],
    ] as const) {
      const times = [0, 100_000, 200_000, 300_000, 490_000, last];
      const now = () => (times.length > 1 ? times.shift()! : times[0]!);
      const p = pair({ now1: now });
      const { log } = await flow(p, { stop: 5 });
      assert.equal(times.length, 1, 'the clock schedule matches the reads');
      if (ok) await p.p1.receive(log[4]!);
      else {
        const err = await expectCode(() => p.p1.receive(log[4]!), 'E_TIMEOUT');
        assert.match(err.message, /10 minutes/);
        assert.equal(p.p1.decryptions, 0);
      }
    }
  });
});

describe('honest signatures', () => {
  test('50 honest runs: every signature low-s, recid ∈ {0,1}, verifies and recovers with @noble/curves, all r distinct', async () => {
    const rs = new Set<bigint>();
    const Qc = dkg.share1.Q.toBytes(true);
    for (let i = 0; i < 50; i++) {
      const p = pair();
      const { p1Sig, p2Sig } = await flow(p);
      assert.ok(p1Sig && p2Sig);
      assert.deepEqual(p2Sig, p1Sig);
      const { r, s, recid } = p1Sig;
      assert.equal(p.p1.decryptions, 1);
      assert.ok(s >= 1n && s <= HALF_N, 'low-s');
      assert.ok(r >= 1n && r < q);
      assert.ok(recid === 0 || recid === 1);
      const compact = new secp256k1.Signature(r, s).toBytes('compact');
      assert.ok(secp256k1.verify(compact, p.m32, Qc, { prehash: false, lowS: true }));
      const recovered = secp256k1.recoverPublicKey(new secp256k1.Signature(r, s, recid).toBytes('recovered'), p.m32, {
        prehash: false,
      });
      assert.equal(bytesToHex(recovered), bytesToHex(Qc));
      rs.add(r);
    }
    assert.equal(rs.size, 50);
  });
});
