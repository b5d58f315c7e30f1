// Per-field tampering of the DKG proofs (PROTOCOL.md §5, §7, §10, §13.2 "DKG"), test profile.
// One honest DKG for the whole file (kgHarness); Πmod, Πfac and Πlog* are checked by calling
// their verifiers on tampered proof objects, and one case of each, plus every Πsch and
// commitment case, goes through a real P2Keygen/P1Keygen session so that the session is seen
// to close and send nothing. Already covered elsewhere (dkg.core.neg): BitForge and malformed
// N, r·P·Q, Πlog* |z1| = 2^768 + 1 and the Q2 statement, Πprm tampering, KG-4 salt.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TecdsaError } from '../src/errors.ts';
import { bigToBytes, bitLength, bytesToBig, utf8 } from '../src/bytes.ts';
import { gcd, isqrt, mod, powSigned } from '../src/arith.ts';
import { G, type Point, SECP256K1_N, modN, mulG, mulUnsafe } from '../src/curve.ts';
import { commit } from '../src/commitment.ts';
import { encInt, encMod, encNat, encPt, encSc, unframe } from '../src/encoding.ts';
import { scalarChallenge } from '../src/hash.ts';
import { type Envelope } from '../src/envelope.ts';
import { type Kg4, decodeKg1, decodeKg2, decodeKg4, encodeKg2, encodeKg3, encodeKg4 } from '../src/messages.ts';
import { encrypt, encryptWithSecret, isValidCiphertext } from '../src/paillier.ts';
import { ELL, EPS, TEST } from '../src/params.ts';
import { randomBlumPrime } from '../src/primes.ts';
import { type RingPedersenParams, rpCommit } from '../src/ringPedersen.ts';
import { seededRng, uniformSigned, uniformUnit } from '../src/rng.ts';
import { kgSid } from '../src/sessionIds.ts';
import { type SchnorrProof, proveSchnorr } from '../src/proofs/schnorr.ts';
import { type ModItem, type ModProof, modChallenges, proveMod, verifyMod } from '../src/proofs/mod.ts';
import { type FacProof, facBounds, proveFac, verifyFac } from '../src/proofs/fac.ts';
import {
  LOGSTAR_Z1_BOUND,
  type LogStarProof,
  type LogStarStatement,
  proveLogStar,
  verifyLogStar,
} from '../src/proofs/logstar.ts';
import { mp, ringPedersenFor } from './helpers.ts';
import {
  type KgFixture,
  flipByte,
  kgFixture,
  p1At3,
  p2At4,
  rejectsAndCloses,
  replaceField,
  resign,
} from './kgHarness.ts';

const q = SECP256K1_N;
const rng = seededRng('dkg.proofs.neg');
let f: KgFixture;
/** The sid of another DKG of the same parties (another n1): what a replayed proof is bound to. */
let otherSid: Uint8Array;

before(async () => {
  f = await kgFixture('dkg.proofs.neg');
  otherSid = kgSid(
    {
      requestId: f.requestId,
      walletId: f.walletId,
      idpk1: f.id1.publicKey,
      idpk2: f.id2.publicKey,
      n1: rng.bytes(32),
      n2: decodeKg1(f.env[0]!.body).n2,
    },
    TEST,
  );
});

const N = () => f.paillier.N;
const Nhat = () => f.rp.Nhat;
const st = (C: bigint = f.kg4.cKey): LogStarStatement => ({ pk: { N: N(), N2: N() * N() }, C, X: f.kg4.Q1 });
/** KG-4 with another body, properly signed by P1: the sender itself cheats, so only the body is under test. */
const kg4Env = (body: Uint8Array) => resign(f, f.env[3]!, body);
const kg4With = (m: Partial<Kg4>) => kg4Env(encodeKg4({ ...f.kg4, ...m }, Nhat()));

/** P2 awaiting KG-4 refuses `kg4` with `code` and closes. */
async function p2Rejects(kg4: Envelope, code: string, kg2 = f.env[1]!) {
  const p2 = await p2At4(f, kg2);
  await rejectsAndCloses(p2, kg4, code, f.env[3]!);
}

