// DKG negatives at the message and session level (PROTOCOL.md §3.1, §3.2, §6, §7, §10, §13.2
// "DKG" and "P1 side", §13.3 timeouts), test profile. Every case drives real P1Keygen /
// P2Keygen sessions (clones of one honest run, see kgHarness) and checks the exact code, that
// the session produced nothing, and that it is closed afterwards — or, for messages that are
// not the peer's (E_AUTH, E_SESSION), that the session is untouched and the honest run goes on.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bigToBytes, concatBytes } from '../src/bytes.ts';
import { modPowBigInt } from '../src/arith.ts';
import { type Point, SECP256K1_N, SECP256K1_P } from '../src/curve.ts';
import { type Envelope, identityFromSeed } from '../src/envelope.ts';
import { encMod, encPt, encSc } from '../src/encoding.ts';
import { commit } from '../src/commitment.ts';
import {
  type Kg3,
  decodeKg1,
  decodeKg2,
  decodeKg5,
  encodeKg1,
  encodeKg2,
  encodeKg3,
  encodeKg4,
  encodeKg5,
} from '../src/messages.ts';
import { type PaillierSecretKey, encryptWithSecret } from '../src/paillier.ts';
import { KG_TIMEOUT_MS, TEST } from '../src/params.ts';
import { randomBlumPrime } from '../src/primes.ts';
import { ringPedersenFrom, rpPublic } from '../src/ringPedersen.ts';
import { seededRng, uniformBelow, uniformUnit } from '../src/rng.ts';
import { proveSchnorr } from '../src/proofs/schnorr.ts';
import { provePrm, verifyPrm } from '../src/proofs/prm.ts';
import { proveLogStar } from '../src/proofs/logstar.ts';
import { mp } from './helpers.ts';
import {
  type KgFixture,
  flipByte,
  kgFixture,
  p1At3,
  p1At5,
  p1Clone,
  p2At4,
  p2Clone,
  rejectsAndCloses,
  rejectsAndStaysOpen,
  replaceField,
  resign,
} from './kgHarness.ts';

const q = SECP256K1_N;
const rng = seededRng('dkg.session.neg');
const id3 = identityFromSeed(seededRng('dkg.session.neg/third').bytes(32));
let f: KgFixture;
/** Another DKG of the same parties with its own requestId. */
let g: KgFixture;
/** Another DKG of the same parties that reuses f's requestId and walletId (fresh n1, n2). */
let h: KgFixture;

before(async () => {
  f = await kgFixture('dkg.session.neg');
  g = await kgFixture('dkg.session.neg/other');
  h = await kgFixture('dkg.session.neg/same-rid', { requestId: f.requestId, walletId: f.walletId });
});

const same = (a: Envelope | undefined, b: Envelope) => assert.deepEqual(a, b);
const kg3Env = (m: Partial<Kg3>) => resign(f, f.env[2]!, encodeKg3({ ...f.kg3, ...m }));
const kg4Env = (body: Uint8Array) => resign(f, f.env[3]!, body);

/**
 * The fixture's Paillier key behind a proxy that records every property read. P1 takes its
 * key from a pool (§4.1); while the key is untouched P1 has computed nothing about N: no
 * c_key, no Πmod, and in particular no Πfac / Πlog* over unverified ring-Pedersen
 * parameters (§7 P1 step 2).
 */
function watchedKey(): { key: PaillierSecretKey; reads: Set<string> } {
  const reads = new Set<string>();
  const key = new Proxy(f.paillier, {
    get(t, prop, r) {
      reads.add(String(prop));
      return Reflect.get(t, prop, r) as unknown;
    },
  });
  return { key, reads };
}

/** P1 awaiting KG-3 refuses `kg3` with `code`, closes, and never touched its Paillier key. */
async function p1RejectsKg3(kg3: Envelope, code: string) {
  const w = watchedKey();
  const p1 = await p1At3(f, { paillier: w.key });
  await rejectsAndCloses(p1, kg3, code, f.env[2]!);
  assert.deepEqual([...w.reads], [], 'P1 used its Paillier key before KG-3 passed');
}

