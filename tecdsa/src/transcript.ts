// Whole-run transcripts in the format of PROTOCOL.md §3.2a ("l17-2p-ecdsa-transcript/1"):
// a writer, and a verifier that checks a transcript with public data only — every
// envelope signature, every body decoding, every commitment opening and proof that the
// two parties check, keyId and T_kg, the signature on m32 — and that the stated result
// is what the messages produced. Cheap checks come first so a damaged file fails fast.

import { keccak_256 } from '@noble/hashes/sha3.js';
import { TecdsaError } from './errors.ts';
import { bytesToHex, equalBytes, hexToBytes } from './bytes.ts';
import { type Point } from './curve.ts';
import { encPt, encSc } from './encoding.ts';
import { type Envelope, envelopeFromFields, verifyEnvelope } from './envelope.ts';
import { checkOpening } from './commitment.ts';
import {
  decodeKg1,
  decodeKg2,
  decodeKg3,
  decodeKg4,
  decodeKg5,
  decodeSign1,
  decodeSign2,
  decodeSign3,
  decodeSign4,
  decodeSign5,
  decodeSign6,
} from './messages.ts';
import { type ModPow } from './arith.ts';
import { type Rng } from './rng.ts';
import { D_MAX_BITS, ELL, EPS, FULL, type Profile, RHO_BITS, TEST } from './params.ts';
import { kgSid, keyIdOf, kgTranscriptHash, signSid } from './sessionIds.ts';
import { verifyKg4 } from './keygen.ts';
import { verifySchnorr } from './proofs/schnorr.ts';
import { checkRingPedersenParams, verifyPrm } from './proofs/prm.ts';
import { isValidCiphertext, paillierPublic } from './paillier.ts';
import { type Signature, signatureMatches } from './sign.ts';
import { ethereumAddress } from './address.ts';

export const TRANSCRIPT_FORMAT = 'l17-2p-ecdsa-transcript/1';

export interface TranscriptResult {
  publicKey: string;
  address: string;
  r: string;
  s: string;
  recid: number;
  v: number;
}

export interface Transcript {
  format: typeof TRANSCRIPT_FORMAT;
  params: {
    profile: string;
    nBits: number;
    nHatBits: number;
    m: number;
    ell: number;
    eps: number;
    rhoBits: number;
    dMaxBits: number;
  };
  requestIdKg: string;
  requestIdSign: string;
  walletId: string;
  idpk1: string;
  idpk2: string;
  m32: string;
  txPayload?: string;
  chainId?: number;
  messages: Array<{
    v: 1;
    kind: string;
    requestId: string;
    round: number;
    from: string;
    to: string;
    body: string;
    sig: string;
  }>;
  result: TranscriptResult;
  /** Informative only (how a test run was made); not covered by any signature. */
  testOnly?: unknown;
}

const hex0x = (x: bigint) => '0x' + x.toString(16).padStart(64, '0');

/** Ethereum v for a transcript: EIP-155 legacy when a chainId is given, else 27 + recid. */
export const transcriptV = (recid: number, chainId?: number): number =>
  chainId === undefined ? 27 + recid : recid + 35 + 2 * chainId;

export function makeTranscript(x: {
  profile: Profile;
  requestIdKg: Uint8Array;
  requestIdSign: Uint8Array;
  walletId: Uint8Array;
  idpk1: Uint8Array;
  idpk2: Uint8Array;
  m32: Uint8Array;
  txPayload?: Uint8Array;
  chainId?: number;
  envelopes: Envelope[];
  Q: Point;
  signature: Signature;
  testOnly?: unknown;
}): Transcript {
  const p = x.profile;
  return {
    format: TRANSCRIPT_FORMAT,
    params: {
      profile: p.name,
      nBits: p.nBits,
      nHatBits: p.nHatBits,
      m: p.m,
      ell: ELL,
      eps: EPS,
      rhoBits: RHO_BITS,
      dMaxBits: D_MAX_BITS,
    },
    requestIdKg: bytesToHex(x.requestIdKg),
    requestIdSign: bytesToHex(x.requestIdSign),
    walletId: bytesToHex(x.walletId),
    idpk1: bytesToHex(x.idpk1),
    idpk2: bytesToHex(x.idpk2),
    m32: bytesToHex(x.m32),
    ...(x.txPayload ? { txPayload: bytesToHex(x.txPayload) } : {}),
    ...(x.chainId !== undefined ? { chainId: x.chainId } : {}),
    messages: x.envelopes.map((e) => ({
      v: 1,
      kind: e.kind,
      requestId: bytesToHex(e.requestId),
      round: e.round,
      from: e.from,
      to: e.to,
      body: bytesToHex(e.body),
      sig: bytesToHex(e.sig),
    })),
    result: {
      publicKey: bytesToHex(x.Q.toBytes(true)),
      address: ethereumAddress(x.Q),
      r: hex0x(x.signature.r),
      s: hex0x(x.signature.s),
      recid: x.signature.recid,
      v: transcriptV(x.signature.recid, x.chainId),
    },
    ...(x.testOnly !== undefined ? { testOnly: x.testOnly } : {}),
  };
}

