// DKG failures that matter most (PROTOCOL.md §5, §7, §12, §13.2): the small-factor moduli
// of BitForge and the r·P·Q modulus that only Πmod catches, a Πlog* response over its bound,
// tampered Πprm, a wrong commitment opening and a KG-5 that does not match.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { TecdsaError } from '../src/errors.ts';
import { bitLength } from '../src/bytes.ts';
import { modInv } from '../src/arith.ts';
import { decodeKg3, decodeKg4 } from '../src/messages.ts';
import { checkPaillierModulus } from '../src/modulusCheck.ts';
import { type PaillierSecretKey } from '../src/paillier.ts';
import { TEST } from '../src/params.ts';
import { randomBlumPrime, SMALL_PRIMES } from '../src/primes.ts';
import { seededRng } from '../src/rng.ts';
import { runDkg, type DkgRun, type LocalParties } from '../src/runLocal.ts';
import { kgSid } from '../src/sessionIds.ts';
import { proveFac, verifyFac } from '../src/proofs/fac.ts';
import { proveMod, verifyMod } from '../src/proofs/mod.ts';
import { verifyLogStar, LOGSTAR_Z1_BOUND } from '../src/proofs/logstar.ts';
import { verifyPrm } from '../src/proofs/prm.ts';
import { verifyKg4 } from '../src/keygen.ts';
import { mp, parties, ringPedersenFor } from './helpers.ts';

const isCode = (code: string) => (e: unknown) => e instanceof TecdsaError && e.code === code;
const rng = seededRng('dkg-neg');
const rp = ringPedersenFor(TEST);
let l: LocalParties;
let dkg: DkgRun;
let sid: Uint8Array;
before(async () => {
  l = parties(TEST, seededRng('dkg-neg-run'));
  const ids = { requestId: l.rng.bytes(32), walletId: l.rng.bytes(32) };
  dkg = await runDkg(l, rp, ids);
  const kg1 = dkg.envelopes[0]!.body;
  const kg2 = dkg.envelopes[1]!.body;
  sid = kgSid(
    { ...ids, idpk1: l.p1.publicKey, idpk2: l.p2.publicKey, n1: kg2.subarray(4, 36), n2: kg1.subarray(40, 72) },
    TEST,
  );
});

/** A "Paillier key" over arbitrary factors, so the honest provers can be run on a fake factorisation. */
function fakeKey(p: bigint, q: bigint): PaillierSecretKey {
  const N = p * q;
  return {
    N,
    N2: N * N,
    p,
    q,
    phi: (p - 1n) * (q - 1n),
    p2: p * p,
    q2: q * q,
    hp: 0n,
    hq: 0n,
    qInvP: modInv(q, p),
    q2InvP2: modInv(q * q, p * p),
  };
}

test('rejects BitForge-style moduli and malformed N with E_PAILLIER_MODULUS', () => {
  // 16 primes just below 2^16 times one large prime, exactly |N| bits.
  const small = SMALL_PRIMES.slice(-16).reduce((a, p) => a * BigInt(p), 1n);
  let big = (1n << BigInt(TEST.nBits - bitLength(small))) + 1n;
  while (bitLength(small * big) < TEST.nBits) big += 2n;
  const bitforge = small * big;
  assert.equal(bitLength(bitforge), TEST.nBits);
  const honestN = dkg.share1.paillier.N;
  const p = dkg.share1.paillier.p;
  for (const N of [bitforge, honestN >> 1n, honestN * 2n + 1n, honestN + 1n, p * 65521n * 3n]) {
    assert.throws(
      () => checkPaillierModulus(mp, rng, N, TEST.nBits),
      isCode('E_PAILLIER_MODULUS'),
      N.toString(16).slice(0, 8),
    );
  }
  const prime = randomBlumPrime(mp, rng, TEST.nBits);
  assert.throws(() => checkPaillierModulus(mp, rng, prime, TEST.nBits), isCode('E_PAILLIER_MODULUS'));
});

test('N = r·P·Q with 2^16 < r < 2^24: Πfac alone accepts the fake split, Πmod rejects it (E_PROOF_MOD)', () => {
  const r = 16777213n; // prime, < 2^24, ≡ 1 (mod 4): r·P is not a Blum factor
  const P = randomBlumPrime(mp, rng, 640);
  const Q = randomBlumPrime(mp, rng, TEST.nBits - 640 - 24);
  const key = fakeKey(r * P, Q);
  const fac = proveFac(mp, rng, sid, key, rp);
  verifyFac(mp, sid, key.N, rp, fac); // accepted: Πfac only bounds the two given factors
  let rejected = 0;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const mod = proveMod(mp, rng, sid, key, TEST.m);
      verifyMod(mp, sid, key.N, mod, TEST.m);
    } catch (e) {
      assert.ok(e instanceof TecdsaError && (e.code === 'E_PROOF_MOD' || e.code === 'E_INTERNAL'));
      rejected++;
    }
  }
  assert.equal(rejected, 3);
});

test('Πlog* with |z1| = 2^768 + 1, or for Q2 instead of Q1, is E_PROOF_LOGSTAR', () => {
  const kg4 = decodeKg4(dkg.envelopes[3]!.body, TEST, rp.Nhat);
  const st = { pk: { N: kg4.N, N2: kg4.N * kg4.N }, C: kg4.cKey, X: kg4.Q1 };
  verifyLogStar(mp, sid, st, rp, kg4.logstar);
  assert.throws(
    () => verifyLogStar(mp, sid, st, rp, { ...kg4.logstar, z1: LOGSTAR_Z1_BOUND + 1n }),
    isCode('E_PROOF_LOGSTAR'),
  );
  assert.throws(() => verifyLogStar(mp, sid, { ...st, X: dkg.share1.Q2 }, rp, kg4.logstar), isCode('E_PROOF_LOGSTAR'));
});

test('tampered Πprm (z_i + 1, one A_i replaced) is E_PROOF_PRM', () => {
  const kg3 = decodeKg3(dkg.envelopes[2]!.body, TEST);
  verifyPrm(mp, sid, kg3.rp, kg3.prm, TEST.m);
  const z = [...kg3.prm.z];
  z[7] = z[7]! + 1n;
  assert.throws(() => verifyPrm(mp, sid, kg3.rp, { ...kg3.prm, z }, TEST.m), isCode('E_PROOF_PRM'));
  const A = [...kg3.prm.A];
  A[3] = 4n;
  assert.throws(() => verifyPrm(mp, sid, kg3.rp, { ...kg3.prm, A }, TEST.m), isCode('E_PROOF_PRM'));
});

test('KG-4 with another salt is E_COMMITMENT; with another c_key is E_PROOF_LOGSTAR', () => {
  const kg2 = dkg.envelopes[1]!.body;
  const C1 = kg2.subarray(40, 72);
  const kg4 = decodeKg4(dkg.envelopes[3]!.body, TEST, rp.Nhat);
  const o = { modPow: mp, rng, profile: TEST };
  verifyKg4(o, sid, C1, dkg.share1.Q2, rp, kg4);
  const salt1 = kg4.salt1.slice();
  salt1[0]! ^= 1;
  assert.throws(() => verifyKg4(o, sid, C1, dkg.share1.Q2, rp, { ...kg4, salt1 }), isCode('E_COMMITMENT'));
  const N2 = kg4.N * kg4.N;
  const cKey = (kg4.cKey * (1n + kg4.N)) % N2; // Enc(x1 + 1)
  assert.throws(() => verifyKg4(o, sid, C1, dkg.share1.Q2, rp, { ...kg4, cKey }), isCode('E_PROOF_LOGSTAR'));
});