// ---------- Πmod ----------

describe('Πmod (§5.3) → E_PROOF_MOD', () => {
  const verify = (pr: ModProof, sid = f.sid) => verifyMod(mp, sid, N(), pr, TEST.m);
  const withItem = (pr: ModProof, i: number, g: (it: ModItem) => ModItem): ModProof => ({
    ...pr,
    items: pr.items.map((it, j) => (j === i ? g(it) : it)),
  });

  test('the honest Πmod verifies (control)', () => verify(f.kg4.mod));

  const tampers: [string, (pr: ModProof) => ModProof][] = [
    // w² is a unit with Jacobi symbol +1: a prover may only use w with (w|N) = −1, else the
    // four (a, b) choices no longer cover every y_i for a non-Blum N.
    ['w with Jacobi symbol +1 (w² mod N)', (pr) => ({ ...pr, w: (pr.w * pr.w) % N() })],
    ['w = 1 (Jacobi +1)', (pr) => ({ ...pr, w: 1n })],
    ['w sharing a factor with N (w = p)', (pr) => ({ ...pr, w: f.paillier.p })],
    ['w sharing a factor with N (w = 3·q_P)', (pr) => ({ ...pr, w: 3n * f.paillier.q })],
    ['a_5 flipped', (pr) => withItem(pr, 5, (it) => ({ ...it, a: it.a ^ 1 }))],
    ['b_17 flipped', (pr) => withItem(pr, 17, (it) => ({ ...it, b: it.b ^ 1 }))],
    ['a_0 and b_0 both flipped', (pr) => withItem(pr, 0, (it) => ({ ...it, a: it.a ^ 1, b: it.b ^ 1 }))],
    ['x_42 + 1', (pr) => withItem(pr, 42, (it) => ({ ...it, x: it.x + 1n }))],
    [
      'z_3 replaced by y_3',
      (pr) => withItem(pr, 3, (it) => ({ ...it, z: modChallenges(f.sid, N(), pr.w, TEST.m)[3]! })),
    ],
    ['z_60 + 1', (pr) => withItem(pr, 60, (it) => ({ ...it, z: it.z + 1n }))],
    ['x_1 = 0 (decodes, out of [1, N))', (pr) => withItem(pr, 1, (it) => ({ ...it, x: 0n }))],
    ['79 tuples handed to the verifier directly', (pr) => ({ ...pr, items: pr.items.slice(0, 79) })],
  ];
  for (const [what, g] of tampers) {
    test(what, () => assert.throws(() => verify(g(f.kg4.mod)), isCode('E_PROOF_MOD')));
  }

  // Not every change to x_i is an attack: −x_i is another fourth root of the same y'_i and
  // §5.3 checks only the equation, so it verifies. This keeps "x_42 + 1" honest: that case is
  // rejected because the equation fails, not because any change to a proof is.
  test('x_i replaced by N − x_i is accepted ((−x)^4 = x^4; §5.3 checks only the equation)', () => {
    verify(withItem(f.kg4.mod, 79, (it) => ({ ...it, x: N() - it.x })));
  });

  test('an honest Πmod for another sid → E_PROOF_MOD', () => {
    const other = proveMod(mp, rng, otherSid, f.paillier, TEST.m);
    verify(other, otherSid);
    assert.throws(() => verify(other), isCode('E_PROOF_MOD'));
  });

  test('session: KG-4 with a_5 flipped → P2 E_PROOF_MOD, closes, sends nothing', async () => {
    await p2Rejects(kg4With({ mod: withItem(f.kg4.mod, 5, (it) => ({ ...it, a: it.a ^ 1 })) }), 'E_PROOF_MOD');
  });

  test('session: KG-4 with 79 Πmod tuples → E_DECODE (the list count is fixed by the decoder, §3.2a item 8)', async () => {
    const body = encodeKg4({ ...f.kg4, mod: { ...f.kg4.mod, items: f.kg4.mod.items.slice(0, 79) } }, Nhat());
    assert.throws(() => decodeKg4(body, TEST, Nhat()), isCode('E_DECODE'));
    await p2Rejects(kg4Env(body), 'E_DECODE');
  });
});

