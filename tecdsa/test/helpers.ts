// Shared test fixtures: identities, a cached ring-Pedersen setup per profile, the native backend.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TecdsaError } from '../src/errors.ts';
import { fileURLToPath } from 'node:url';
import { identityFromSeed } from '../src/envelope.ts';
import { nativeModPow } from '../src/modpowNative.ts';
import { type Rng, seededRng } from '../src/rng.ts';
import { type Profile } from '../src/params.ts';
import { type RingPedersenSecret, generateRingPedersen } from '../src/ringPedersen.ts';
import { type LocalParties } from '../src/runLocal.ts';

export const mp = (() => {
  const n = nativeModPow();
  if (!n) throw new Error('native modpow unavailable in Node: the tests expect it');
  return n;
})();

const rpCache = new Map<string, RingPedersenSecret>();

/** One ring-Pedersen setup per profile and seed (the desktop's one-time setup is slow). */
export function ringPedersenFor(profile: Profile, seed = 'rp'): RingPedersenSecret {
  const key = `${profile.name}/${seed}`;
  let rp = rpCache.get(key);
  if (!rp) {
    rp = generateRingPedersen(mp, seededRng(`rp/${key}`), profile.nHatBits);
    rpCache.set(key, rp);
  }
  return rp;
}

export function parties(profile: Profile, rng: Rng = seededRng('parties')): LocalParties {
  return {
    p1: identityFromSeed(seededRng('id1').bytes(32)),
    p2: identityFromSeed(seededRng('id2').bytes(32)),
    rng,
    modPow: mp,
    profile,
  };
}

/** A file from ../shared/vectors (next to the repository, as in CI). */
export function sharedVector(name: string): string {
  return readFileSync(fileURLToPath(new URL(`../../../shared/vectors/${name}`, import.meta.url)), 'utf8');
}

/** Runs `fn` and asserts it throws a TecdsaError with `code`; returns the error. */
export async function expectCode(fn: () => unknown, code: string): Promise<TecdsaError> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof TecdsaError, `expected a TecdsaError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  return assert.fail(`expected ${code}, but it succeeded`);
}