async function p2RejectsKg4(kg4: Envelope, code: string, kg2 = f.env[1]!) {
  const p2 = await p2At4(f, kg2);
  await rejectsAndCloses(p2, kg4, code, f.env[3]!);
}

// ---------- points ----------

const curveRhs = (x: bigint) => (x * x * x + 7n) % SECP256K1_P;
const isSquare = (v: bigint) => v === 0n || modPowBigInt(v, (SECP256K1_P - 1n) / 2n, SECP256K1_P) === 1n;

/** Invalid encodings of a point (§3.1 Pt, §10): each must be E_POINT wherever a point is read. */
function badPoints(): [string, (P: Point) => Uint8Array][] {
  let noRoot = 1n;
  while (isSquare(curveRhs(noRoot))) noRoot++;
  return [
    ['identity as the SEC1 byte 00', () => Uint8Array.of(0)],
    ['identity as 33 zero bytes', () => new Uint8Array(33)],
    ['uncompressed 04 ‖ X ‖ Y', (P) => P.toBytes(false)],
    ['prefix 05', (P) => concatBytes(Uint8Array.of(5), P.toBytes(true).subarray(1))],
    ['X = p', () => concatBytes(Uint8Array.of(2), bigToBytes(SECP256K1_P, 32))],
    [
      'X = p + 1 (X mod p = 1 is on the curve: only X < p rejects it)',
      () => concatBytes(Uint8Array.of(3), bigToBytes(SECP256K1_P + 1n, 32)),
    ],
    ['X with no square root', () => concatBytes(Uint8Array.of(2), bigToBytes(noRoot, 32))],
  ];
}

describe('points in KG messages (§3.1, §3.2a item 8, §10) → E_POINT', () => {
  // [field, its honest value (some bad encodings are derived from it), index among the 9
  // fields of KG-4, and [element count, index] inside a composite field]
  const kg4Points: [string, () => Point, number, [number, number] | undefined][] = [
    ['KG-4 Q1', () => f.kg4.Q1, 0, undefined],
    ['KG-4 π1.A', () => f.kg4.pi1.A, 1, undefined],
    ['KG-4 Πlog*.Y', () => f.kg4.logstar.Y, 8, [7, 2]],
  ];
  for (const [what, pick, i, inner] of kg4Points) {
    test(`${what} (P2)`, async (t) => {
      for (const [enc, bad] of badPoints()) {
        await t.test(enc, async () => {
          const body = replaceField(f.env[3]!.body, 9, i, bad(pick()), inner);
          await p2RejectsKg4(kg4Env(body), 'E_POINT');
        });
      }
    });
  }

  const kg3Points: [string, () => Point, number][] = [
    ['KG-3 Q2', () => f.kg3.Q2, 0],
    ['KG-3 π2.A', () => f.kg3.pi2.A, 1],
  ];
  for (const [what, pick, i] of kg3Points) {
    test(`${what} (P1, Paillier key untouched)`, async (t) => {
      for (const [enc, bad] of badPoints()) {
        await t.test(enc, async () => {
          await p1RejectsKg3(resign(f, f.env[2]!, replaceField(f.env[2]!.body, 7, i, bad(pick()))), 'E_POINT');
        });
      }
    });
  }

  // P1 cannot choose Q1 after seeing Q2 (it commits first), so this is a test-only forgery:
  // x1 = q − x2 makes every proof of KG-4 honest and consistent, and only §7 P2 step 4 is left.
  test('KG-4 with Q1 = −Q2 and every proof honest for it → P2 E_POINT (Q = O), closes', async () => {
    const x1 = q - f.share2.x2;
    const Q1 = f.kg3.Q2.negate();
    const pi1 = proveSchnorr(rng, f.sid, 'Q1', 'P1', x1, Q1);
    const salt1 = rng.bytes(32);
    const C1 = commit(f.sid, 'Q1', 'P1', [encPt(Q1), encPt(pi1.A), encSc(pi1.z)], salt1);
    const kg2 = resign(f, f.env[1]!, encodeKg2({ ...decodeKg2(f.env[1]!.body), C1 }));
    const rho = uniformUnit(rng, f.paillier.N);
    const cKey = encryptWithSecret(mp, f.paillier, x1, rho);
    const st = { pk: { N: f.paillier.N, N2: f.paillier.N2 }, C: cKey, X: Q1 };
    const logstar = proveLogStar(mp, rng, f.sid, f.paillier, f.rp, st, x1, rho);
    // Πmod and Πfac depend only on sid and N, which are unchanged: the fixture's still hold.
    const kg4 = kg4Env(encodeKg4({ ...f.kg4, Q1, pi1, salt1, cKey, logstar }, f.rp.Nhat));
    await p2RejectsKg4(kg4, 'E_POINT', kg2);
  });
});