// ---------- Πfac ----------

describe('Πfac (§5.4) → E_PROOF_FAC', () => {
  const verify = (pr: FacProof, o: { sid?: Uint8Array; N0?: bigint; rp?: RingPedersenParams } = {}) =>
    verifyFac(mp, o.sid ?? f.sid, o.N0 ?? N(), o.rp ?? f.rp, pr);

  test('the honest Πfac verifies (control)', () => verify(f.kg4.fac));

  const residues = ['P', 'Q', 'A', 'B', 'T'] as const;
  const integers = ['sigma', 'z1', 'z2', 'w1', 'w2', 'v'] as const;
  for (const k of [...residues, ...integers]) {
    test(`${k} + 1`, () => {
      const pr = { ...f.kg4.fac, [k]: f.kg4.fac[k] + 1n };
      // Still a unit below N̂ / within its cap: the rejection must come from the equations or
      // the challenge, not from a range check.
      if ((residues as readonly string[]).includes(k)) assert.equal(gcd(pr[k], Nhat()), 1n);
      assert.throws(() => verify(pr), isCode('E_PROOF_FAC'));
    });
  }

  test('each commitment replaced by another unit (s·X mod N̂)', () => {
    for (const k of residues) {
      const pr = { ...f.kg4.fac, [k]: (f.kg4.fac[k] * f.rp.s) % Nhat() };
      assert.throws(() => verify(pr), isCode('E_PROOF_FAC'), k);
    }
  });

  test('z1 = B_fac + 1 and z2 = −(B_fac + 1) → E_PROOF_FAC (B_fac = 2^(ℓ+ε+1)·⌊√N⌋)', () => {
    const B = facBounds(N(), Nhat()).z;
    assert.equal(B, (1n << BigInt(ELL + EPS + 1)) * isqrt(N()));
    assert.throws(() => verify({ ...f.kg4.fac, z1: B + 1n }), isCode('E_PROOF_FAC'));
    assert.throws(() => verify({ ...f.kg4.fac, z2: -(B + 1n) }), isCode('E_PROOF_FAC'));
  });

  test('session: z1 = B_fac + 1 decodes (the decoder cap is in whole bytes) and P2 rejects it with E_PROOF_FAC', async () => {
    const B = facBounds(N(), Nhat()).z;
    const body = encodeKg4({ ...f.kg4, fac: { ...f.kg4.fac, z1: B + 1n } }, Nhat());
    assert.equal(decodeKg4(body, TEST, Nhat()).fac.z1, B + 1n);
    await p2Rejects(kg4Env(body), 'E_PROOF_FAC');
  });

  test('the §5.4 equations written out below accept the honest proof (control for the next test)', () => {
    assert.ok(facEquationsHold(N(), f.kg4.fac));
  });

  // What B_fac is for: an honest prover run on N0 = r·P with a 24-bit prime r (above the
  // 2^16 trial division) and p̃ = P produces a proof whose three equations all hold; only
  // |z1| = |α + e·P| ≫ 2^(ℓ+ε+1)·⌊√N0⌋ gives the small factor away.
  test('N0 = r·P (r a 24-bit prime), honest prover with p̃ = P: every equation holds, |z1| > B_fac → E_PROOF_FAC', () => {
    const r = 16777213n;
    let P: bigint;
    do P = randomBlumPrime(mp, rng, TEST.nBits - 24);
    while (bitLength(r * P) !== TEST.nBits);
    const N0 = r * P;
    const fake = { ...f.paillier, N: N0, N2: N0 * N0, p: P, q: r };
    const pr = proveFac(mp, rng, f.sid, fake, f.rp);
    assert.ok(facEquationsHold(N0, pr));
    assert.ok(pr.z1 > facBounds(N0, Nhat()).z);
    assert.throws(() => verify(pr, { N0 }), isCode('E_PROOF_FAC'));
  });

  test('the proof presented for N + 2 → E_PROOF_FAC', () => {
    assert.throws(() => verify(f.kg4.fac, { N0: N() + 2n }), isCode('E_PROOF_FAC'));
  });

  test("an honest Πfac made against another device's (N̂, s, t) → E_PROOF_FAC", () => {
    const otherRp = ringPedersenFor(TEST, 'dkg.proofs.neg/other-device');
    assert.notEqual(otherRp.Nhat, Nhat());
    const pr = proveFac(mp, rng, f.sid, f.paillier, otherRp);
    verify(pr, { rp: otherRp });
    assert.throws(() => verify(pr), isCode('E_PROOF_FAC'));
  });

  test('an honest Πfac for another sid → E_PROOF_FAC', () => {
    const pr = proveFac(mp, rng, otherSid, f.paillier, f.rp);
    verify(pr, { sid: otherSid });
    assert.throws(() => verify(pr), isCode('E_PROOF_FAC'));
  });
});

