// Native modular exponentiation through Node's OpenSSL binding.
// `createDiffieHellman(m, b)` with private key `e` computes b^e mod m (OpenSSL's Montgomery
// code, constant-time for the private exponent). It accepts composite odd moduli of ≥ 512
// bits; everything else falls back to the BigInt reference. The backend checks itself
// against the reference before it is used, so a runtime whose crypto behaves differently
// (an Electron build on BoringSSL, say) silently gets the reference instead.
//
// Node runs OpenSSL's DH_check on every new modulus (to fill `verifyError`): a full
// primality test for a prime modulus and one Miller–Rabin round for a composite one, which
// costs more than the exponentiation itself. We therefore exponentiate modulo 3·m, which
// trial division dismisses at once, and reduce the result modulo m (b^e mod 3m mod m =
// b^e mod m). Measured here: 37 ms → 3.2 ms for a 256-bit exponent modulo a 6144-bit N².

import { createDiffieHellman } from 'node:crypto';
import { bigToMinBytes, bitLength, bytesToBig } from './bytes.ts';
import { type ModPow, mod, modPowBigInt } from './arith.ts';

const MIN_NATIVE_BITS = 512;

function nativePow(b: bigint, e: bigint, m: bigint): bigint {
  if (m < 3n || (m & 1n) === 0n || bitLength(m) < MIN_NATIVE_BITS) return modPowBigInt(b, e, m);
  b = mod(b, m);
  if (e === 0n) return 1n;
  if (b < 2n || e === 1n) return b; // OpenSSL refuses generators 0 and 1
  const m3 = m % 3n === 0n ? m : 3n * m;
  const dh = createDiffieHellman(Buffer.from(bigToMinBytes(m3)), Buffer.from(bigToMinBytes(b)));
  dh.setPrivateKey(Buffer.from(bigToMinBytes(e)));
  return bytesToBig(dh.generateKeys()) % m;
}

function selfTest(pow: (b: bigint, e: bigint, m: bigint) => bigint): boolean {
  // Deterministic odd composite moduli and exponents of awkward sizes.
  let x = 0x9e3779b97f4a7c15f39cc0605cedc834n;
  const next = (bits: number): bigint => {
    let v = 0n;
    while (bitLength(v) < bits) {
      x = (x * 6364136223846793005n + 1442695040888963407n) & ((1n << 128n) - 1n);
      v = (v << 128n) | x;
    }
    return v >> BigInt(bitLength(v) - bits);
  };
  for (const [mb, eb] of [
    [1024, 1024],
    [2048, 3000],
    [3072, 256],
    [6144, 1536],
  ] as const) {
    const m = next(mb) | 1n | (1n << BigInt(mb - 1));
    const b = next(mb + 8);
    const e = next(eb);
    try {
      if (pow(b, e, m) !== modPowBigInt(b, e, m)) return false;
    } catch {
      return false;
    }
  }
  return true;
}

let cached: ModPow | null | undefined;

/** The native backend if it works in this runtime, else undefined. */
export function nativeModPow(): ModPow | undefined {
  if (cached === undefined) cached = selfTest(nativePow) ? { name: 'openssl', pow: nativePow } : null;
  return cached ?? undefined;
}