// ---------- c_key ----------

describe('c_key (§4.1 valid ciphertext, §10, §13.2 preamble)', () => {
  const withCKey = (field: Uint8Array) => kg4Env(replaceField(f.env[3]!.body, 9, 7, field));
  const N2len = () => encMod(0n, f.paillier.N2).length;
  const cases: [string, () => bigint, string][] = [
    ['0', () => 0n, 'E_CIPHERTEXT'],
    ['N', () => f.paillier.N, 'E_CIPHERTEXT'],
    ['p (a multiple of p)', () => f.paillier.p, 'E_CIPHERTEXT'],
    ['12345·p (a multiple of p)', () => 12345n * f.paillier.p, 'E_CIPHERTEXT'],
    ['q_P·(N + 1) (a multiple of q_P, above N)', () => f.paillier.q * (f.paillier.N + 1n), 'E_CIPHERTEXT'],
    // Not below the modulus of Mod(c_key, N²): the strict decoder rejects these first.
    ['N²', () => f.paillier.N2, 'E_DECODE'],
    ['N² + 1', () => f.paillier.N2 + 1n, 'E_DECODE'],
  ];
  for (const [what, c, code] of cases) {
    test(`c_key = ${what} → ${code}, P2 closes and sends nothing`, async () => {
      await p2RejectsKg4(withCKey(bigToBytes(c(), N2len())), code);
    });
  }
});

// ---------- P1 on KG-3 ----------