/** The three equations of §5.4 verify step 4 with the challenge written out from the spec, no range checks. */
function facEquationsHold(N0: bigint, pr: FacProof): boolean {
  const Nh = Nhat();
  const M = (x: bigint) => encMod(x, Nh);
  const e = scalarChallenge('fac', [
    f.sid,
    utf8('N'),
    utf8('P1'),
    encNat(N0),
    encNat(Nh),
    M(f.rp.s),
    M(f.rp.t),
    M(pr.P),
    M(pr.Q),
    M(pr.A),
    M(pr.B),
    M(pr.T),
    encInt(pr.sigma),
  ]);
  const R = rpCommit(mp, f.rp, N0, pr.sigma);
  return (
    rpCommit(mp, f.rp, pr.z1, pr.w1) === (pr.A * mp.pow(pr.P, e, Nh)) % Nh &&
    rpCommit(mp, f.rp, pr.z2, pr.w2) === (pr.B * mp.pow(pr.Q, e, Nh)) % Nh &&
    (powSigned(mp, pr.Q, pr.z1, Nh) * powSigned(mp, f.rp.t, pr.v, Nh)) % Nh === (pr.T * mp.pow(R, e, Nh)) % Nh
  );
}

// ---------- Πlog* ----------

/** The Πlog* challenge of §5.5, written out from the spec (checked against the prover below). */
function logStarE(s: LogStarStatement, S: bigint, A: bigint, Y: Point, D: bigint, sid = f.sid): bigint {
  const { N: N0, N2 } = s.pk;
  const Nh = Nhat();
  return scalarChallenge('logstar', [
    sid,
    utf8('Q1'),
    utf8('P1'),
    encNat(N0),
    encNat(Nh),
    encMod(f.rp.s, Nh),
    encMod(f.rp.t, Nh),
    encMod(s.C, N2),
    encPt(s.X),
    encPt(G),
    encMod(S, Nh),
    encMod(A, N2),
    encPt(Y),
    encMod(D, Nh),
  ]);
}

/**
 * The honest Πlog* prover of §5.5 run once, without its "restart if |z1| > 2^768" loop: with
 * a witness far outside the range the real prover would loop for ever, and this is what a
 * prover that does not care about that rule sends.
 */
function logStarOnce(s: LogStarStatement, x: bigint, rho: bigint): LogStarProof {
  const Nh = Nhat();
  let alpha: bigint;
  do alpha = uniformSigned(rng, 1n << BigInt(ELL + EPS));
  while (modN(alpha) === 0n);
  const mu = uniformSigned(rng, (1n << BigInt(ELL)) * Nh);
  const r = uniformUnit(rng, N());
  const gamma = uniformSigned(rng, (1n << BigInt(ELL + EPS)) * Nh);
  const S = rpCommit(mp, f.rp, x, mu);
  const A = encryptWithSecret(mp, f.paillier, alpha, r);
  const Y = mulG(modN(alpha));
  const D = rpCommit(mp, f.rp, alpha, gamma);
  const e = logStarE(s, S, A, Y, D);
  return { S, A, Y, D, z1: alpha + e * x, z2: (r * mp.pow(rho, e, N())) % N(), z3: gamma + e * mu };
}

