// Integer arithmetic for Paillier and the proofs: gcd, inverses, Jacobi symbols,
// CRT, square roots, and modular exponentiation behind a swappable backend.
// The BigInt code here is the reference; faster backends are checked against it.

export function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

export function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b) [a, b] = [b, a % b];
  return a;
}

/** a^(−1) mod m; throws if not invertible. */
export function modInv(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1) {
    const qt = r0 / r1;
    [r0, r1] = [r1, r0 - qt * r1];
    [s0, s1] = [s1, s0 - qt * s1];
  }
  if (r0 !== 1n) throw new RangeError('not invertible');
  return mod(s0, m);
}

/** Jacobi symbol (a | n) for odd n > 0: binary algorithm, no exponentiation. */
export function jacobi(a: bigint, n: bigint): number {
  if (n <= 0n || (n & 1n) === 0n) throw new RangeError('Jacobi needs odd positive n');
  a = mod(a, n);
  let t = 1;
  while (a !== 0n) {
    let twos = 0;
    while ((a & 1n) === 0n) {
      a >>= 1n;
      twos++;
    }
    const n8 = n & 7n;
    if (twos & 1 && (n8 === 3n || n8 === 5n)) t = -t;
    if ((a & 3n) === 3n && (n & 3n) === 3n) t = -t;
    [a, n] = [n % a, a];
  }
  return n === 1n ? t : 0;
}

/** ⌊√n⌋ by Newton's method. */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError('negative');
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** Reference left-to-right fixed-window exponentiation for e ≥ 0. */
export function modPowBigInt(b: bigint, e: bigint, m: bigint): bigint {
  if (m === 1n) return 0n;
  b = mod(b, m);
  if (e === 0n) return 1n;
  const w = 5n;
  const table: bigint[] = [1n, b];
  for (let i = 2; i < 32; i++) table.push((table[i - 1]! * b) % m);
  const bits = e.toString(2);
  const pad = (5 - (bits.length % 5)) % 5;
  const s = '0'.repeat(pad) + bits;
  let r = 1n;
  for (let i = 0; i < s.length; i += 5) {
    if (i > 0) for (let k = 0; k < Number(w); k++) r = (r * r) % m;
    const d = parseInt(s.slice(i, i + 5), 2);
    if (d) r = (r * table[d]!) % m;
  }
  return r;
}

/** A modular-exponentiation backend. `e ≥ 0` only; negative exponents are handled by `powSigned`. */
export interface ModPow {
  readonly name: string;
  pow(b: bigint, e: bigint, m: bigint): bigint;
  /** A batch, possibly in parallel (modpowPool.ts); results in order. */
  powMany?(tasks: ReadonlyArray<readonly [bigint, bigint, bigint]>): bigint[];
}

export const bigintModPow: ModPow = { name: 'bigint', pow: modPowBigInt };

/** b^e mod m for a signed exponent (the base must be a unit when e < 0). */
export function powSigned(mp: ModPow, b: bigint, e: bigint, m: bigint): bigint {
  return e < 0n ? mp.pow(modInv(b, m), -e, m) : mp.pow(b, e, m);
}

/** x ≡ a (mod p), x ≡ b (mod q), with qInvP = q^(−1) mod p. */
export function crt(a: bigint, p: bigint, b: bigint, q: bigint, qInvP: bigint): bigint {
  return b + q * mod((a - b) * qInvP, p);
}

/** Runs a batch of exponentiations, in parallel when the backend can (see modpowPool.ts). */
export function powAll(mp: ModPow, tasks: ReadonlyArray<readonly [bigint, bigint, bigint]>): bigint[] {
  return mp.powMany ? mp.powMany(tasks) : tasks.map(([b, e, m]) => mp.pow(b, e, m));
}