describe('P1 on KG-3 (§5.2, §7 P1 steps 1–3, §10): rejected before any work on N', () => {
  test('control: the honest KG-3 is accepted and only then is the Paillier key used', async () => {
    const w = watchedKey();
    const p1 = await p1At3(f, { paillier: w.key });
    assert.deepEqual([...w.reads], []);
    same((await p1.receive(f.env[2]!)).send, f.env[3]!);
    assert.ok(w.reads.has('N') && w.reads.has('p'));
  });

  test('Πprm with 79 A_i → E_DECODE', async () => {
    await p1RejectsKg3(kg3Env({ prm: { ...f.kg3.prm, A: f.kg3.prm.A.slice(0, 79) } }), 'E_DECODE');
  });

  test('Πprm with 79 A_i and 79 z_i → E_DECODE', async () => {
    await p1RejectsKg3(kg3Env({ prm: { A: f.kg3.prm.A.slice(0, 79), z: f.kg3.prm.z.slice(0, 79) } }), 'E_DECODE');
  });

  test('Πprm with 79 z_i → E_DECODE', async () => {
    await p1RejectsKg3(kg3Env({ prm: { ...f.kg3.prm, z: f.kg3.prm.z.slice(0, 79) } }), 'E_DECODE');
  });

  // s = t^1 is in ⟨t⟩, so Πprm proves it honestly; only the s ≠ t rule of §5.2 rejects it.
  test('s = t with an honest Πprm (λ = 1) → E_RP_PARAMS, although Πprm alone verifies', async () => {
    const rp1 = ringPedersenFrom(mp, f.rp.p, f.rp.q, f.rp.t, 1n, TEST.nHatBits);
    assert.equal(rp1.s, rp1.t);
    const prm = provePrm(mp, rng, f.sid, rp1, TEST.m);
    verifyPrm(mp, f.sid, rp1, prm, TEST.m);
    await p1RejectsKg3(kg3Env({ rp: rpPublic(rp1), prm }), 'E_RP_PARAMS');
  });

  const rpCases: [string, () => Partial<Kg3['rp']>][] = [
    ['s = t (Πprm not re-proved)', () => ({ s: f.rp.t })],
    ['t = 1', () => ({ t: 1n })],
    ['t = N̂ − 1', () => ({ t: f.rp.Nhat - 1n })],
    ['t = 0', () => ({ t: 0n })],
    ['s = 1', () => ({ s: 1n })],
    ['s not coprime to N̂ (s = p̂)', () => ({ s: f.rp.p })],
    ['t not coprime to N̂ (t = 3·q̂)', () => ({ t: 3n * f.rp.q })],
    // Same byte length, so s, t and Πprm still decode against it: only the parity check is left.
    ['N̂ even (N̂ + 1)', () => ({ Nhat: f.rp.Nhat + 1n })],
  ];
  for (const [what, change] of rpCases) {
    test(`${what} → E_RP_PARAMS`, async () => {
      await p1RejectsKg3(kg3Env({ rp: { ...f.kg3.rp, ...change() } }), 'E_RP_PARAMS');
    });
  }

  // The test profile's "N̂ of 2047 bits" is |N̂| − 1 = 1023 bits. The parameters are
  // well formed and Πprm is honest for them, so only the size rule of §5.2 step 1 rejects.
  test('N̂ of |N̂| − 1 bits with an honest Πprm for it → E_RP_PARAMS', async () => {
    const bits = TEST.nHatBits - 1;
    let p: bigint, r: bigint, pq: bigint;
    do {
      p = randomBlumPrime(mp, rng, Math.ceil(bits / 2));
      r = randomBlumPrime(mp, rng, Math.floor(bits / 2));
      pq = p * r;
    } while (pq.toString(2).length !== bits);
    const tau = uniformUnit(rng, pq);
    const small = ringPedersenFrom(mp, p, r, (tau * tau) % pq, uniformBelow(rng, (p - 1n) * (r - 1n)), bits);
    const prm = provePrm(mp, rng, f.sid, small, TEST.m);
    verifyPrm(mp, f.sid, small, prm, TEST.m);
    await p1RejectsKg3(kg3Env({ rp: rpPublic(small), prm }), 'E_RP_PARAMS');
  });

  // A P2 cannot know Q1 at KG-3 (it is committed, not revealed); the test knows x1 from the
  // fixture and makes π2 honest for −Q1, so Schnorr, ring-Pedersen and Πprm all pass.
  test('Q2 = −Q1 with a valid π2 → E_POINT (Q = O), after Πprm but before the Paillier key is used', async () => {
    const Q2 = f.kg4.Q1.negate();
    const pi2 = proveSchnorr(rng, f.sid, 'Q2', 'P2', q - f.share1.x1, Q2);
    await p1RejectsKg3(kg3Env({ Q2, pi2 }), 'E_POINT');
  });
});

describe('P1 on KG-1 and KG-5 (§7, §10)', () => {
  test('KG-1 naming another walletId → E_ENROLMENT, P1 closes and sends nothing', async () => {
    const other = encodeKg1({ ...decodeKg1(f.env[0]!.body), walletId: flipByte(f.walletId) });
    await rejectsAndCloses(p1Clone(f), resign(f, f.env[0]!, other), 'E_ENROLMENT', f.env[0]!);
  });

  test('the honest KG-5 completes a clone (control)', async () => {
    const p1 = await p1At5(f);
    const step = await p1.receive(f.env[4]!);
    assert.ok(step.result);
    assert.equal(step.send, undefined);
  });

  for (const field of ['keyId', 'tKg'] as const) {
    test(`KG-5 with another ${field} → E_TRANSCRIPT_MISMATCH, no result (the key never becomes ACTIVE)`, async () => {
      const m = decodeKg5(f.env[4]!.body);
      const kg5 = resign(f, f.env[4]!, encodeKg5({ ...m, [field]: flipByte(m[field]) }));
      await rejectsAndCloses(await p1At5(f), kg5, 'E_TRANSCRIPT_MISMATCH', f.env[4]!);
    });
  }
});

