// The §9.1 selective-failure attack (CVE-2023-33242 class) against the real P1Signer, with the
// signer daemon's freeze rule (§9.3) modelled here: one key record with a `frozen` flag set on
// the first error carrying freezeKey, SIGN-1 refused for a frozen key, SIGN-5 handled under a
// per-key lock whose beforeDecrypt hook throws E_KEY_FROZEN once the key is frozen.
//
// The malicious desktop runs the honest P2Signer for SIGN-1..SIGN-4 (so every check P1 makes
// up to SIGN-5 passes) and then crafts SIGN-5 itself with a' = a + L·q instead of a. Then
// d = a'·x1 + b is still ≡ a·x1 + b (mod q), so the signature comes out right, unless d
// crosses the first boundary P1 checks. In this implementation that boundary is D_max = 2^1160
// (§8.4 step 5; N ≥ 2^1535 is never reached first), so success ⇔ a'·x1 + b < 2^1160 ⇔ x1 < T
// for the threshold T = (2^1160 − b)/a' that the attacker picks through L. The oracle is real
// (first test); the freeze rule leaves it exactly one answer per key (the others).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TecdsaError } from '../src/errors.ts';
import { bytesToBig } from '../src/bytes.ts';
import { SECP256K1_N, modN } from '../src/curve.ts';
import { type Envelope, type Identity, identityFromSeed, signEnvelope } from '../src/envelope.ts';
import { modInv } from '../src/arith.ts';
import { decodeSign4, encodeSign5 } from '../src/messages.ts';
import { D_MAX_BITS, TEST } from '../src/params.ts';
import { seededRng, uniformRange, uniformUnit } from '../src/rng.ts';
import { type DkgRun, runDkg } from '../src/runLocal.ts';
import { P1Signer, P2Signer } from '../src/sign.ts';
import { mp, ringPedersenFor } from './helpers.ts';

const q = SECP256K1_N;
const BOUND = 1n << BigInt(D_MAX_BITS);
const rng = seededRng('attack.abort');
const id1: Identity = identityFromSeed(seededRng('attack.abort/id1').bytes(32));
const id2: Identity = identityFromSeed(seededRng('attack.abort/id2').bytes(32));
let dkg: DkgRun;

before(async () => {
  dkg = await runDkg({ p1: id1, p2: id2, rng, modPow: mp, profile: TEST }, ringPedersenFor(TEST), {
    requestId: rng.bytes(32),
    walletId: rng.bytes(32),
  });
});

const common = () => ({ rng, modPow: mp, profile: TEST, now: () => 0 });

/** What happened to SIGN-5 in the critical section, in lock order. */
type LockEvent = 'signed' | 'failed' | 'stopped-frozen';

/** The signer daemon's view of one key (§9.3), reduced to what the freeze rule needs. */
class KeyRecord {
  frozen = false;
  /** Decryptions over all sessions of this key, and those that began after the freeze. */
  decryptions = 0;
  decryptionsAfterFreeze = 0;
  failedDecryptions = 0;
  refusedAtSign1 = 0;
  readonly lockOrder: LockEvent[] = [];
  readonly sessions: P1Signer[] = [];
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly freezeRule = true) {}

  /** SIGN-1: a frozen key gets E_KEY_FROZEN and no session (§9.3 item 4). */
  async sign1(requestId: Uint8Array, m32: Uint8Array, env: Envelope): Promise<{ p1: P1Signer; reply: Envelope }> {
    if (this.frozen) {
      this.refusedAtSign1++;
      throw new TecdsaError('E_KEY_FROZEN', 'key is frozen');
    }
    const p1 = new P1Signer({
      ...common(),
      identity: id1,
      peerPublicKey: id2.publicKey,
      requestId,
      m32,
      share: dkg.share1,
      beforeDecrypt: () => {
        if (this.frozen) throw new TecdsaError('E_KEY_FROZEN', 'key is frozen');
      },
    });
    this.sessions.push(p1);
    return { p1, reply: (await p1.receive(env)).send! };
  }

  /** Any later message; SIGN-5 runs entirely under the per-key lock (§9.3 item 2). */
  async receive(p1: P1Signer, env: Envelope): Promise<Envelope | undefined> {
    if (env.round !== 5) return (await p1.receive(env)).send;
    return this.locked(async () => {
      const before = p1.decryptions;
      const frozenAtEntry = this.frozen;
      try {
        const step = await p1.receive(env);
        this.lockOrder.push('signed');
        return step.send;
      } catch (e) {
        if (e instanceof TecdsaError && e.freezeKey) {
          this.failedDecryptions++;
          this.lockOrder.push('failed');
          if (this.freezeRule) this.frozen = true; // durably, before anything is sent back
        } else if (e instanceof TecdsaError && e.code === 'E_KEY_FROZEN') this.lockOrder.push('stopped-frozen');
        throw e;
      } finally {
        const made = p1.decryptions - before;
        this.decryptions += made;
        if (frozenAtEntry) this.decryptionsAfterFreeze += made;
      }
    });
  }

  private async locked<T>(f: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    await prev;
    try {
      return await f();
    } finally {
      release();
    }
  }
}

