// Harness for DKG negative tests (dkg.proofs.neg, dkg.session.neg): one honest DKG per
// fixture, and "clones" of either party that reach any state of that same run cheaply.
//
// Why clones: a session closes on its first failure, so every negative case needs a fresh
// session in the right state. Each party draws all of its randomness from its own seeded
// Rng, and P1 takes a pre-generated Paillier key, so a clone fed the fixture's envelopes
// replays the fixture byte for byte (same n1/n2, sid, shares, proofs). A tampered message
// can then be checked against a session whose other inputs are exactly the honest ones,
// without paying for a Paillier key generation per case.
import assert from 'node:assert/strict';
import { type Envelope, type Identity, identityFromSeed, signEnvelope } from '../src/envelope.ts';
import { frame, unframe } from '../src/encoding.ts';
import { decodeKg1, decodeKg2, decodeKg3, decodeKg4, type Kg3, type Kg4 } from '../src/messages.ts';
import { type PaillierSecretKey, generatePaillier } from '../src/paillier.ts';
import { TEST } from '../src/params.ts';
import { type RingPedersenSecret } from '../src/ringPedersen.ts';
import { seededRng } from '../src/rng.ts';
import { P1Keygen, P2Keygen } from '../src/keygen.ts';
import { type Session, type Step } from '../src/session.ts';
import { kgSid } from '../src/sessionIds.ts';
import { type P1Share, type P2Share } from '../src/shares.ts';
import { expectCode, mp, ringPedersenFor } from './helpers.ts';

export interface KgFixture {
  tag: string;
  id1: Identity;
  id2: Identity;
  requestId: Uint8Array;
  walletId: Uint8Array;
  rp: RingPedersenSecret;
  paillier: PaillierSecretKey;
  /** KG-1..KG-5 of the honest run: env[r − 1] is KG-r. */
  env: Envelope[];
  sid: Uint8Array;
  kg3: Kg3;
  kg4: Kg4;
  share1: P1Share;
  share2: P2Share;
}

export interface P1CloneOpts {
  now?: () => number;
  /** Replaces the fixture's pre-generated key (e.g. by a watched proxy of it). */
  paillier?: PaillierSecretKey;
  walletId?: Uint8Array;
  testOnlyShare?: bigint;
}

export interface P2CloneOpts {
  now?: () => number;
}

type FixtureBase = Pick<KgFixture, 'tag' | 'id1' | 'id2' | 'requestId' | 'walletId' | 'rp' | 'paillier'>;

/** A P1 session of the fixture's run, before KG-1. */
export function p1Clone(f: FixtureBase, o: P1CloneOpts = {}): P1Keygen {
  return new P1Keygen(
    {
      identity: f.id1,
      peerPublicKey: f.id2.publicKey,
      requestId: f.requestId,
      walletId: o.walletId ?? f.walletId,
      rng: seededRng(`${f.tag}/p1`),
      modPow: mp,
      now: o.now ?? (() => 0),
      profile: TEST,
      testOnlyShare: o.testOnlyShare,
    },
    o.paillier ?? f.paillier,
  );
}

function newP2(f: FixtureBase, o: P2CloneOpts = {}): P2Keygen {
  return new P2Keygen(
    {
      identity: f.id2,
      peerPublicKey: f.id1.publicKey,
      requestId: f.requestId,
      walletId: f.walletId,
      rng: seededRng(`${f.tag}/p2`),
      modPow: mp,
      now: o.now ?? (() => 0),
      profile: TEST,
    },
    f.rp,
  );
}

/** A P2 session of the fixture's run, after start() (KG-1 sent, awaiting KG-2). */
export function p2Clone(f: FixtureBase, o: P2CloneOpts = {}): P2Keygen {
  const p2 = newP2(f, o);
  p2.start();
  return p2;
}

/** P1 after the honest KG-1 (awaiting KG-3). */
export async function p1At3(f: KgFixture, o: P1CloneOpts = {}): Promise<P1Keygen> {
  const p1 = p1Clone(f, o);
  await p1.receive(f.env[0]!);
  return p1;
}

/** P1 after the honest KG-1 and KG-3 (awaiting KG-5). */
export async function p1At5(f: KgFixture, o: P1CloneOpts = {}): Promise<P1Keygen> {
  const p1 = await p1At3(f, o);
  await p1.receive(f.env[2]!);
  return p1;
}

/** P2 after KG-2 (awaiting KG-4); `kg2` replaces the honest KG-2, e.g. one with another C1. */
export async function p2At4(f: KgFixture, kg2: Envelope = f.env[1]!, o: P2CloneOpts = {}): Promise<P2Keygen> {
  const p2 = p2Clone(f, o);
  await p2.receive(kg2);
  return p2;
}

