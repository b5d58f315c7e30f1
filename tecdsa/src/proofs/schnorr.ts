// Πsch: knowledge of a discrete logarithm (PROTOCOL.md §5.1).

import { TecdsaError } from '../errors.ts';
import { utf8 } from '../bytes.ts';
import { G, type Point, SECP256K1_N, modN, mulG, mulUnsafe } from '../curve.ts';
import { encPt } from '../encoding.ts';
import { scalarChallenge } from '../hash.ts';
import { type Rng, uniformRange } from '../rng.ts';

export interface SchnorrProof {
  readonly A: Point;
  readonly z: bigint;
}

export type SchnorrLabel = 'Q1' | 'Q2' | 'R1' | 'R2';
export type Role = 'P1' | 'P2';

const challenge = (sid: Uint8Array, label: SchnorrLabel, role: Role, X: Point, A: Point): bigint =>
  scalarChallenge('sch', [sid, utf8(label), utf8(role), encPt(X), encPt(A)]);

export function proveSchnorr(
  rng: Rng,
  sid: Uint8Array,
  label: SchnorrLabel,
  role: Role,
  x: bigint,
  X: Point,
): SchnorrProof {
  const alpha = uniformRange(rng, 1n, SECP256K1_N);
  const A = mulG(alpha);
  const e = challenge(sid, label, role, X, A);
  return { A, z: modN(alpha + e * x) };
}

/** X and A come from the strict point decoder (valid, not O); z from the scalar decoder (< q). */
export function verifySchnorr(sid: Uint8Array, label: SchnorrLabel, role: Role, X: Point, proof: SchnorrProof): void {
  const e = challenge(sid, label, role, X, proof.A);
  if (!mulUnsafe(G, proof.z).equals(proof.A.add(mulUnsafe(X, e))))
    throw new TecdsaError('E_PROOF_SCH', `Schnorr proof for ${label} does not verify`);
}
