// Key shares as opaque, versioned binary blobs with strict parsers.
// The caller MUST keep them secret: never log them, and encrypt them at rest with an AEAD
// bound to the role, keyset and version (the signer daemon and the desktop do).
// A parser re-derives every public value from the secret ones, so a corrupted or
// spliced blob is refused (E_DECODE) rather than used.

import { TecdsaError } from './errors.ts';
import { bitLength, equalBytes, utf8 } from './bytes.ts';
import { type Point, mulG } from './curve.ts';
import {
  decBytes32,
  decMod,
  decNat,
  decPt,
  decSc,
  decU32,
  encBytes32,
  encMod,
  encNat,
  encPt,
  encSc,
  encU32,
  frame,
  unframe,
} from './encoding.ts';
import { type ModPow } from './arith.ts';
import { type PaillierSecretKey, decrypt, isValidCiphertext, paillierFromPrimes, paillierPublic } from './paillier.ts';
import { type RingPedersenSecret, ringPedersenFrom } from './ringPedersen.ts';
import { FULL, TEST } from './params.ts';
import { kgSid, keyIdOf } from './sessionIds.ts';
import { looksLikeSafePrime } from './primes.ts';

/**
 * Where a key came from: the DKG's requestId, both nonces and both identity keys. With the
 * walletId they give the DKG's sid, and sid, Q, N and c_key give keyId, so a parser can
 * recompute keyId and refuse any blob whose public parts were altered or spliced.
 */
export interface KeyOrigin {
  readonly requestId: Uint8Array;
  readonly n1: Uint8Array;
  readonly n2: Uint8Array;
  readonly idpk1: Uint8Array;
  readonly idpk2: Uint8Array;
}

export interface P1Share {
  readonly version: 1;
  readonly keyId: Uint8Array;
  readonly walletId: Uint8Array;
  readonly Q: Point;
  readonly Q1: Point;
  readonly Q2: Point;
  readonly x1: bigint;
  readonly paillier: PaillierSecretKey;
  readonly cKey: bigint;
  readonly origin: KeyOrigin;
}

export interface P2Share {
  readonly version: 1;
  readonly keyId: Uint8Array;
  readonly walletId: Uint8Array;
  readonly Q: Point;
  readonly Q1: Point;
  readonly Q2: Point;
  readonly x2: bigint;
  readonly N: bigint;
  readonly cKey: bigint;
  readonly origin: KeyOrigin;
}

const P1_TAG = 'tecdsa/p1-share';
const P2_TAG = 'tecdsa/p2-share';
const RP_TAG = 'tecdsa/p2-ring-pedersen';
const MAX_NAT_BYTES = 512;
const N_SIZES = [FULL.nBits, TEST.nBits];

const bad = (why: string): never => {
  throw new TecdsaError('E_DECODE', `share blob: ${why}`);
};

/** Runs a blob parser; any of our errors inside becomes one E_DECODE naming the blob. */
function parsing<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof TecdsaError) throw new TecdsaError('E_DECODE', `${what} blob rejected (${e.code})`);
    throw e;
  }
}

function header(f: Uint8Array[], tag: string): void {
  if (!equalBytes(f[0]!, utf8(tag))) bad(`not a ${tag}`);
  if (decU32(f[1]!) !== 1) bad('unsupported version');
}

function jointKey(Q1: Point, Q2: Point): Point {
  const Q = Q1.add(Q2);
  if (Q.is0()) bad('Q1 + Q2 is the identity');
  return Q;
}

const encOrigin = (o: KeyOrigin): Uint8Array[] => [o.requestId, o.n1, o.n2, o.idpk1, o.idpk2].map(encBytes32);

function decOrigin(f: Uint8Array[]): KeyOrigin {
  const [requestId, n1, n2, idpk1, idpk2] = f.map(decBytes32);
  return { requestId: requestId!, n1: n1!, n2: n2!, idpk1: idpk1!, idpk2: idpk2! };
}

/** keyId must be what the DKG's sid, Q, N and c_key give (§7 KG-4 step 5). */
function checkKeyId(
  keyId: Uint8Array,
  walletId: Uint8Array,
  origin: KeyOrigin,
  Q: Point,
  N: bigint,
  cKey: bigint,
): void {
  const profile = bitLength(N) === FULL.nBits ? FULL : TEST;
  const sid = kgSid({ ...origin, walletId }, profile);
  if (!equalBytes(keyIdOf(sid, Q, N, cKey), keyId)) bad('keyId does not match the key material');
}