/**
 * One honest DKG at the test profile. `tag` seeds everything that is per run (identities are
 * shared by all fixtures so that two runs can be told apart only by their session data).
 */
export async function kgFixture(
  tag: string,
  ids: { requestId?: Uint8Array; walletId?: Uint8Array } = {},
): Promise<KgFixture> {
  const base: FixtureBase = {
    tag,
    id1: identityFromSeed(seededRng('kgHarness/id1').bytes(32)),
    id2: identityFromSeed(seededRng('kgHarness/id2').bytes(32)),
    requestId: ids.requestId ?? seededRng(`${tag}/requestId`).bytes(32),
    walletId: ids.walletId ?? seededRng(`${tag}/walletId`).bytes(32),
    rp: ringPedersenFor(TEST),
    paillier: generatePaillier(mp, seededRng(`${tag}/paillier`), TEST.nBits),
  };
  const p1 = p1Clone(base);
  const p2 = newP2(base);
  const env: Envelope[] = [];
  let share1: P1Share | undefined;
  let share2: P2Share | undefined;
  let next: Envelope | undefined = p2.start().send;
  while (next) {
    env.push(next);
    if (next.to === 'P1') {
      const s = await p1.receive(next);
      share1 = s.result ?? share1;
      next = s.send;
    } else {
      const s = await p2.receive(next);
      share2 = s.result ?? share2;
      next = s.send;
    }
  }
  assert.equal(env.length, 5);
  assert.ok(share1 && share2, 'the fixture DKG completes');
  const { n2 } = decodeKg1(env[0]!.body);
  const { n1 } = decodeKg2(env[1]!.body);
  const sid = kgSid(
    {
      requestId: base.requestId,
      walletId: base.walletId,
      idpk1: base.id1.publicKey,
      idpk2: base.id2.publicKey,
      n1,
      n2,
    },
    TEST,
  );
  return {
    ...base,
    env,
    sid,
    kg3: decodeKg3(env[2]!.body, TEST),
    kg4: decodeKg4(env[3]!.body, TEST, base.rp.Nhat),
    share1,
    share2,
  };
}

/** The same envelope with a new body (and header changes), signed by `signer` (default: its sender). */
export function resign(
  f: Pick<KgFixture, 'id1' | 'id2'>,
  e: Envelope,
  body: Uint8Array = e.body,
  over: Partial<Pick<Envelope, 'requestId' | 'round' | 'kind' | 'from' | 'to'>> & { signer?: Identity } = {},
): Envelope {
  return signEnvelope(over.signer ?? (e.from === 'P1' ? f.id1 : f.id2), {
    v: e.v,
    kind: over.kind ?? e.kind,
    requestId: over.requestId ?? e.requestId,
    round: over.round ?? e.round,
    from: over.from ?? e.from,
    to: over.to ?? e.to,
    body,
  });
}

/** `body` with top-level field `i` (of `n`) replaced; `inner` = [n', i'] descends into that composite field. */
export function replaceField(body: Uint8Array, n: number, i: number, value: Uint8Array, inner?: [number, number]) {
  const f = unframe(body, n);
  f[i] = inner ? replaceField(f[i]!, inner[0], inner[1], value) : value;
  return frame(f);
}

export { expectCode };

/**
 * `s` refuses `e` with `code` and is closed by it: receive() produced no Step (no send, no
 * result), the session records the error and is not done, and `later` (an honest message the
 * session would otherwise have accepted or answered) is refused as E_UNEXPECTED.
 */
export async function rejectsAndCloses<R>(s: Session<R>, e: Envelope, code: string, later: Envelope): Promise<void> {
  let step: Step<R> | undefined;
  await expectCode(async () => {
    step = await s.receive(e);
  }, code);
  assert.equal(step, undefined, 'nothing is sent and no result is produced');
  assert.equal(s.error?.code, code);
  assert.equal(s.done, false);
  const after = await expectCode(() => s.receive(later), 'E_UNEXPECTED');
  assert.equal(after.details.closedWith, code);
}

/** `s` refuses `e` with `code` (a message that is not the peer's) and stays open. */
export async function rejectsAndStaysOpen<R>(s: Session<R>, e: Envelope, code: string): Promise<void> {
  await expectCode(() => s.receive(e), code);
  assert.equal(s.error, undefined, 'the session is not closed by a message that is not the peer’s');
  assert.equal(s.done, false);
}

/** Flips the lowest bit of byte `i` (default: the first) of a copy. */
export function flipByte(b: Uint8Array, i = 0): Uint8Array {
  const c = b.slice();
  c[i]! ^= 0x01;
  return c;
}