// ---------- session layer ----------

describe('session layer (§3.2, §6.2, §10)', () => {
  test('KG-3 before KG-1 at P1 → E_UNEXPECTED; the session is closed for the honest KG-1', async () => {
    const w = watchedKey();
    await rejectsAndCloses(p1Clone(f, { paillier: w.key }), f.env[2]!, 'E_UNEXPECTED', f.env[0]!);
    assert.deepEqual([...w.reads], []);
  });

  test('KG-5 before KG-3 at P1 → E_UNEXPECTED, closed', async () => {
    await rejectsAndCloses(await p1At3(f), f.env[4]!, 'E_UNEXPECTED', f.env[2]!);
  });

  test('KG-4 before KG-2 at P2 → E_UNEXPECTED, closed', async () => {
    await rejectsAndCloses(p2Clone(f), f.env[3]!, 'E_UNEXPECTED', f.env[1]!);
  });

  test('a byte-identical KG-1 gets the same KG-2 back, and the run continues as if sent once', async () => {
    const w = watchedKey();
    const p1 = p1Clone(f, { paillier: w.key });
    same((await p1.receive(f.env[0]!)).send, f.env[1]!);
    same((await p1.receive(f.env[0]!)).send, f.env[1]!);
    // No fresh n1 / x1 / salt was drawn for the copy: KG-4 is still the fixture's, byte for byte.
    same((await p1.receive(f.env[2]!)).send, f.env[3]!);
    same((await p1.receive(f.env[0]!)).send, f.env[1]!);
    // A copy of KG-3 is answered from the cache: the Paillier key is not used again.
    const reads = w.reads.size;
    w.reads.clear();
    same((await p1.receive(f.env[2]!)).send, f.env[3]!);
    assert.ok(reads > 0);
    assert.equal(w.reads.size, 0);
    assert.ok((await p1.receive(f.env[4]!)).result);
  });

  test('a byte-identical KG-2 gets the same KG-3 back at P2', async () => {
    const p2 = p2Clone(f);
    same((await p2.receive(f.env[1]!)).send, f.env[2]!);
    same((await p2.receive(f.env[1]!)).send, f.env[2]!);
    same((await p2.receive(f.env[3]!)).send, f.env[4]!);
  });

  test('a different KG-3 after a valid one (π2 re-proved: valid, other bytes) → E_EQUIVOCATION, no result after it', async () => {
    const p1 = await p1At5(f);
    const pi2 = proveSchnorr(rng, f.sid, 'Q2', 'P2', f.share2.x2, f.kg3.Q2);
    await rejectsAndCloses(p1, kg3Env({ pi2 }), 'E_EQUIVOCATION', f.env[4]!);
  });

  test('a different KG-1 after a valid one (another n2) → E_EQUIVOCATION, closed', async () => {
    const p1 = p1Clone(f);
    await p1.receive(f.env[0]!);
    const other = resign(f, f.env[0]!, encodeKg1({ ...decodeKg1(f.env[0]!.body), n2: rng.bytes(32) }));
    await rejectsAndCloses(p1, other, 'E_EQUIVOCATION', f.env[2]!);
  });

  test('a different KG-2 after a valid one at P2 → E_EQUIVOCATION, closed', async () => {
    const p2 = await p2At4(f);
    const other = resign(f, f.env[1]!, encodeKg2({ ...decodeKg2(f.env[1]!.body), C1: rng.bytes(32) }));
    await rejectsAndCloses(p2, other, 'E_EQUIVOCATION', f.env[3]!);
  });

  describe('envelopes that are not the peer’s leave the session untouched', () => {
    // A third identity, and P1's own key on a message that claims to be P2's.
    const signers = () =>
      [
        ['a third identity key', id3],
        ['the receiver’s own identity key', f.id1],
      ] as const;

    test('KG-1 signed by another key → E_AUTH; the honest KG-1 then gets the fixture’s KG-2', async () => {
      for (const [, signer] of signers()) {
        const p1 = p1Clone(f);
        await rejectsAndStaysOpen(p1, resign(f, f.env[0]!, f.env[0]!.body, { signer }), 'E_AUTH');
        same((await p1.receive(f.env[0]!)).send, f.env[1]!);
      }
    });

    // session.ts authenticates before it looks at the state, so a forged out-of-order message
    // cannot close a session. This pins that order. Open spec point: PROTOCOL.md §10 lists the
    // state check (step 2, E_UNEXPECTED) before the signature (step 3), and §9.2 puts a bad
    // envelope signature in Class A, "abort the session".
    test('a forged KG-3 (third identity) before KG-1 → E_AUTH, not E_UNEXPECTED; the run then proceeds', async () => {
      const p1 = p1Clone(f);
      await rejectsAndStaysOpen(p1, resign(f, f.env[2]!, f.env[2]!.body, { signer: id3 }), 'E_AUTH');
      same((await p1.receive(f.env[0]!)).send, f.env[1]!);
    });

    test('KG-1 body changed without re-signing → E_AUTH; the honest KG-1 still works', async () => {
      const p1 = p1Clone(f);
      await rejectsAndStaysOpen(p1, { ...f.env[0]!, body: flipByte(f.env[0]!.body, 40) }, 'E_AUTH');
      same((await p1.receive(f.env[0]!)).send, f.env[1]!);
    });

    test('KG-3 signed by a third identity → E_AUTH; the honest KG-3 then gets the fixture’s KG-4', async () => {
      const w = watchedKey();
      const p1 = await p1At3(f, { paillier: w.key });
      await rejectsAndStaysOpen(p1, resign(f, f.env[2]!, f.env[2]!.body, { signer: id3 }), 'E_AUTH');
      assert.deepEqual([...w.reads], []);
      same((await p1.receive(f.env[2]!)).send, f.env[3]!);
    });

    test('KG-4 signed by a third identity or by P2’s own key → E_AUTH; the honest KG-4 then completes P2', async () => {
      const p2 = await p2At4(f);
      await rejectsAndStaysOpen(p2, resign(f, f.env[3]!, f.env[3]!.body, { signer: id3 }), 'E_AUTH');
      await rejectsAndStaysOpen(p2, resign(f, f.env[3]!, f.env[3]!.body, { signer: f.id2 }), 'E_AUTH');
      const step = await p2.receive(f.env[3]!);
      same(step.send, f.env[4]!);
      assert.ok(step.result);
    });

    test('KG-1 for another requestId, with swapped roles, from P1 to P1, or of kind sign → E_SESSION; KG-1 then works', async () => {
      const p1 = p1Clone(f);
      const e = f.env[0]!;
      const variants: Envelope[] = [
        resign(f, e, e.body, { requestId: g.requestId }),
        resign(f, e, e.body, { from: 'P1', to: 'P2' }),
        resign(f, e, e.body, { from: 'P1', to: 'P1' }),
        resign(f, e, e.body, { kind: 'sign' }),
      ];
      for (const v of variants) await rejectsAndStaysOpen(p1, v, 'E_SESSION');
      same((await p1.receive(e)).send, f.env[1]!);
    });

    test('KG-4 for another requestId or addressed to P1 → E_SESSION at P2; the honest KG-4 then completes P2', async () => {
      const p2 = await p2At4(f);
      const e = f.env[3]!;
      await rejectsAndStaysOpen(p2, resign(f, e, e.body, { requestId: g.requestId }), 'E_SESSION');
      await rejectsAndStaysOpen(p2, resign(f, e, e.body, { from: 'P2', to: 'P1' }), 'E_SESSION');
      assert.ok((await p2.receive(e)).result);
    });
  });

  describe('replay from another DKG session (§6.1, §9.5)', () => {
    test('KG-1 and KG-3 of a DKG with another requestId → E_SESSION; f’s own run is unchanged', async () => {
      const p1 = p1Clone(f);
      await rejectsAndStaysOpen(p1, g.env[0]!, 'E_SESSION');
      same((await p1.receive(f.env[0]!)).send, f.env[1]!);
      await rejectsAndStaysOpen(p1, g.env[2]!, 'E_SESSION');
      same((await p1.receive(f.env[2]!)).send, f.env[3]!);
    });

    test('KG-4 of a DKG with another requestId → E_SESSION at P2; the honest KG-4 then completes P2', async () => {
      const p2 = await p2At4(f);
      await rejectsAndStaysOpen(p2, g.env[3]!, 'E_SESSION');
      assert.ok((await p2.receive(f.env[3]!)).result);
    });

    // Same requestId (the caller failed to enforce uniqueness): the envelope is authentic
    // and addressed to this session, so only the sid — fresh n1, n2 in every proof and
    // commitment — stops it, and the session closes.
    test('KG-3 of another DKG that reused the requestId → E_PROOF_SCH at P1 (π2 is bound to the other sid)', async () => {
      assert.deepEqual(h.requestId, f.requestId);
      await p1RejectsKg3(h.env[2]!, 'E_PROOF_SCH');
    });

    test('KG-4 of another DKG that reused the requestId → E_COMMITMENT at P2', async () => {
      await p2RejectsKg4(h.env[3]!, 'E_COMMITMENT');
    });

    test('KG-5 of another DKG that reused the requestId → E_TRANSCRIPT_MISMATCH at P1, no result', async () => {
      await rejectsAndCloses(await p1At5(f), h.env[4]!, 'E_TRANSCRIPT_MISMATCH', f.env[4]!);
    });
  });

  describe('the 10-minute KG timeout (§2, §5.0, §13.3) → E_TIMEOUT', () => {
    test('P1: KG-3 at exactly 10 minutes is accepted (boundary)', async () => {
      const clock = { t: 0 };
      const p1 = await p1At3(f, { now: () => clock.t });
      clock.t = KG_TIMEOUT_MS;
      same((await p1.receive(f.env[2]!)).send, f.env[3]!);
    });

    test('P1: KG-3 after 10 minutes → E_TIMEOUT, Paillier key untouched, closed', async () => {
      const clock = { t: 0 };
      const w = watchedKey();
      const p1 = await p1At3(f, { now: () => clock.t, paillier: w.key });
      clock.t = KG_TIMEOUT_MS + 1;
      await rejectsAndCloses(p1, f.env[2]!, 'E_TIMEOUT', f.env[2]!);
      assert.deepEqual([...w.reads], []);
    });

    test('P1: KG-5 after 10 minutes → E_TIMEOUT, no result (nothing becomes ACTIVE)', async () => {
      const clock = { t: 0 };
      const p1 = await p1At5(f, { now: () => clock.t });
      clock.t = KG_TIMEOUT_MS + 1;
      await rejectsAndCloses(p1, f.env[4]!, 'E_TIMEOUT', f.env[4]!);
    });

    test('P2: KG-4 after 10 minutes → E_TIMEOUT, no KG-5, closed', async () => {
      const clock = { t: 0 };
      const p2 = await p2At4(f, f.env[1]!, { now: () => clock.t });
      clock.t = KG_TIMEOUT_MS + 1;
      await rejectsAndCloses(p2, f.env[3]!, 'E_TIMEOUT', f.env[3]!);
    });
  });
});
