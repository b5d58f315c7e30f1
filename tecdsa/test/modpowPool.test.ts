// The worker-thread batch backend gives exactly the reference results, in order, for
// batches mixing offloadable and local tasks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modPowBigInt, powAll } from '../src/arith.ts';
import { ModPowPool } from '../src/modpowPool.ts';
import { seededRng, uniformBelow } from '../src/rng.ts';

test('ModPowPool.powMany equals the BigInt reference on mixed batches', () => {
  const pool = new ModPowPool(2);
  const rng = seededRng('pool');
  try {
    for (let round = 0; round < 3; round++) {
      const tasks = Array.from({ length: 37 }, (_, i) => {
        const bits = [64, 511, 1024, 2048, 3072][i % 5]!;
        const m = uniformBelow(rng, 1n << BigInt(bits)) | 1n | (1n << BigInt(bits - 1));
        const m2 = i % 7 === 0 ? m * 2n : m; // even moduli stay on the caller's thread
        return [uniformBelow(rng, m2), uniformBelow(rng, 1n << BigInt(1 + ((i * 97) % 3100))), m2] as const;
      });
      assert.deepEqual(
        powAll(pool, tasks),
        tasks.map(([b, e, m]) => modPowBigInt(b, e, m)),
      );
    }
  } finally {
    pool.close();
  }
});