export function encodeP1Share(s: P1Share): Uint8Array {
  const { p, q, N2 } = s.paillier;
  return frame([
    utf8(P1_TAG),
    encU32(1),
    encBytes32(s.keyId),
    encBytes32(s.walletId),
    encPt(s.Q1),
    encPt(s.Q2),
    encSc(s.x1),
    encNat(p),
    encNat(q),
    encMod(s.cKey, N2),
    ...encOrigin(s.origin),
  ]);
}

export function parseP1Share(blob: Uint8Array, mp: ModPow): P1Share {
  return parsing('P1 share', () => {
    const f = unframe(blob, 15);
    header(f, P1_TAG);
    const Q1 = decPt(f[4]!);
    const Q2 = decPt(f[5]!);
    const x1 = decSc(f[6]!);
    if (x1 === 0n || !mulG(x1).equals(Q1)) bad('x1 does not match Q1');
    const p = decNat(f[7]!, MAX_NAT_BYTES);
    const q = decNat(f[8]!, MAX_NAT_BYTES);
    const nBits = bitLength(p * q);
    if (!N_SIZES.includes(nBits)) bad('Paillier modulus has an unsupported size');
    const paillier = paillierFromPrimes(mp, p, q, nBits);
    const cKey = decMod(f[9]!, paillier.N2);
    if (!isValidCiphertext(paillier, cKey) || decrypt(mp, paillier, cKey) !== x1) bad('c_key does not encrypt x1');
    const keyId = decBytes32(f[2]!);
    const walletId = decBytes32(f[3]!);
    const origin = decOrigin(f.slice(10, 15));
    const Q = jointKey(Q1, Q2);
    checkKeyId(keyId, walletId, origin, Q, paillier.N, cKey);
    return { version: 1, keyId, walletId, Q, Q1, Q2, x1, paillier, cKey, origin };
  });
}

export function encodeP2Share(s: P2Share): Uint8Array {
  return frame([
    utf8(P2_TAG),
    encU32(1),
    encBytes32(s.keyId),
    encBytes32(s.walletId),
    encPt(s.Q1),
    encPt(s.Q2),
    encSc(s.x2),
    encNat(s.N),
    encMod(s.cKey, s.N * s.N),
    ...encOrigin(s.origin),
  ]);
}

export function parseP2Share(blob: Uint8Array): P2Share {
  return parsing('P2 share', () => {
    const f = unframe(blob, 14);
    header(f, P2_TAG);
    const Q1 = decPt(f[4]!);
    const Q2 = decPt(f[5]!);
    const x2 = decSc(f[6]!);
    if (x2 === 0n || !mulG(x2).equals(Q2)) bad('x2 does not match Q2');
    const N = decNat(f[7]!, MAX_NAT_BYTES);
    if (!N_SIZES.includes(bitLength(N))) bad('Paillier modulus has an unsupported size');
    const cKey = decMod(f[8]!, N * N);
    if (!isValidCiphertext(paillierPublic(N), cKey)) bad('c_key is not a valid ciphertext');
    const keyId = decBytes32(f[2]!);
    const walletId = decBytes32(f[3]!);
    const origin = decOrigin(f.slice(9, 14));
    const Q = jointKey(Q1, Q2);
    checkKeyId(keyId, walletId, origin, Q, N, cKey);
    return { version: 1, keyId, walletId, Q, Q1, Q2, x2, N, cKey, origin };
  });
}

/** The desktop's one-time ring-Pedersen setup (secret: the safe primes, t and λ). */
export function encodeRingPedersenSecret(rp: RingPedersenSecret): Uint8Array {
  return frame([
    utf8(RP_TAG),
    encU32(1),
    encNat(rp.p),
    encNat(rp.q),
    encMod(rp.t, rp.Nhat),
    encMod(rp.lambda, rp.Nhat),
  ]);
}

export function parseRingPedersenSecret(blob: Uint8Array, mp: ModPow): RingPedersenSecret {
  return parsing('ring-Pedersen', () => {
    const f = unframe(blob, 6);
    header(f, RP_TAG);
    const p = decNat(f[2]!, MAX_NAT_BYTES);
    const q = decNat(f[3]!, MAX_NAT_BYTES);
    const Nhat = p * q;
    const bits = bitLength(Nhat);
    if (bits !== FULL.nHatBits && bits !== TEST.nHatBits) bad('N̂ has an unsupported size');
    if (!looksLikeSafePrime(mp, p) || !looksLikeSafePrime(mp, q)) bad('ring-Pedersen factors are not safe primes');
    return ringPedersenFrom(mp, p, q, decMod(f[4]!, Nhat), decMod(f[5]!, Nhat), bits);
  });
}