export const transcriptToJson = (t: Transcript): string => JSON.stringify(t, null, 1) + '\n';

const SEQUENCE: ReadonlyArray<[string, number, string, string]> = [
  ['kg', 1, 'P2', 'P1'],
  ['kg', 2, 'P1', 'P2'],
  ['kg', 3, 'P2', 'P1'],
  ['kg', 4, 'P1', 'P2'],
  ['kg', 5, 'P2', 'P1'],
  ['sign', 1, 'P2', 'P1'],
  ['sign', 2, 'P1', 'P2'],
  ['sign', 3, 'P2', 'P1'],
  ['sign', 4, 'P1', 'P2'],
  ['sign', 5, 'P2', 'P1'],
  ['sign', 6, 'P1', 'P2'],
];

const bad = (why: string): never => {
  throw new TecdsaError('E_DECODE', `transcript: ${why}`);
};

function exactKeys(o: unknown, required: string[], optional: string[] = []): Record<string, unknown> {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) bad('expected an object');
  const rec = o as Record<string, unknown>;
  for (const k of required) if (!(k in rec)) bad(`missing ${k}`);
  for (const k of Object.keys(rec)) if (!required.includes(k) && !optional.includes(k)) bad(`unknown field ${k}`);
  return rec;
}

const hexField = (v: unknown, bytes?: number): Uint8Array => {
  if (typeof v !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(v) || (bytes !== undefined && v.length !== 2 * bytes))
    bad('expected lowercase hex');
  return hexToBytes(v as string);
};

