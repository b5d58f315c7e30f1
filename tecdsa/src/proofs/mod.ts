// Πmod: N is a Paillier–Blum modulus (PROTOCOL.md §5.3, CGGMP21; prover P1, verifier P2).
// Quadratic-residue tests use Jacobi symbols (no exponentiation); roots use CRT.

import { TecdsaError } from '../errors.ts';
import { bytesToBig, bitLength, u32, utf8 } from '../bytes.ts';
import { type ModPow, crt, gcd, jacobi, mod, modInv, powAll } from '../arith.ts';
import { encMod, encNat } from '../encoding.ts';
import { th } from '../hash.ts';
import { type PaillierSecretKey } from '../paillier.ts';
import { type Rng, uniformRange } from '../rng.ts';

export interface ModItem {
  readonly x: bigint;
  readonly a: number;
  readonly b: number;
  readonly z: bigint;
}

export interface ModProof {
  readonly w: bigint;
  readonly items: readonly ModItem[];
}

/** y_i = OS2IP(TH("mod-y", [sid, "N", "P1", Nat(N), Mod(w,N), U32(i)], |N|+128)) mod N, i = 1..m. */
export function modChallenges(sid: Uint8Array, N: bigint, w: bigint, m: number): bigint[] {
  const bits = bitLength(N) + 128;
  const head = [sid, utf8('N'), utf8('P1'), encNat(N), encMod(w, N)];
  const ys: bigint[] = [];
  for (let i = 1; i <= m; i++) ys.push(bytesToBig(th('mod-y', [...head, u32(i)], bits)) % N);
  return ys;
}

export function proveMod(mp: ModPow, rng: Rng, sid: Uint8Array, sk: PaillierSecretKey, m: number): ModProof {
  const { N, p, q, phi } = sk;
  // e4 = ((φ+4)/8)² mod φ, reduced per prime for CRT; N^(−1) mod φ likewise.
  const e4 = mod(((phi + 4n) / 8n) ** 2n, phi);
  const nInv = modInv(N, phi);
  for (;;) {
    let w: bigint;
    do w = uniformRange(rng, 1n, N);
    while (gcd(w, N) !== 1n || jacobi(w, N) !== -1);
    const ys = modChallenges(sid, N, w, m);
    if (ys.some((y) => gcd(y, N) !== 1n)) continue;
    // Choose (a_i, b_i) with Jacobi symbols, then all 2·m roots as one batch of CRT halves.
    const choices = ys.map((y) => {
      for (const a of [0, 1])
        for (const b of [0, 1]) {
          let yp = b ? (w * y) % N : y;
          if (a) yp = N - yp;
          if (jacobi(yp, p) === 1 && jacobi(yp, q) === 1) return { a, b, yp };
        }
      throw new TecdsaError('E_INTERNAL', 'Πmod: no residue among the four choices');
    });
    const half = (x: bigint, e: bigint): Array<readonly [bigint, bigint, bigint]> => [
      [x % p, e % (p - 1n), p],
      [x % q, e % (q - 1n), q],
    ];
    const r = powAll(
      mp,
      choices.flatMap((c, i) => [...half(c.yp, e4), ...half(ys[i]!, nInv)]),
    );
    const items = choices.map((c, i): ModItem => ({
      x: crt(r[4 * i]!, p, r[4 * i + 1]!, q, sk.qInvP),
      a: c.a,
      b: c.b,
      z: crt(r[4 * i + 2]!, p, r[4 * i + 3]!, q, sk.qInvP),
    }));
    return { w, items };
  }
}

/** §5.3 verification steps 2–5 (E_PROOF_MOD). The modulus itself is checked by checkPaillierModulus. */
export function verifyMod(mp: ModPow, sid: Uint8Array, N: bigint, proof: ModProof, m: number): void {
  const bad = (why: string): never => {
    throw new TecdsaError('E_PROOF_MOD', why);
  };
  const { w, items } = proof;
  if (w < 1n || w >= N || gcd(w, N) !== 1n || jacobi(w, N) !== -1) bad('Πmod w must be a unit with Jacobi symbol −1');
  if (items.length !== m) bad(`Πmod needs ${m} items`);
  for (const it of items)
    if (it.a > 1 || it.b > 1 || it.x < 1n || it.x >= N || it.z < 1n || it.z >= N) bad('Πmod item out of range');
  const ys = modChallenges(sid, N, w, m);
  if (ys.some((y) => gcd(y, N) !== 1n)) bad('Πmod y_i not a unit');
  const zN = powAll(
    mp,
    items.map((it) => [it.z, N, N] as const),
  );
  items.forEach((it, i) => {
    const y = ys[i]!;
    let rhs = it.b ? (w * y) % N : y;
    if (it.a) rhs = mod(-rhs, N);
    const x2 = (it.x * it.x) % N;
    if ((x2 * x2) % N !== rhs) bad('Πmod fourth-root equation fails');
    if (zN[i] !== y) bad('Πmod N-th-root equation fails');
  });
}