describe('Πlog* (§5.5) → E_PROOF_LOGSTAR', () => {
  const verify = (pr: LogStarProof, s = st(), sid = f.sid) => verifyLogStar(mp, sid, s, f.rp, pr);

  test('the honest Πlog* verifies (control)', () => verify(f.kg4.logstar));

  const tampers: [string, (pr: LogStarProof) => LogStarProof, (pr: LogStarProof) => boolean][] = [
    ['S + 1', (pr) => ({ ...pr, S: pr.S + 1n }), (pr) => gcd(pr.S, Nhat()) === 1n && pr.S < Nhat()],
    ['A + 1', (pr) => ({ ...pr, A: pr.A + 1n }), (pr) => isValidCiphertext(st().pk, pr.A)],
    ['Y + G', (pr) => ({ ...pr, Y: pr.Y.add(G) }), (pr) => !pr.Y.is0()],
    ['D + 1', (pr) => ({ ...pr, D: pr.D + 1n }), (pr) => gcd(pr.D, Nhat()) === 1n && pr.D < Nhat()],
    ['z1 + 1', (pr) => ({ ...pr, z1: pr.z1 + 1n }), (pr) => pr.z1 <= LOGSTAR_Z1_BOUND && -pr.z1 <= LOGSTAR_Z1_BOUND],
    ['z2 + 1', (pr) => ({ ...pr, z2: pr.z2 + 1n }), (pr) => gcd(pr.z2, N()) === 1n && pr.z2 < N()],
    ['z3 + 1', (pr) => ({ ...pr, z3: pr.z3 + 1n }), () => true],
  ];
  for (const [what, g, stillWellFormed] of tampers) {
    test(what, () => {
      const pr = g(f.kg4.logstar);
      // A well-formed value, so that the equations (not a range check) are what reject it.
      assert.ok(stillWellFormed(pr));
      assert.throws(() => verify(pr), isCode('E_PROOF_LOGSTAR'));
    });
  }

  test('c_key replaced by a fresh Enc(x1 + 1) → E_PROOF_LOGSTAR', () => {
    const C = encrypt(mp, st().pk, f.share1.x1 + 1n, uniformUnit(rng, N()));
    assert.throws(() => verify(f.kg4.logstar, st(C)), isCode('E_PROOF_LOGSTAR'));
  });

  test('the one-shot prover is the honest prover: with x1 its proof verifies (control for the next test)', () => {
    const rho = uniformUnit(rng, N());
    const s = st(encryptWithSecret(mp, f.paillier, f.share1.x1, rho));
    verify(logStarOnce(s, f.share1.x1, rho), s);
  });

  // The Alpha-Rays-style overflow: c_key encrypts x1 + q·2^600 ≡ x1 (mod q), far above the
  // proven range. All three equations of §5.5 hold for the honest prover's output; only the
  // soundness-critical |z1| ≤ 2^768 check stands between it and acceptance.
  test('c_key = Enc(x1 + q·2^600) with an honestly run prover: every equation holds, |z1| > 2^768 → E_PROOF_LOGSTAR', () => {
    const x = f.share1.x1 + q * (1n << 600n);
    const rho = uniformUnit(rng, N());
    const s = st(encryptWithSecret(mp, f.paillier, x, rho));
    const pr = logStarOnce(s, x, rho);
    const e = logStarE(s, pr.S, pr.A, pr.Y, pr.D);
    const { N: N0, N2 } = s.pk;
    assert.equal(((1n + mod(pr.z1, N0) * N0) * mp.pow(pr.z2, N0, N2)) % N2, (pr.A * mp.pow(s.C, e, N2)) % N2);
    assert.ok(mulUnsafe(G, mod(pr.z1, q)).equals(pr.Y.add(mulUnsafe(s.X, e))));
    assert.equal(rpCommit(mp, f.rp, pr.z1, pr.z3), (pr.D * mp.pow(pr.S, e, Nhat())) % Nhat());
    assert.ok(pr.z1 > LOGSTAR_Z1_BOUND);
    assert.throws(() => verify(pr, s), isCode('E_PROOF_LOGSTAR'));
    // On the wire this z1 is also above the decoder's whole-byte cap (§3.2a item 8).
    const body = encodeKg4({ ...f.kg4, cKey: s.C, logstar: pr }, Nhat());
    assert.throws(() => decodeKg4(body, TEST, Nhat()), isCode('E_DECODE'));
  });

  test('an honest Πlog* for another sid → E_PROOF_LOGSTAR', () => {
    const rho = uniformUnit(rng, N());
    const s = st(encryptWithSecret(mp, f.paillier, f.share1.x1, rho));
    const pr = proveLogStar(mp, rng, otherSid, f.paillier, f.rp, s, f.share1.x1, rho);
    verify(pr, s, otherSid);
    assert.throws(() => verify(pr, s), isCode('E_PROOF_LOGSTAR'));
  });

  test('session: KG-4 with Πlog*.Y + G → P2 E_PROOF_LOGSTAR, closes, sends nothing', async () => {
    await p2Rejects(kg4With({ logstar: { ...f.kg4.logstar, Y: f.kg4.logstar.Y.add(G) } }), 'E_PROOF_LOGSTAR');
  });
});

