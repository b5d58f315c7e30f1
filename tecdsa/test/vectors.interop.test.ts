// Interoperability with the reference transcripts in ../shared/vectors (made by an
// independent implementation of PROTOCOL.md): our verifier accepts every file and rejects
// each with a single byte flipped. Flips are checked at every byte outside the message
// bodies and signatures, and at a stride inside them (each of those bytes is covered by an
// Ed25519 signature, which the verifier checks first). The `testOnly` note is informative
// metadata that nothing signs, so it is the one part a flip may leave valid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TecdsaError } from '../src/errors.ts';
import { seededRng } from '../src/rng.ts';
import { verifyTranscript } from '../src/transcript.ts';
import { mp, sharedVector } from './helpers.ts';

const FILES = [
  'kat-test.json',
  'kat-lows-test.json',
  'random-test.json',
  'kat-full.json',
  'kat-lows-full.json',
  'random-full.json',
];
const opts = { modPow: mp, rng: seededRng('vectors') };

for (const f of FILES) {
  const text = sharedVector(f);
  test(`accepts ${f}`, () => {
    const { signature } = verifyTranscript(text, opts);
    assert.equal(`0x${signature.r.toString(16).padStart(64, '0')}`, JSON.parse(text).result.r);
  });

  test(`rejects ${f} with any single byte flipped`, () => {
    const bytes = Buffer.from(text, 'utf8');
    const testOnlyAt = text.indexOf('"testOnly"');
    const bodyRanges: Array<[number, number]> = [];
    for (const m of text.matchAll(/"(body|sig)": "([0-9a-f]*)"/g))
      bodyRanges.push([m.index! + m[1]!.length + 5, m.index! + m[0].length - 1]);
    const inBody = (i: number) => bodyRanges.some(([a, b]) => i >= a && i < b);
    const stride = f.includes('full') ? 1499 : 211;
    let checked = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (testOnlyAt >= 0 && i >= testOnlyAt && i < text.indexOf('}', testOnlyAt) + 1) continue;
      if (inBody(i) && i % stride !== 0) continue;
      const flipped = Buffer.from(bytes);
      flipped[i] = flipped[i]! ^ 0x01;
      assert.throws(
        () => verifyTranscript(flipped.toString('latin1'), opts),
        (e: unknown) => e instanceof TecdsaError,
        `byte ${i} of ${f} flipped was accepted`,
      );
      checked++;
    }
    assert.ok(checked > 800);
  });
}