/** The compromised desktop: knows x2, its nonce k2, N and c_key; signs with P2's identity key. */
class MaliciousP2 {
  readonly requestId = rng.bytes(32);
  readonly m32 = rng.bytes(32);
  private readonly k2 = uniformRange(rng, 1n, q);
  private readonly honest = new P2Signer({
    ...common(),
    identity: id2,
    peerPublicKey: id1.publicKey,
    requestId: this.requestId,
    m32: this.m32,
    share: dkg.share2,
    testOnlyNonce: this.k2,
  });

  start(): Envelope {
    return this.honest.start().send!;
  }

  async onSign2(env: Envelope): Promise<Envelope> {
    return (await this.honest.receive(env)).send!;
  }

  /**
   * Lets the honest code check SIGN-4 (and discards the honest SIGN-5 it builds), then sends
   * c3 = c_key^a' · (1 + b·N) · r^N with a' = a + L·q aimed at threshold T (ρ = 0: the attacker
   * wants a sharp predicate). Returns the envelope and, for the test only, the true predicate.
   */
  async onSign4(env: Envelope, T: bigint): Promise<{ sign5: Envelope; willSucceed: boolean }> {
    await this.honest.receive(env);
    const { N, cKey, x2 } = dkg.share2;
    const N2 = N * N;
    const r = decodeSign4(env.body).R1.multiply(this.k2).toAffine().x;
    const kappa = modInv(this.k2, q);
    const a = modN(kappa * r);
    const b = modN(kappa * (modN(bytesToBig(this.m32)) + r * x2));
    const L = (BOUND / T - a) / q;
    assert.ok(L > 0n);
    const aPrime = a + L * q;
    const c3 = (((mp.pow(cKey, aPrime, N2) * ((1n + b * N) % N2)) % N2) * mp.pow(uniformUnit(rng, N), N, N2)) % N2;
    const sign5 = signEnvelope(id2, {
      v: 1,
      kind: 'sign',
      requestId: this.requestId,
      round: 5,
      from: 'P2',
      to: 'P1',
      body: encodeSign5({ c3 }, N),
    });
    // Only the test knows x1: whether this query's answer is "x1 < T".
    return { sign5, willSucceed: aPrime * dkg.share1.x1 + b < BOUND };
  }
}

type Outcome =
  | { kind: 'signed'; willSucceed: boolean }
  | { kind: 'failed'; willSucceed: boolean }
  | { kind: 'frozen-at-sign1' }
  | { kind: 'frozen-before-decrypt' };

const pause = () => new Promise<void>((r) => setImmediate(r));

/** One attack session through the daemon; `interleave` yields between steps. */
async function attackSession(key: KeyRecord, T: bigint, interleave = false): Promise<Outcome> {
  const mal = new MaliciousP2();
  const step = async () => {
    if (interleave) await pause();
  };
  let p1: P1Signer;
  let s2: Envelope;
  try {
    ({ p1, reply: s2 } = await key.sign1(mal.requestId, mal.m32, mal.start()));
  } catch (e) {
    if (e instanceof TecdsaError && e.code === 'E_KEY_FROZEN') return { kind: 'frozen-at-sign1' };
    throw e;
  }
  await step();
  const s3 = await mal.onSign2(s2);
  await step();
  const s4 = (await key.receive(p1, s3))!;
  await step();
  const { sign5, willSucceed } = await mal.onSign4(s4, T);
  await step();
  try {
    await key.receive(p1, sign5);
    return { kind: 'signed', willSucceed };
  } catch (e) {
    if (!(e instanceof TecdsaError)) throw e;
    if (e.code === 'E_SIGNING_FAILED') return { kind: 'failed', willSucceed };
    if (e.code === 'E_KEY_FROZEN') return { kind: 'frozen-before-decrypt' };
    throw e;
  }
}

