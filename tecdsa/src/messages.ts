// Message bodies of the DKG (KG-1..KG-5) and signing (SIGN-1..SIGN-6), PROTOCOL.md §7, §8,
// framed as §3.2/§3.2a pin them. Decoders are strict: exact field counts, fixed lengths,
// canonical integers, list counts = m, caps on every integer.

import { type Point } from './curve.ts';
import {
  Reader,
  decBit,
  decBytes32,
  decInt,
  decMod,
  decNat,
  decPt,
  decSc,
  encBit,
  encBytes32,
  encInt,
  encMod,
  encNat,
  encPt,
  encSc,
  frame,
  list,
  unframe,
} from './encoding.ts';
import { type Profile } from './params.ts';
import { type RingPedersenParams } from './ringPedersen.ts';
import { type SchnorrProof } from './proofs/schnorr.ts';
import { type PrmProof } from './proofs/prm.ts';
import { type ModProof } from './proofs/mod.ts';
import { type FacProof, facBitCaps } from './proofs/fac.ts';
import { type LogStarProof, LOGSTAR_Z1_BOUND, logStarZ3Bound } from './proofs/logstar.ts';
import { bitLength, concatBytes, u32 } from './bytes.ts';

export interface Kg1 {
  walletId: Uint8Array;
  n2: Uint8Array;
}
export interface Kg2 {
  n1: Uint8Array;
  C1: Uint8Array;
}
export interface Kg3 {
  Q2: Point;
  pi2: SchnorrProof;
  rp: RingPedersenParams;
  prm: PrmProof;
}
export interface Kg4 {
  Q1: Point;
  pi1: SchnorrProof;
  salt1: Uint8Array;
  N: bigint;
  mod: ModProof;
  fac: FacProof;
  cKey: bigint;
  logstar: LogStarProof;
}
export interface Kg5 {
  keyId: Uint8Array;
  tKg: Uint8Array;
}
export interface Sign1 {
  keyId: Uint8Array;
  m32: Uint8Array;
  n2: Uint8Array;
}
export interface Sign2 {
  n1: Uint8Array;
  C1: Uint8Array;
}
export interface Sign3 {
  R2: Point;
  pi2: SchnorrProof;
}
export interface Sign4 {
  R1: Point;
  pi1: SchnorrProof;
  salt: Uint8Array;
}
export interface Sign5 {
  c3: bigint;
}
export interface Sign6 {
  r: bigint;
  s: bigint;
  recid: number;
}

const pair = (a: Uint8Array, b: Uint8Array) => frame([encBytes32(a), encBytes32(b)]);

export const encodeKg1 = (m: Kg1) => pair(m.walletId, m.n2);
export function decodeKg1(b: Uint8Array): Kg1 {
  const [w, n2] = unframe(b, 2);
  return { walletId: decBytes32(w!), n2: decBytes32(n2!) };
}

export const encodeKg2 = (m: Kg2) => pair(m.n1, m.C1);
export function decodeKg2(b: Uint8Array): Kg2 {
  const [n1, c] = unframe(b, 2);
  return { n1: decBytes32(n1!), C1: decBytes32(c!) };
}

export function encodeKg3(m: Kg3): Uint8Array {
  const N = m.rp.Nhat;
  const prm = concatBytes(list(m.prm.A.map((a) => encMod(a, N))), list(m.prm.z.map((z) => encMod(z, N))));
  return frame([encPt(m.Q2), encPt(m.pi2.A), encSc(m.pi2.z), encNat(N), encMod(m.rp.s, N), encMod(m.rp.t, N), prm]);
}
export function decodeKg3(b: Uint8Array, p: Profile): Kg3 {
  const f = unframe(b, 7);
  const Nhat = decNat(f[3]!, p.nHatBits / 8);
  const r = new Reader(f[6]!);
  const items = () => {
    r.count(p.m);
    return Array.from({ length: p.m }, () => decMod(r.field(), Nhat));
  };
  const A = items();
  const z = items();
  r.end();
  return {
    Q2: decPt(f[0]!),
    pi2: { A: decPt(f[1]!), z: decSc(f[2]!) },
    rp: { Nhat, s: decMod(f[4]!, Nhat), t: decMod(f[5]!, Nhat) },
    prm: { A, z },
  };
}

function encodeMod(pr: ModProof, N: bigint): Uint8Array {
  const items = pr.items.flatMap((it) => [encMod(it.x, N), encBit(it.a), encBit(it.b), encMod(it.z, N)]);
  // framed w, then a bare count, then four framed elements per item (the item itself is not framed)
  return concatBytes(frame([encMod(pr.w, N)]), u32(pr.items.length), frame(items));
}

function decodeMod(b: Uint8Array, N: bigint, m: number): ModProof {
  const r = new Reader(b);
  const w = decMod(r.field(), N);
  r.count(m);
  const items = Array.from({ length: m }, () => ({
    x: decMod(r.field(), N),
    a: decBit(r.field()),
    b: decBit(r.field()),
    z: decMod(r.field(), N),
  }));
  r.end();
  return { w, items };
}