// ---------- Πsch and the commitment C1 ----------

/**
 * A P1 that commits in KG-2 to a (Q1, π1) of its choosing and opens exactly that in KG-4;
 * n1, hence the sid, and everything else stay the fixture's. Without re-committing, any
 * change to Q1 or π1 would be caught by the commitment first (§7 P2 step 1).
 */
function committed(Q1: Point, pi1: SchnorrProof, encZ: Uint8Array = encSc(pi1.z)) {
  const salt1 = rng.bytes(32);
  const C1 = commit(f.sid, 'Q1', 'P1', [encPt(Q1), encPt(pi1.A), encZ], salt1);
  const kg2 = resign(f, f.env[1]!, encodeKg2({ ...decodeKg2(f.env[1]!.body), C1 }));
  const honest = encodeKg4({ ...f.kg4, Q1, pi1, salt1 }, Nhat());
  return { kg2, kg4: kg4Env(replaceField(honest, 9, 2, encZ)) };
}

describe('Πsch of Q1 in KG-4 (§5.1, §7 P2 step 1) → E_PROOF_SCH / E_SCALAR_RANGE', () => {
  test('re-committing the honest (Q1, π1) under a new salt is accepted (control for the harness)', async () => {
    const { kg2, kg4 } = committed(f.kg4.Q1, f.kg4.pi1);
    const p2 = await p2At4(f, kg2);
    const step = await p2.receive(kg4);
    assert.ok(step.result && step.send);
  });

  const cases: [string, () => ReturnType<typeof committed>, string][] = [
    ['π1.A + G', () => committed(f.kg4.Q1, { ...f.kg4.pi1, A: f.kg4.pi1.A.add(G) }), 'E_PROOF_SCH'],
    ['π1.z + 1', () => committed(f.kg4.Q1, { ...f.kg4.pi1, z: modN(f.kg4.pi1.z + 1n) }), 'E_PROOF_SCH'],
    // Sc(q) is not a scalar encoding: the decoder stops it (§3.2a item 8), before any opening.
    ['π1.z = q', () => committed(f.kg4.Q1, f.kg4.pi1, bigToBytes(q, 32)), 'E_SCALAR_RANGE'],
    ['π1.z = 2^256 − 1', () => committed(f.kg4.Q1, f.kg4.pi1, new Uint8Array(32).fill(0xff)), 'E_SCALAR_RANGE'],
    [
      'an honest π1 for another sid',
      () => committed(f.kg4.Q1, proveSchnorr(rng, otherSid, 'Q1', 'P1', f.share1.x1, f.kg4.Q1)),
      'E_PROOF_SCH',
    ],
    [
      "role swap: P2's own (Q2, π2) from KG-3 reflected as (Q1, π1)",
      () => committed(f.kg3.Q2, f.kg3.pi2),
      'E_PROOF_SCH',
    ],
    [
      "role swap: π1 proved under P2's label and role (Q2, P2)",
      () => committed(f.kg4.Q1, proveSchnorr(rng, f.sid, 'Q2', 'P2', f.share1.x1, f.kg4.Q1)),
      'E_PROOF_SCH',
    ],
    // Same label, other role: only the role string in the challenge separates the two.
    [
      'π1 proved under role P2 with label Q1',
      () => committed(f.kg4.Q1, proveSchnorr(rng, f.sid, 'Q1', 'P2', f.share1.x1, f.kg4.Q1)),
      'E_PROOF_SCH',
    ],
    [
      'π1 proved under label R1 (a signing label)',
      () => committed(f.kg4.Q1, proveSchnorr(rng, f.sid, 'R1', 'P1', f.share1.x1, f.kg4.Q1)),
      'E_PROOF_SCH',
    ],
  ];
  for (const [what, make, code] of cases) {
    test(`${what} → ${code}, P2 closes and sends nothing`, async () => {
      const { kg2, kg4 } = make();
      await p2Rejects(kg4, code, kg2);
    });
  }
});

