// The coordinator's own check of a signature from the signer before it stores a signed
// transaction. It sits on the path between the signer's answer and the desktop's, so it keeps a
// precomputed table per recently used wallet key, built after the first check so the first
// signing does not wait for it.

import { Point } from '@tandem/tecdsa/curve';
import { signatureMatches, type Signature } from '@tandem/tecdsa/sign';

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

/**
 * Whether a signature is low-s and recovers, with its recovery id, to the wallet's key: tecdsa's
 * own check (ECDSA verification and recovery in one double multiplication), on the wallet's point
 * with its table.
 */
export function recoversTo(sig: Signature, digest: Uint8Array, publicKey: Uint8Array): boolean {
  let Q: Point;
  try {
    Q = walletPoint(publicKey);
  } catch {
    return false; // not a point: a malformed key
  }
  return signatureMatches(sig, digest, Q);
}