describe('§9.1 selective-failure attack against P1Signer with the freeze rule', () => {
  test('without the freeze rule the oracle is real: 16 binary-search sessions reveal the top 16 bits of x1', async () => {
    const key = new KeyRecord(false);
    let lo = 0n;
    let hi = q;
    for (let i = 0; i < 16; i++) {
      const T = (lo + hi) / 2n;
      const o = await attackSession(key, T);
      assert.ok(o.kind === 'signed' || o.kind === 'failed');
      assert.equal(o.kind === 'signed', o.willSucceed, 'P1 answered exactly the attacker’s predicate');
      if (o.kind === 'signed') hi = T;
      else lo = T;
    }
    const x1 = dkg.share1.x1;
    // T is within a hair of the ideal threshold, so x1 lies in (or at the edge of) the final interval.
    const slack = q >> 200n;
    assert.ok(x1 >= lo - slack && x1 < hi + slack);
    assert.ok(hi - lo <= (q >> 16n) + 1n);
    assert.ok(key.failedDecryptions >= 1, 'the binary search met failures');
  });

  test('300 serial adaptive sessions, then 100 concurrent: exactly one decryption fails, none happen after the freeze', async () => {
    const key = new KeyRecord();
    const outcomes: Outcome[] = [];
    let lo = 0n;
    let hi = q;
    for (let i = 0; i < 300; i++) {
      const T = (lo + hi) / 2n;
      const o = await attackSession(key, T);
      outcomes.push(o);
      if (o.kind === 'signed') hi = T;
      else if (o.kind === 'failed') lo = T;
    }
    const firstFail = outcomes.findIndex((o) => o.kind === 'failed');
    assert.ok(firstFail >= 0, 'the attack caused a failure');
    // Outcome sequence: successes (each the true answer), one failure, then only refusals.
    for (const [i, o] of outcomes.entries()) {
      if (i < firstFail) assert.deepEqual(o, { kind: 'signed', willSucceed: true });
      else if (i === firstFail) assert.deepEqual(o, { kind: 'failed', willSucceed: false });
      else assert.equal(o.kind, 'frozen-at-sign1', `session ${i} stopped before decryption`);
    }
    assert.equal(key.frozen, true);
    assert.equal(key.failedDecryptions, 1);
    assert.equal(key.decryptions, firstFail + 1);
    assert.equal(key.decryptionsAfterFreeze, 0);
    assert.equal(key.refusedAtSign1, 300 - firstFail - 1);

    const later = await Promise.all(Array.from({ length: 100 }, (_, i) => attackSession(key, q >> BigInt(i), true)));
    assert.ok(later.every((o) => o.kind === 'frozen-at-sign1'));
    assert.equal(key.failedDecryptions, 1, 'exactly one failed decryption overall');
    assert.equal(key.decryptions, firstFail + 1);
    assert.equal(key.decryptionsAfterFreeze, 0);
    assert.equal(
      key.sessions.reduce((n, s) => n + s.decryptions, 0),
      key.decryptions,
      'the daemon saw every decryption',
    );
  });

  test('100 concurrent interleaved sessions on an active key: one failure, every SIGN-5 after it stops before decryption', async () => {
    const key = new KeyRecord();
    // Thresholds from q down to q/2^99: the first ones may succeed, the later ones cannot.
    const outcomes = await Promise.all(Array.from({ length: 100 }, (_, i) => attackSession(key, q >> BigInt(i), true)));
    assert.equal(key.failedDecryptions, 1);
    assert.equal(key.decryptionsAfterFreeze, 0);
    assert.equal(key.frozen, true);
    const failAt = key.lockOrder.indexOf('failed');
    assert.ok(failAt >= 0);
    assert.ok(key.lockOrder.slice(0, failAt).every((e) => e === 'signed'));
    assert.ok(key.lockOrder.slice(failAt + 1).every((e) => e === 'stopped-frozen'));
    const inFlight = outcomes.filter((o) => o.kind === 'frozen-before-decrypt').length;
    assert.ok(inFlight > 0, 'sessions in flight at the freeze were stopped by the critical-section check');
    assert.equal(key.lockOrder.length - failAt - 1, inFlight);
    assert.equal(key.decryptions, failAt + 1);
    assert.equal(
      key.sessions.reduce((n, s) => n + s.decryptions, 0),
      key.decryptions,
    );
    for (const o of outcomes) if (o.kind === 'signed') assert.equal(o.willSucceed, true);
  });
});
