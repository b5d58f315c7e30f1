// Paillier against an independent implementation (paillier-bigint, g = N + 1) and the
// native exponentiation backend against the BigInt reference (PROTOCOL.md §13.1 item 4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as pb from 'paillier-bigint';
import { bigintModPow, gcd, jacobi, modInv, modPowBigInt } from '../src/arith.ts';
import {
  decrypt,
  encrypt,
  encryptWithSecret,
  addCiphertexts,
  mulCiphertext,
  generatePaillier,
  isValidCiphertext,
} from '../src/paillier.ts';
import { TEST } from '../src/params.ts';
import { seededRng, uniformBelow, uniformUnit } from '../src/rng.ts';
import { mp } from './helpers.ts';

const rng = seededRng('paillier');
const sk = generatePaillier(mp, rng, TEST.nBits);
const lambda = ((sk.p - 1n) * (sk.q - 1n)) / gcd(sk.p - 1n, sk.q - 1n);
const theirs = new pb.PrivateKey(lambda, modInv(lambda, sk.N), new pb.PublicKey(sk.N, sk.N + 1n), sk.p, sk.q);

test('Blum primes, sizes and gcd(N, φ) = 1', () => {
  assert.equal(sk.p % 4n, 3n);
  assert.equal(sk.q % 4n, 3n);
  assert.equal(sk.N.toString(2).length, TEST.nBits);
  assert.equal(gcd(sk.N, sk.phi), 1n);
});

test('our ciphertexts decrypt with paillier-bigint and theirs with ours', () => {
  for (let i = 0; i < 20; i++) {
    const m = uniformBelow(rng, sk.N);
    const r = uniformUnit(rng, sk.N);
    const c = encrypt(mp, sk, m, r);
    assert.equal(c, theirs.publicKey.encrypt(m, r));
    assert.equal(encryptWithSecret(mp, sk, m, r), c);
    assert.equal(theirs.decrypt(c), m);
    assert.equal(decrypt(mp, sk, theirs.publicKey.encrypt(m)), m);
  }
});

test('CRT decryption equals plain L(c^λ)·μ decryption and homomorphic ops agree', () => {
  const mu = modInv((modPowBigInt(sk.N + 1n, lambda, sk.N2) - 1n) / sk.N, sk.N);
  for (let i = 0; i < 10; i++) {
    const a = uniformBelow(rng, sk.N);
    const b = uniformBelow(rng, 1n << 256n);
    const ca = encrypt(mp, sk, a, uniformUnit(rng, sk.N));
    const cb = encrypt(mp, sk, b, uniformUnit(rng, sk.N));
    const plain = (((modPowBigInt(ca, lambda, sk.N2) - 1n) / sk.N) * mu) % sk.N;
    assert.equal(decrypt(mp, sk, ca), plain);
    assert.equal(decrypt(mp, sk, addCiphertexts(sk, ca, cb)), (a + b) % sk.N);
    assert.equal(decrypt(mp, sk, mulCiphertext(mp, sk, ca, b)), (a * b) % sk.N);
    assert.equal(theirs.decrypt(theirs.publicKey.multiply(ca, b)), (a * b) % sk.N);
  }
});

test('valid ciphertexts are units below N²', () => {
  assert.equal(isValidCiphertext(sk, 0n), false);
  assert.equal(isValidCiphertext(sk, sk.N), false);
  assert.equal(isValidCiphertext(sk, sk.p * 7n), false);
  assert.equal(isValidCiphertext(sk, sk.N2), false);
  assert.equal(isValidCiphertext(sk, sk.N + 1n), true);
});

test('native OpenSSL modpow equals the BigInt reference on 300 random cases', () => {
  for (let i = 0; i < 300; i++) {
    const bits = [512, 1024, 1536, 2048, 3072, 6144][i % 6]!;
    const m = uniformBelow(rng, 1n << BigInt(bits)) | 1n | (1n << BigInt(bits - 1));
    const b = uniformBelow(rng, m * 4n);
    const e = uniformBelow(rng, 1n << BigInt(1 + (i % 3000)));
    assert.equal(mp.pow(b, e, m), bigintModPow.pow(b, e, m), `case ${i}`);
  }
  for (const [b, e] of [
    [0n, 5n],
    [1n, 9n],
    [7n, 0n],
    [7n, 1n],
  ] as const) {
    const m = sk.N;
    assert.equal(mp.pow(b, e, m), modPowBigInt(b, e, m));
  }
});

test('Jacobi symbols agree with Euler’s criterion modulo a prime', () => {
  for (let i = 0; i < 50; i++) {
    const a = uniformBelow(rng, sk.p);
    const euler = modPowBigInt(a, (sk.p - 1n) / 2n, sk.p);
    assert.equal(jacobi(a, sk.p), euler === 0n ? 0 : euler === 1n ? 1 : -1);
  }
});