/** Verifies a whole transcript; returns the joint public key and signature, or throws TecdsaError. */
export function verifyTranscript(
  input: string | object,
  o: { modPow: ModPow; rng: Rng },
): { Q: Point; signature: Signature } {
  let raw: unknown = input;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input);
    } catch {
      bad('not JSON');
    }
  }
  const t = exactKeys(
    raw,
    ['format', 'params', 'requestIdKg', 'requestIdSign', 'walletId', 'idpk1', 'idpk2', 'm32', 'messages', 'result'],
    ['txPayload', 'chainId', 'testOnly'],
  );
  if (t.format !== TRANSCRIPT_FORMAT) bad('unknown format');
  const pr = exactKeys(t.params, ['profile', 'nBits', 'nHatBits', 'm', 'ell', 'eps', 'rhoBits', 'dMaxBits']);
  const profile =
    [FULL, TEST].find(
      (p) => p.name === pr.profile && p.nBits === pr.nBits && p.nHatBits === pr.nHatBits && p.m === pr.m,
    ) ?? bad('unknown profile');
  if (pr.ell !== ELL || pr.eps !== EPS || pr.rhoBits !== RHO_BITS || pr.dMaxBits !== D_MAX_BITS)
    bad('unknown parameters');
  const ridKg = hexField(t.requestIdKg, 32);
  const ridSign = hexField(t.requestIdSign, 32);
  const walletId = hexField(t.walletId, 32);
  const idpk1 = hexField(t.idpk1, 32);
  const idpk2 = hexField(t.idpk2, 32);
  const m32 = hexField(t.m32, 32);
  if (t.txPayload !== undefined && !equalBytes(keccak_256(hexField(t.txPayload)), m32))
    bad('m32 is not keccak256(txPayload)');
  const chainId = t.chainId;
  if (chainId !== undefined && (!Number.isSafeInteger(chainId) || (chainId as number) < 1)) bad('bad chainId');
  if (!Array.isArray(t.messages) || t.messages.length !== SEQUENCE.length) bad('expected 11 messages');

  // 1. Every envelope: shape, order, session, signature by the right identity.
  const envs = (t.messages as unknown[]).map((m, i) => {
    const f = exactKeys(m, ['v', 'kind', 'requestId', 'round', 'from', 'to', 'body', 'sig']);
    const env = envelopeFromFields(new Map(Object.entries(f) as [string, string | number][]), 'hex');
    const [kind, round, from, to] = SEQUENCE[i]!;
    if (env.kind !== kind || env.round !== round || env.from !== from || env.to !== to)
      bad(`message ${i + 1} out of order`);
    if (!equalBytes(env.requestId, kind === 'kg' ? ridKg : ridSign))
      throw new TecdsaError('E_SESSION', `message ${i + 1} has another requestId`);
    verifyEnvelope(env, from === 'P1' ? idpk1 : idpk2);
    return env;
  });
  const body = (i: number) => envs[i]!.body;

  // 2. Decode everything and check the cheap equalities.
  const kg1 = decodeKg1(body(0));
  if (!equalBytes(kg1.walletId, walletId)) throw new TecdsaError('E_ENROLMENT', 'KG-1 names another wallet');
  const kg2 = decodeKg2(body(1));
  const kg3 = decodeKg3(body(2), profile);
  const kg4 = decodeKg4(body(3), profile, kg3.rp.Nhat);
  const kg5 = decodeKg5(body(4));
  const s1 = decodeSign1(body(5));
  const s2 = decodeSign2(body(6));
  const s3 = decodeSign3(body(7));
  const s4 = decodeSign4(body(8));
  const s5 = decodeSign5(body(9), kg4.N);
  const s6 = decodeSign6(body(10));
  const Q = kg4.Q1.add(kg3.Q2);
  if (Q.is0()) throw new TecdsaError('E_POINT', 'Q1 + Q2 is the identity');
  const sid = kgSid({ requestId: ridKg, walletId, idpk1, idpk2, n1: kg2.n1, n2: kg1.n2 }, profile);
  const keyId = keyIdOf(sid, Q, kg4.N, kg4.cKey);
  const tKg = kgTranscriptHash(envs.slice(0, 4).map((e) => e.body));
  if (!equalBytes(kg5.keyId, keyId) || !equalBytes(kg5.tKg, tKg))
    throw new TecdsaError('E_TRANSCRIPT_MISMATCH', 'KG-5 differs');
  if (!equalBytes(s1.keyId, keyId)) throw new TecdsaError('E_UNKNOWN_KEY', 'SIGN-1 names another key');
  if (!equalBytes(s1.m32, m32)) throw new TecdsaError('E_MSG_MISMATCH', 'SIGN-1 m32 differs');
  const signature: Signature = { r: s6.r, s: s6.s, recid: s6.recid as 0 | 1 };
  const res = exactKeys(t.result, ['publicKey', 'address', 'r', 's', 'recid', 'v']);
  const expected = {
    publicKey: bytesToHex(Q.toBytes(true)),
    address: ethereumAddress(Q),
    r: hex0x(s6.r),
    s: hex0x(s6.s),
    recid: s6.recid,
    v: transcriptV(s6.recid, chainId as number | undefined),
  };
  for (const k of Object.keys(expected) as (keyof typeof expected)[])
    if (res[k] !== expected[k]) bad(`result.${k} does not match the messages`);
  if (s6.s > 1n << 255n || !signatureMatches(signature, m32, Q))
    throw new TecdsaError('E_BAD_SIGNATURE', 'SIGN-6 does not verify');

  // 3. The signing proofs and openings.
  const ssid = signSid(ridSign, keyId, Q, m32, s2.n1, s1.n2);
  verifySchnorr(ssid, 'R2', 'P2', s3.R2, s3.pi2);
  checkOpening(s2.C1, ssid, 'R1', 'P1', [encPt(s4.R1), encPt(s4.pi1.A), encSc(s4.pi1.z)], s4.salt);
  verifySchnorr(ssid, 'R1', 'P1', s4.R1, s4.pi1);
  if (!isValidCiphertext(paillierPublic(kg4.N), s5.c3))
    throw new TecdsaError('E_CIPHERTEXT', 'c3 is not a valid ciphertext');

  // 4. The DKG proofs, as P1 and P2 check them.
  verifySchnorr(sid, 'Q2', 'P2', kg3.Q2, kg3.pi2);
  checkRingPedersenParams(kg3.rp, profile.nHatBits);
  verifyPrm(o.modPow, sid, kg3.rp, kg3.prm, profile.m);
  verifyKg4({ ...o, profile }, sid, kg2.C1, kg3.Q2, kg3.rp, kg4);
  return { Q, signature };
}