function encodeFac(pr: FacProof, Nhat: bigint): Uint8Array {
  const M = (x: bigint) => encMod(x, Nhat);
  return frame([
    M(pr.P),
    M(pr.Q),
    M(pr.A),
    M(pr.B),
    M(pr.T),
    ...[pr.sigma, pr.z1, pr.z2, pr.w1, pr.w2, pr.v].map(encInt),
  ]);
}
function decodeFac(b: Uint8Array, N: bigint, Nhat: bigint): FacProof {
  const f = unframe(b, 11);
  const caps = facBitCaps(N, Nhat);
  const M = (i: number) => decMod(f[i]!, Nhat);
  return {
    P: M(0),
    Q: M(1),
    A: M(2),
    B: M(3),
    T: M(4),
    sigma: decInt(f[5]!, caps.sigma),
    z1: decInt(f[6]!, caps.z),
    z2: decInt(f[7]!, caps.z),
    w1: decInt(f[8]!, caps.w),
    w2: decInt(f[9]!, caps.w),
    v: decInt(f[10]!, caps.v),
  };
}

function encodeLogStar(pr: LogStarProof, N: bigint, Nhat: bigint): Uint8Array {
  return frame([
    encMod(pr.S, Nhat),
    encMod(pr.A, N * N),
    encPt(pr.Y),
    encMod(pr.D, Nhat),
    encInt(pr.z1),
    encMod(pr.z2, N),
    encInt(pr.z3),
  ]);
}
function decodeLogStar(b: Uint8Array, N: bigint, Nhat: bigint): LogStarProof {
  const f = unframe(b, 7);
  return {
    S: decMod(f[0]!, Nhat),
    A: decMod(f[1]!, N * N),
    Y: decPt(f[2]!),
    D: decMod(f[3]!, Nhat),
    z1: decInt(f[4]!, bitLength(LOGSTAR_Z1_BOUND)),
    z2: decMod(f[5]!, N),
    z3: decInt(f[6]!, bitLength(logStarZ3Bound(Nhat))),
  };
}

export function encodeKg4(m: Kg4, Nhat: bigint): Uint8Array {
  const N = m.N;
  return frame([
    encPt(m.Q1),
    encPt(m.pi1.A),
    encSc(m.pi1.z),
    encBytes32(m.salt1),
    encNat(N),
    encodeMod(m.mod, N),
    encodeFac(m.fac, Nhat),
    encMod(m.cKey, N * N),
    encodeLogStar(m.logstar, N, Nhat),
  ]);
}
/** `Nhat` is P2's own ring-Pedersen modulus (the residues of Πfac and Πlog* are mod N̂). */
export function decodeKg4(b: Uint8Array, p: Profile, Nhat: bigint): Kg4 {
  const f = unframe(b, 9);
  const N = decNat(f[4]!, p.nBits / 8);
  return {
    Q1: decPt(f[0]!),
    pi1: { A: decPt(f[1]!), z: decSc(f[2]!) },
    salt1: decBytes32(f[3]!),
    N,
    mod: decodeMod(f[5]!, N, p.m),
    fac: decodeFac(f[6]!, N, Nhat),
    cKey: decMod(f[7]!, N * N),
    logstar: decodeLogStar(f[8]!, N, Nhat),
  };
}

export const encodeKg5 = (m: Kg5) => pair(m.keyId, m.tKg);
export function decodeKg5(b: Uint8Array): Kg5 {
  const [k, t] = unframe(b, 2);
  return { keyId: decBytes32(k!), tKg: decBytes32(t!) };
}

export const encodeSign1 = (m: Sign1) => frame([encBytes32(m.keyId), encBytes32(m.m32), encBytes32(m.n2)]);
export function decodeSign1(b: Uint8Array): Sign1 {
  const [k, m32, n2] = unframe(b, 3);
  return { keyId: decBytes32(k!), m32: decBytes32(m32!), n2: decBytes32(n2!) };
}

export const encodeSign2 = (m: Sign2) => pair(m.n1, m.C1);
export const decodeSign2 = (b: Uint8Array): Sign2 => {
  const { n1, C1 } = decodeKg2(b);
  return { n1, C1 };
};

export const encodeSign3 = (m: Sign3) => frame([encPt(m.R2), encPt(m.pi2.A), encSc(m.pi2.z)]);
export function decodeSign3(b: Uint8Array): Sign3 {
  const [R, A, z] = unframe(b, 3);
  return { R2: decPt(R!), pi2: { A: decPt(A!), z: decSc(z!) } };
}

export const encodeSign4 = (m: Sign4) => frame([encPt(m.R1), encPt(m.pi1.A), encSc(m.pi1.z), encBytes32(m.salt)]);
export function decodeSign4(b: Uint8Array): Sign4 {
  const [R, A, z, salt] = unframe(b, 4);
  return { R1: decPt(R!), pi1: { A: decPt(A!), z: decSc(z!) }, salt: decBytes32(salt!) };
}

export const encodeSign5 = (m: Sign5, N: bigint) => frame([encMod(m.c3, N * N)]);
export function decodeSign5(b: Uint8Array, N: bigint): Sign5 {
  const [c] = unframe(b, 1);
  return { c3: decMod(c!, N * N) };
}

export const encodeSign6 = (m: Sign6) => frame([encSc(m.r), encSc(m.s), encBit(m.recid)]);
export function decodeSign6(b: Uint8Array): Sign6 {
  const [r, s, v] = unframe(b, 3);
  return { r: decSc(r!), s: decSc(s!), recid: decBit(v!) };
}
