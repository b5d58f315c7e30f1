// Our encoders and hashes reproduce ../shared/vectors/hash-vectors.json (an independent
// implementation of PROTOCOL.md): sids, Com, the Πsch challenge, envelope digest, Πprm
// bits, Πmod y_1, keyId, T_kg and the Int/Nat/Mod encodings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToHex, hexToBytes, u32, utf8 } from '../src/bytes.ts';
import { G, Point } from '../src/curve.ts';
import { encInt, encMod, encNat, encPt, encSc, frame } from '../src/encoding.ts';
import { bitChallenge, scalarChallenge, th } from '../src/hash.ts';
import { commit } from '../src/commitment.ts';
import { FULL, TEST } from '../src/params.ts';
import { kgSid, keyIdOf, kgTranscriptHash, signSid } from '../src/sessionIds.ts';
import { modChallenges } from '../src/proofs/mod.ts';
import { sharedVector } from './helpers.ts';

const v = JSON.parse(sharedVector('hash-vectors.json'));
const I = v.inputs;
const b = (k: string) => hexToBytes(I[k]);
const ids = {
  requestId: b('requestId'),
  walletId: b('walletId'),
  idpk1: b('idpk1'),
  idpk2: b('idpk2'),
  n1: b('n1'),
  n2: b('n2'),
};
const sid = kgSid(ids, FULL);
const Nhat = (1n << 2047n) + 1n; // "2^2047 + 1"
const Ntoy = (1n << 3071n) + 3n; // "2^3071 + 3"
const Q = Point.fromBytes(b('Q'));
const Q1 = Point.fromBytes(b('Q1'));

test('kg sid, full and test profiles', () => {
  assert.equal(bytesToHex(sid), v.kg_sid_full_3072_2048_80);
  assert.equal(bytesToHex(kgSid(ids, TEST)), v.kg_sid_test_1536_1024_80);
});

test('sign sid', () => {
  assert.equal(bytesToHex(signSid(b('requestId'), b('keyId'), Q, b('m32'), b('n1'), b('n2'))), v.sign_sid);
});

test('Com(sid, "Q1", "P1", Q1, A = G, z = 1; salt)', () => {
  assert.equal(bytesToHex(commit(sid, 'Q1', 'P1', [encPt(Q1), encPt(G), encSc(1n)], b('salt'))), v.com_kg_Q1);
});

test('Πsch challenge for X = Q1, A = G', () => {
  const e = scalarChallenge('sch', [sid, utf8('Q1'), utf8('P1'), encPt(Q1), encPt(G)]);
  assert.equal(e.toString(16).padStart(64, '0'), v['sch_challenge_Q1_P1_X=Q1_A=G']);
});

test('KG-1 body and its envelope digest', () => {
  const body = frame([b('walletId'), b('n2')]);
  assert.equal(bytesToHex(body), v.kg1_body);
  const d = th('envelope', [u32(1), utf8('kg'), b('requestId'), u32(1), utf8('P2'), utf8('P1'), body], 512);
  assert.equal(bytesToHex(d), v.envelope_digest_kg_round1_P2_to_P1);
});

test('Πprm challenge bits for s = 2, t = 3, A_i = i + 1', () => {
  const A = Array.from({ length: 80 }, (_, i) => encMod(BigInt(i + 1), Nhat));
  const bits = bitChallenge(
    'prm',
    [sid, utf8('RP'), utf8('P2'), encNat(Nhat), encMod(2n, Nhat), encMod(3n, Nhat), ...A],
    80,
  );
  assert.equal(bits.join(''), v['prm_bits_s=2_t=3_A_i=i+1']);
});

test('Πmod y_1 for w = 2', () => {
  const [y1] = modChallenges(sid, Ntoy, 2n, 1);
  assert.equal(y1!.toString(16).padStart(768, '0'), v['mod_y_1_w=2'].padStart(768, '0'));
});

test('keyId and T_kg', () => {
  assert.equal(bytesToHex(keyIdOf(sid, Q, Ntoy, 5n)), v['keyid_N=N_toy_c_key=5']);
  const kg1 = frame([b('walletId'), b('n2')]);
  assert.equal(bytesToHex(kgTranscriptHash([kg1, kg1, kg1, kg1])), v['t_kg_of_bodies_[kg1,kg1,kg1,kg1]']);
});

test('Int, Nat and Mod encodings', () => {
  for (const [k, hex] of Object.entries(v.enc_int as Record<string, string>)) {
    const z = k.startsWith('-')
      ? -BigInt(k.slice(1).replace('2^64', String(1n << 64n)))
      : BigInt(k.replace('2^64', String(1n << 64n)));
    assert.equal(bytesToHex(encInt(z)), hex, k);
  }
  assert.equal(bytesToHex(encNat(65537n)), v.enc_nat_65537);
  assert.equal(encMod(5n, Nhat).length, v.enc_mod_5_Nhat_toy_length);
});