describe('Πsch of Q2 in KG-3 at P1 (§7 P1 step 1) → E_PROOF_SCH / E_SCALAR_RANGE', () => {
  const kg3 = (pi2: SchnorrProof, encZ: Uint8Array = encSc(pi2.z)) =>
    resign(f, f.env[2]!, replaceField(encodeKg3({ ...f.kg3, pi2 }), 7, 2, encZ));
  const x2 = () => f.share2.x2;
  const cases: [string, () => ReturnType<typeof kg3>, string][] = [
    ['π2.A + G', () => kg3({ ...f.kg3.pi2, A: f.kg3.pi2.A.add(G) }), 'E_PROOF_SCH'],
    ['π2.z + 1', () => kg3({ ...f.kg3.pi2, z: modN(f.kg3.pi2.z + 1n) }), 'E_PROOF_SCH'],
    ['π2.z = q', () => kg3(f.kg3.pi2, bigToBytes(q, 32)), 'E_SCALAR_RANGE'],
    ['an honest π2 for another sid', () => kg3(proveSchnorr(rng, otherSid, 'Q2', 'P2', x2(), f.kg3.Q2)), 'E_PROOF_SCH'],
    [
      "role swap: π2 proved under P1's label and role (Q1, P1)",
      () => kg3(proveSchnorr(rng, f.sid, 'Q1', 'P1', x2(), f.kg3.Q2)),
      'E_PROOF_SCH',
    ],
    [
      'π2 proved under role P1 with label Q2',
      () => kg3(proveSchnorr(rng, f.sid, 'Q2', 'P1', x2(), f.kg3.Q2)),
      'E_PROOF_SCH',
    ],
  ];
  for (const [what, make, code] of cases) {
    test(`${what} → ${code}, P1 closes and sends nothing`, async () => {
      const p1 = await p1At3(f);
      await rejectsAndCloses(p1, make(), code, f.env[2]!);
    });
  }
});

describe('commitment C1 (§3.4, §7 P2 step 1) → E_COMMITMENT', () => {
  // One byte of the KG-4 body changed, against the honest C1. The byte is chosen so that the
  // field still decodes: the SEC1 prefix 02 ↔ 03 gives −Q1 / −A (valid points), and the last
  // byte of z keeps it below q. Any other byte of a point would mostly give E_POINT instead.
  const fields: [string, number, number][] = [
    ['Q1 (prefix byte)', 0, 0],
    ['π1.A (prefix byte)', 1, 0],
    ['π1.z (last byte)', 2, 31],
  ];
  for (const [what, i, byte] of fields) {
    test(`one byte of ${what} changed → E_COMMITMENT, P2 closes and sends nothing`, async () => {
      const field = unframe(f.env[3]!.body, 9)[i]!;
      const changed = flipByte(field, byte);
      if (i === 2) assert.ok(bytesToBig(changed) < q);
      await p2Rejects(kg4Env(replaceField(f.env[3]!.body, 9, i, changed)), 'E_COMMITMENT');
    });
  }
});

function isCode(code: string) {
  return (e: unknown) => {
    assert.ok(e instanceof TecdsaError, `expected a TecdsaError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  };
}
