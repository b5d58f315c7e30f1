// The coordinator's own check of a signature from the signer before it stores a signed
// transaction. It sits on the path between the signer's answer and the desktop's, so it uses
// @noble/curves (GLV endomorphism, windowed tables) and keeps a precomputed table per recently used
// wallet key, built after the first check so the first signing does not wait for it.

import { secp256k1 } from '@noble/curves/secp256k1.js';

const { Point } = secp256k1;
type Point = InstanceType<typeof Point>;
const N = Point.CURVE().n;
const HALF_N = N >> 1n;
const TABLE_WINDOW = 4; // ~25 ms to build, ~50 KB a key; halves the key's multiplication
const MAX_TABLES = 256;

const walletPoints = new Map<string, Point>();

function walletPoint(publicKey: Uint8Array): Point {
  const key = Buffer.from(publicKey).toString('hex');
  const known = walletPoints.get(key);
  if (known) {
    walletPoints.delete(key); // most recently used last
    walletPoints.set(key, known);
    return known;
  }
  const P = Point.fromBytes(publicKey);
  walletPoints.set(key, P);
  if (walletPoints.size > MAX_TABLES) walletPoints.delete(walletPoints.keys().next().value!);
  setImmediate(() => P.precompute(TABLE_WINDOW, false));
  return P;
}

const big = (b: Uint8Array) => BigInt('0x' + (Buffer.from(b).toString('hex') || '0'));

/**
 * Whether a signature is low-s and recovers, with its recovery id, to the wallet's key. Checked as
 * R = u1·G + u2·Q with R.x = r exactly and R.y's parity = the recovery id: that is ECDSA
 * verification, and it is exactly when recovery with this id gives Q (a wrong recovery id would
 * send the transaction from another address; ids 2 and 3, R.x ≥ n, are never accepted).
 */
export function recoversTo(
  sig: { r: bigint; s: bigint; recid: 0 | 1 },
  digest: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (sig.r < 1n || sig.r >= N || sig.s < 1n || sig.s > HALF_N) return false;
  if (sig.recid !== 0 && sig.recid !== 1) return false;
  if (digest.length !== 32) return false;
  try {
    const Q = walletPoint(publicKey);
    const w = Point.Fn.inv(sig.s);
    const e = big(digest) % N;
    const R = Point.BASE.multiplyUnsafe((e * w) % N)
      .add(Q.multiplyUnsafe((sig.r * w) % N))
      .toAffine();
    return R.x === sig.r && Number(R.y & 1n) === sig.recid;
  } catch {
    return false; // not a point (a malformed key) or R at infinity
  }
}
