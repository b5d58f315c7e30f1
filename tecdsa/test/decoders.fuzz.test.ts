// Fuzzing every decoder (PROTOCOL.md §3, §10, §13.2 "Encoding/fuzzing") with fast-check:
// the envelope parser, every message body decoder, the share-blob parsers and the field
// decoders. Invariants: a decoder only ever throws TecdsaError, and whatever it accepts is
// the canonical encoding of what it returned (decode → encode gives back the same bytes).
// The explicit negatives of §13.2 (non-canonical integers, oversized fields, truncated bodies,
// trailing bytes, list counts, envelope JSON defects) are pinned separately.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TecdsaError } from '../src/errors.ts';
import { bigToBytes, bigToMinBytes, bitLength, bytesToHex, concatBytes, u32 } from '../src/bytes.ts';
import { SECP256K1_N, SECP256K1_P, mulG } from '../src/curve.ts';
import {
  type Envelope,
  abortBody,
  abortCode,
  envelopeToJson,
  identityFromSeed,
  parseEnvelope,
  verifyEnvelope,
} from '../src/envelope.ts';
import {
  MAX_ENVELOPE_BYTES,
  decBit,
  decBytes32,
  decInt,
  decMod,
  decNat,
  decPt,
  decSc,
  decU32,
  encBit,
  encInt,
  encMod,
  encNat,
  encPt,
  encSc,
  frame,
  modLen,
  unframe,
} from '../src/encoding.ts';
import * as msg from '../src/messages.ts';
import { TEST } from '../src/params.ts';
import { seededRng } from '../src/rng.ts';
import { type DkgRun, runDkg, runSign } from '../src/runLocal.ts';
import {
  encodeP1Share,
  encodeP2Share,
  encodeRingPedersenSecret,
  parseP1Share,
  parseP2Share,
  parseRingPedersenSecret,
} from '../src/shares.ts';
import { LOGSTAR_Z1_BOUND } from '../src/proofs/logstar.ts';
import { gcd } from '../src/arith.ts';
import { mp, ringPedersenFor } from './helpers.ts';

const rng = seededRng('decoders.fuzz');
const id1 = identityFromSeed(seededRng('decoders.fuzz/id1').bytes(32));
const id2 = identityFromSeed(seededRng('decoders.fuzz/id2').bytes(32));
let dkg: DkgRun;
let envelopes: Envelope[]; // KG-1..KG-5, SIGN-1..SIGN-6
let Nhat: bigint;
let N: bigint;

before(async () => {
  const l = { p1: id1, p2: id2, rng, modPow: mp, profile: TEST };
  const rp = ringPedersenFor(TEST);
  Nhat = rp.Nhat;
  dkg = await runDkg(l, rp, { requestId: rng.bytes(32), walletId: rng.bytes(32) });
  N = dkg.share1.paillier.N;
  const sign = await runSign(l, dkg, rng.bytes(32), rng.bytes(32));
  envelopes = [...dkg.envelopes, ...sign.envelopes];
  assert.deepEqual(
    envelopes.map((e) => `${e.kind}-${e.round}`),
    ['kg-1', 'kg-2', 'kg-3', 'kg-4', 'kg-5', 'sign-1', 'sign-2', 'sign-3', 'sign-4', 'sign-5', 'sign-6'],
  );
});

// ---------- helpers ----------

const hex = bytesToHex;

/** Runs `f`; any throw must be a TecdsaError (returned), anything else fails the property. */
function attempt<T>(f: () => T): { ok: true; value: T } | { ok: false; error: TecdsaError } {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    assert.ok(e instanceof TecdsaError, `a decoder threw a non-TecdsaError: ${String(e)}`);
    return { ok: false, error: e };
  }
}

function expectCode(f: () => unknown, code: string, what = ''): void {
  const r = attempt(f);
  assert.ok(!r.ok, `${what}: expected ${code}, but it was accepted`);
  assert.equal(r.error.code, code, `${what}: ${r.error.message}`);
}

interface Codec {
  name: string;
  body: () => Uint8Array;
  decode: (b: Uint8Array) => unknown;
  encode: (v: unknown) => Uint8Array;
  numRuns: number;
}

const body = (i: number) => () => envelopes[i]!.body;
// The body codecs of messages.ts; the context parameters (profile, N̂, N) are the receiver's own.
const codecs: Codec[] = [
  { name: 'KG-1', body: body(0), decode: msg.decodeKg1, encode: (v) => msg.encodeKg1(v as msg.Kg1), numRuns: 3000 },
  { name: 'KG-2', body: body(1), decode: msg.decodeKg2, encode: (v) => msg.encodeKg2(v as msg.Kg2), numRuns: 3000 },
  {
    name: 'KG-3',
    body: body(2),
    decode: (b) => msg.decodeKg3(b, TEST),
    encode: (v) => msg.encodeKg3(v as msg.Kg3),
    numRuns: 1500,
  },
  {
    name: 'KG-4',
    body: body(3),
    decode: (b) => msg.decodeKg4(b, TEST, Nhat),
    encode: (v) => msg.encodeKg4(v as msg.Kg4, Nhat),
    numRuns: 1500,
  },
  { name: 'KG-5', body: body(4), decode: msg.decodeKg5, encode: (v) => msg.encodeKg5(v as msg.Kg5), numRuns: 3000 },
  {
    name: 'SIGN-1',
    body: body(5),
    decode: msg.decodeSign1,
    encode: (v) => msg.encodeSign1(v as msg.Sign1),
    numRuns: 3000,
  },
  {
    name: 'SIGN-2',
    body: body(6),
    decode: msg.decodeSign2,
    encode: (v) => msg.encodeSign2(v as msg.Sign2),
    numRuns: 3000,
  },
  {
    name: 'SIGN-3',
    body: body(7),
    decode: msg.decodeSign3,
    encode: (v) => msg.encodeSign3(v as msg.Sign3),
    numRuns: 3000,
  },
  {
    name: 'SIGN-4',
    body: body(8),
    decode: msg.decodeSign4,
    encode: (v) => msg.encodeSign4(v as msg.Sign4),
    numRuns: 3000,
  },
  {
    name: 'SIGN-5',
    body: body(9),
    decode: (b) => msg.decodeSign5(b, N),
    encode: (v) => msg.encodeSign5(v as msg.Sign5, N),
    numRuns: 3000,
  },
  {
    name: 'SIGN-6',
    body: body(10),
    decode: msg.decodeSign6,
    encode: (v) => msg.encodeSign6(v as msg.Sign6),
    numRuns: 3000,
  },
];

/** Positions: near the start (framing, headers), near the end (trailing fields), or anywhere. */
const positionArb = fc.oneof(
  fc.nat({ max: 96 }).map((i) => ({ from: 'start' as const, i })),
  fc.nat({ max: 96 }).map((i) => ({ from: 'end' as const, i })),
  fc.nat().map((i) => ({ from: 'any' as const, i })),
);
type Position = typeof positionArb extends fc.Arbitrary<infer T> ? T : never;
const resolve = (p: Position, len: number): number =>
  len === 0 ? 0 : p.from === 'start' ? p.i % len : p.from === 'end' ? Math.max(0, len - 1 - (p.i % len)) : p.i % len;

const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: positionArb, v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: positionArb, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: positionArb }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: positionArb, v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: positionArb }),
);
type Mutation = typeof mutationArb extends fc.Arbitrary<infer T> ? T : never;

function mutate(b: Uint8Array, m: Mutation): Uint8Array {
  switch (m.kind) {
    case 'set':
    case 'flip': {
      if (b.length === 0) return Uint8Array.of(m.kind === 'set' ? m.v : 1);
      const c = b.slice();
      const i = resolve(m.at, b.length);
      c[i] = m.kind === 'set' ? m.v : c[i]! ^ (1 << m.bit);
      return c;
    }
    case 'truncate':
      return b.slice(0, resolve(m.at, b.length));
    case 'extend':
      return concatBytes(b, m.bytes);
    case 'insert': {
      const i = resolve(m.at, b.length + 1);
      return concatBytes(b.subarray(0, i), Uint8Array.of(m.v), b.subarray(i));
    }
    case 'delete': {
      const i = resolve(m.at, b.length);
      return concatBytes(b.subarray(0, i), b.subarray(i + 1));
    }
  }
}

const mutationsArb = fc.array(mutationArb, { minLength: 1, maxLength: 3 });
const applyAll = (b: Uint8Array, ms: Mutation[]) => ms.reduce(mutate, b);

/** Only TecdsaError; if accepted, `encode(decode(x))` must be `x` byte for byte. */
function checkDecoder<T>(decode: (b: Uint8Array) => T, encode: (v: T) => Uint8Array, input: Uint8Array): void {
  const r = attempt(() => decode(input));
  if (r.ok) assert.equal(hex(encode(r.value)), hex(input), 'an accepted input is its own canonical encoding');
}

// ---------- message bodies ----------

describe('message body decoders (messages.ts)', () => {
  for (const c of codecs) {
    test(`${c.name}: the valid body decodes and re-encodes to the same bytes`, () => {
      assert.equal(hex(c.encode(c.decode(c.body()))), hex(c.body()));
    });

    test(`${c.name}: random bytes → only TecdsaError; anything accepted re-encodes identically`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (b) => checkDecoder(c.decode, c.encode, b)),
        { numRuns: c.numRuns },
      );
    });

    test(`${c.name}: byte mutations, truncations and extensions of the valid body → only TecdsaError, canonical if accepted`, () => {
      const valid = c.body();
      fc.assert(
        fc.property(mutationsArb, (ms) => checkDecoder(c.decode, c.encode, applyAll(valid, ms))),
        { numRuns: c.numRuns },
      );
    });
  }

  test('abort bodies: random bytes → only TecdsaError (E_DECODE); a protocol code round-trips', () => {
    assert.equal(abortCode(abortBody('E_SIGNING_FAILED')), 'E_SIGNING_FAILED');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.string().map((s) => abortBody(s)),
        ),
        (b) => {
          const r = attempt(() => abortCode(b));
          if (r.ok) assert.equal(hex(abortBody(r.value)), hex(b));
          else assert.equal(r.error.code, 'E_DECODE');
        },
      ),
      { numRuns: 500 },
    );
  });
});

// ---------- share blobs ----------

describe('share and ring-Pedersen blob parsers (shares.ts)', () => {
  const blobs = () => [
    {
      name: 'parseP1Share',
      blob: encodeP1Share(dkg.share1),
      parse: (b: Uint8Array) => encodeP1Share(parseP1Share(b, mp)),
      numRuns: 600,
    },
    {
      name: 'parseP2Share',
      blob: encodeP2Share(dkg.share2),
      parse: (b: Uint8Array) => encodeP2Share(parseP2Share(b)),
      numRuns: 1500,
    },
    {
      name: 'parseRingPedersenSecret',
      blob: encodeRingPedersenSecret(ringPedersenFor(TEST)),
      parse: (b: Uint8Array) => encodeRingPedersenSecret(parseRingPedersenSecret(b, mp)),
      numRuns: 1500,
    },
  ];

  test('valid blobs parse and re-encode to the same bytes', () => {
    for (const { blob, parse } of blobs()) assert.equal(hex(parse(blob)), hex(blob));
  });

  test('mutated blobs → only TecdsaError E_DECODE; anything accepted re-encodes identically', () => {
    for (const { name, blob, parse, numRuns } of blobs()) {
      fc.assert(
        fc.property(mutationsArb, (ms) => {
          const b = applyAll(blob, ms);
          const r = attempt(() => parse(b));
          if (r.ok) assert.equal(hex(r.value), hex(b), `${name}: accepted blob is canonical`);
          else assert.equal(r.error.code, 'E_DECODE', `${name}: ${r.error.message}`);
        }),
        { numRuns },
      );
    }
  });

  test('random bytes → only TecdsaError E_DECODE', () => {
    for (const { parse } of blobs()) {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
          const r = attempt(() => parse(b));
          assert.ok(!r.ok);
          assert.equal(r.error.code, 'E_DECODE');
        }),
        { numRuns: 200 },
      );
    }
  });

  test('a spliced P1 blob (x1 + 1, c_key · 4, q in place of p) → E_DECODE', () => {
    const f = unframe(encodeP1Share(dkg.share1), 15);
    const withField = (i: number, v: Uint8Array) => frame(f.map((x, j) => (j === i ? v : x)));
    expectCode(() => parseP1Share(withField(6, encSc(dkg.share1.x1 + 1n)), mp), 'E_DECODE', 'x1 + 1');
    const N2 = dkg.share1.paillier.N2;
    expectCode(() => parseP1Share(withField(9, encMod((dkg.share1.cKey * 4n) % N2, N2)), mp), 'E_DECODE', 'c_key');
    const fp = unframe(encodeP1Share(dkg.share1), 15);
    expectCode(() => parseP1Share(frame([...fp.slice(0, 7), fp[8]!, fp[8]!, ...fp.slice(9)]), mp), 'E_DECODE', 'p = q');
  });

  // Blobs whose public parts are bound by keyId (shares) or re-checked (primality of the
  // ring-Pedersen factors) refuse a corrupted field.
  test('a P2 blob whose N was corrupted is refused', () => {
    // N + δ for the smallest even δ keeping c_key a unit, so that only the binding of N is tested.
    let delta = 2n;
    while (gcd(dkg.share2.cKey, dkg.share2.N + delta) !== 1n) delta += 2n;
    const f = unframe(encodeP2Share(dkg.share2), 14);
    const bad = frame(f.map((x, j) => (j === 7 ? bigToMinBytes(dkg.share2.N + delta) : x)));
    expectCode(() => parseP2Share(bad), 'E_DECODE');
  });

  test('a ring-Pedersen blob whose prime p was corrupted is refused', () => {
    const rp = ringPedersenFor(TEST);
    const f = unframe(encodeRingPedersenSecret(rp), 6);
    const bad = frame(f.map((x, j) => (j === 2 ? bigToMinBytes(rp.p + 2n) : x)));
    expectCode(() => parseRingPedersenSecret(bad, mp), 'E_DECODE');
  });
});

// ---------- field decoders ----------

describe('field decoders (encoding.ts)', () => {
  test('decInt: random bytes and caps → only TecdsaError; accepted ⇒ canonical and within the byte cap', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 160 }), fc.integer({ min: 0, max: 1300 }), (b, cap) => {
        const r = attempt(() => decInt(b, cap));
        if (!r.ok) return assert.equal(r.error.code, 'E_DECODE');
        assert.equal(hex(encInt(r.value)), hex(b));
        assert.ok(bitLength(r.value) <= 8 * Math.ceil(cap / 8));
      }),
      { numRuns: 5000 },
    );
  });

  test('decInt: every encInt of a random integer within its cap decodes back', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 1200n), max: 1n << 1200n }), (z) => {
        assert.equal(decInt(encInt(z), bitLength(z)), z);
      }),
      { numRuns: 1000 },
    );
  });

  test('decNat: random bytes and caps → only TecdsaError; accepted ⇒ canonical, non-zero, within the cap', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 300 }), (b, max) => {
        const r = attempt(() => decNat(b, max));
        if (!r.ok) return assert.equal(r.error.code, 'E_DECODE');
        assert.ok(r.value > 0n && b.length <= max);
        assert.equal(hex(encNat(r.value)), hex(b));
      }),
      { numRuns: 5000 },
    );
  });

  test('decMod: random moduli and bytes → only TecdsaError; accepted ⇒ below M, fixed length, canonical', () => {
    const bytesFor = (M: bigint) =>
      fc.oneof(
        fc.uint8Array({ minLength: modLen(M), maxLength: modLen(M) }),
        fc.uint8Array({ maxLength: modLen(M) + 2 }),
        fc.bigInt({ min: 0n, max: M - 1n }).map((x) => encMod(x, M)),
        fc.bigInt({ min: M, max: (1n << BigInt(8 * modLen(M))) - 1n }).map((x) => bigToBytes(x, modLen(M))),
      );
    fc.assert(
      fc.property(
        fc.bigInt({ min: 2n, max: 1n << 800n }).chain((M) => fc.tuple(fc.constant(M), bytesFor(M))),
        ([M, b]) => {
          const r = attempt(() => decMod(b, M));
          if (!r.ok) return assert.equal(r.error.code, 'E_DECODE');
          assert.ok(r.value < M);
          assert.equal(hex(encMod(r.value, M)), hex(b));
        },
      ),
      { numRuns: 5000 },
    );
  });

  test('decPt: random encodings → only E_POINT; accepted ⇒ a valid point, canonical compressed', () => {
    const ptBytes = fc.oneof(
      fc
        .tuple(fc.constantFrom(0, 2, 3, 4, 5), fc.uint8Array({ minLength: 32, maxLength: 32 }))
        .map(([p, x]) => concatBytes(Uint8Array.of(p), x)),
      fc.uint8Array({ maxLength: 70 }),
      fc.bigInt({ min: 1n, max: SECP256K1_N - 1n }).map((k) => mulG(k).toBytes(true)),
      fc.bigInt({ min: 1n, max: SECP256K1_N - 1n }).map((k) => mulG(k).toBytes(false)),
      fc
        .tuple(fc.constantFrom(2, 3), fc.bigInt({ min: SECP256K1_P, max: (1n << 256n) - 1n }))
        .map(([p, x]) => concatBytes(Uint8Array.of(p), bigToBytes(x, 32))),
    );
    fc.assert(
      fc.property(ptBytes, (b) => {
        const r = attempt(() => decPt(b));
        if (!r.ok) return assert.equal(r.error.code, 'E_POINT');
        r.value.assertValidity();
        assert.ok(!r.value.is0());
        assert.equal(hex(encPt(r.value)), hex(b));
      }),
      { numRuns: 4000 },
    );
  });

  test('decSc: random bytes → only TecdsaError (E_DECODE for length, E_SCALAR_RANGE for ≥ q); accepted ⇒ canonical', () => {
    const scBytes = fc.oneof(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 40 }),
      fc.bigInt({ min: SECP256K1_N - 1000n, max: (1n << 256n) - 1n }).map((x) => bigToBytes(x, 32)),
    );
    fc.assert(
      fc.property(scBytes, (b) => {
        const r = attempt(() => decSc(b));
        if (!r.ok) {
          assert.equal(r.error.code, b.length === 32 ? 'E_SCALAR_RANGE' : 'E_DECODE');
          return;
        }
        assert.ok(r.value < SECP256K1_N);
        assert.equal(hex(encSc(r.value)), hex(b));
      }),
      { numRuns: 4000 },
    );
  });

  test('decBit, decBytes32, decU32: random bytes → only E_DECODE; accepted ⇒ canonical', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 36 }), (b) => {
        const bit = attempt(() => decBit(b));
        if (bit.ok) assert.equal(hex(encBit(bit.value)), hex(b));
        else assert.equal(bit.error.code, 'E_DECODE');
        const b32 = attempt(() => decBytes32(b));
        assert.equal(b32.ok, b.length === 32);
        const n = attempt(() => decU32(b));
        if (n.ok) assert.equal(hex(u32(n.value)), hex(b));
        else assert.equal(n.error.code, 'E_DECODE');
      }),
      { numRuns: 1000 },
    );
  });
});

// ---------- §13.2 explicit encoding negatives ----------

describe('§13.2 encoding negatives → E_DECODE', () => {
  test('Int: leading zero in the magnitude, negative zero, sign byte 02 or FF, empty, magnitude above the cap', () => {
    expectCode(() => decInt(Uint8Array.of(0, 0, 5), 64), 'E_DECODE', 'leading zero');
    expectCode(() => decInt(Uint8Array.of(1, 0, 5), 64), 'E_DECODE', 'negative, leading zero');
    expectCode(() => decInt(Uint8Array.of(0, 0), 64), 'E_DECODE', 'zero written as 00 00');
    expectCode(() => decInt(Uint8Array.of(1), 64), 'E_DECODE', 'negative zero');
    expectCode(() => decInt(Uint8Array.of(2, 5), 64), 'E_DECODE', 'sign byte 02');
    expectCode(() => decInt(Uint8Array.of(0xff, 5), 64), 'E_DECODE', 'sign byte ff');
    expectCode(() => decInt(new Uint8Array(0), 64), 'E_DECODE', 'empty');
    expectCode(() => decInt(concatBytes(Uint8Array.of(0), new Uint8Array(9).fill(1)), 64), 'E_DECODE', 'over cap');
    expectCode(() => decInt(concatBytes(Uint8Array.of(1), new Uint8Array(9).fill(1)), 64), 'E_DECODE', '−over cap');
    assert.equal(decInt(Uint8Array.of(0), 64), 0n);
    assert.equal(decInt(Uint8Array.of(1, 5), 64), -5n);
    assert.equal(decInt(concatBytes(Uint8Array.of(0), new Uint8Array(8).fill(0xff)), 64), (1n << 64n) - 1n);
  });

  test('Nat: leading zero byte, zero, empty, longer than its cap', () => {
    expectCode(() => decNat(Uint8Array.of(0, 1), 8), 'E_DECODE', 'leading zero');
    expectCode(() => decNat(Uint8Array.of(0), 8), 'E_DECODE', 'zero');
    expectCode(() => decNat(new Uint8Array(0), 8), 'E_DECODE', 'empty');
    expectCode(() => decNat(new Uint8Array(9).fill(1), 8), 'E_DECODE', 'over cap');
  });

  test('non-canonical integers inside bodies: N̂, N with a leading zero byte; Πfac σ as negative zero; Πlog* z1 with a leading zero', () => {
    const kg3 = unframe(envelopes[2]!.body, 7);
    expectCode(
      () => msg.decodeKg3(frame(kg3.map((f, i) => (i === 3 ? concatBytes(Uint8Array.of(0), f) : f))), TEST),
      'E_DECODE',
      'KG-3 N̂',
    );
    const kg4 = unframe(envelopes[3]!.body, 9);
    const kg4With = (i: number, v: Uint8Array) => frame(kg4.map((f, j) => (j === i ? v : f)));
    expectCode(
      () => msg.decodeKg4(kg4With(4, concatBytes(Uint8Array.of(0), kg4[4]!)), TEST, Nhat),
      'E_DECODE',
      'KG-4 N',
    );
    const fac = unframe(kg4[6]!, 11);
    expectCode(
      () => msg.decodeKg4(kg4With(6, frame(fac.map((f, j) => (j === 5 ? Uint8Array.of(1) : f)))), TEST, Nhat),
      'E_DECODE',
      'Πfac σ = −0',
    );
    const ls = unframe(kg4[8]!, 7);
    const z1 = ls[4]!;
    const z1Padded = concatBytes(z1.subarray(0, 1), Uint8Array.of(0), z1.subarray(1));
    expectCode(
      () => msg.decodeKg4(kg4With(8, frame(ls.map((f, j) => (j === 4 ? z1Padded : f)))), TEST, Nhat),
      'E_DECODE',
      'Πlog* z1 leading zero',
    );
  });

  test('oversized fields: 33-byte keyId, c3 one byte longer, N̂ of 129 bytes, Πlog* z1 above its byte cap, 33-byte scalar; a 34-byte point → E_POINT', () => {
    const s1 = unframe(envelopes[5]!.body, 3);
    expectCode(() => msg.decodeSign1(frame([concatBytes(s1[0]!, Uint8Array.of(0)), s1[1]!, s1[2]!])), 'E_DECODE');
    const [c3] = unframe(envelopes[9]!.body, 1);
    expectCode(() => msg.decodeSign5(frame([concatBytes(Uint8Array.of(0), c3!)]), N), 'E_DECODE', 'c3 + 1 byte');
    const kg3 = unframe(envelopes[2]!.body, 7);
    const bigNat = new Uint8Array(TEST.nHatBits / 8 + 1).fill(0xab);
    expectCode(() => msg.decodeKg3(frame(kg3.map((f, i) => (i === 3 ? bigNat : f))), TEST), 'E_DECODE', 'N̂ 129 B');
    const kg4 = unframe(envelopes[3]!.body, 9);
    const ls = unframe(kg4[8]!, 7);
    const capBytes = Math.ceil(bitLength(LOGSTAR_Z1_BOUND) / 8);
    const z1Big = concatBytes(Uint8Array.of(0), new Uint8Array(capBytes + 1).fill(0x7f));
    const kg4Big = frame(kg4.map((f, j) => (j === 8 ? frame(ls.map((g, k) => (k === 4 ? z1Big : g))) : f)));
    expectCode(() => msg.decodeKg4(kg4Big, TEST, Nhat), 'E_DECODE', 'Πlog* z1');
    const s3 = unframe(envelopes[7]!.body, 3);
    expectCode(() => msg.decodeSign3(frame([s3[0]!, s3[1]!, concatBytes(Uint8Array.of(0), s3[2]!)])), 'E_DECODE');
    // §3.2a item 8: point decoding failures, wrong length included, are E_POINT.
    expectCode(() => msg.decodeSign3(frame([concatBytes(s3[0]!, Uint8Array.of(0)), s3[1]!, s3[2]!])), 'E_POINT');
  });

  test('every proper prefix of the small bodies (KG-1, KG-2, KG-5, SIGN-1..6) → E_DECODE', () => {
    for (const c of codecs.filter((x) => x.name !== 'KG-3' && x.name !== 'KG-4')) {
      const b = c.body();
      for (let n = 0; n < b.length; n++) expectCode(() => c.decode(b.subarray(0, n)), 'E_DECODE', `${c.name}[0..${n})`);
    }
  });

  test('prefixes of KG-3 and KG-4 (every field boundary and ±1 around it, plus a sample) → E_DECODE', () => {
    for (const c of codecs.filter((x) => x.name === 'KG-3' || x.name === 'KG-4')) {
      const b = c.body();
      const cuts = new Set<number>([0, 1, 3, 4, 5, b.length - 1]);
      for (let n = 0; n < b.length; n += 997) cuts.add(n);
      // top-level field boundaries
      let off = 0;
      while (off < b.length) {
        for (const d of [-1, 0, 1, 4, 5]) cuts.add(off + d);
        off += 4 + new DataView(b.buffer, b.byteOffset + off, 4).getUint32(0);
      }
      for (const n of cuts) {
        if (n < 0 || n >= b.length) continue;
        expectCode(() => c.decode(b.subarray(0, n)), 'E_DECODE', `${c.name}[0..${n})`);
      }
    }
  });

  test('trailing bytes after any body, an extra empty field, an extra element in Πlog*/Πfac, bytes after Πprm/Πmod → E_DECODE', () => {
    for (const c of codecs) {
      const b = c.body();
      expectCode(() => c.decode(concatBytes(b, Uint8Array.of(0))), 'E_DECODE', `${c.name} + 00`);
      expectCode(() => c.decode(concatBytes(b, u32(0))), 'E_DECODE', `${c.name} + empty field`);
      expectCode(() => c.decode(concatBytes(b, frame([b.subarray(0, 8)]))), 'E_DECODE', `${c.name} + field`);
    }
    const kg3 = unframe(envelopes[2]!.body, 7);
    expectCode(
      () => msg.decodeKg3(frame(kg3.map((f, i) => (i === 6 ? concatBytes(f, Uint8Array.of(0)) : f))), TEST),
      'E_DECODE',
      'Πprm + 00',
    );
    const kg4 = unframe(envelopes[3]!.body, 9);
    const kg4With = (i: number, v: Uint8Array) => frame(kg4.map((f, j) => (j === i ? v : f)));
    for (const [i, what] of [
      [5, 'Πmod'],
      [6, 'Πfac'],
      [8, 'Πlog*'],
    ] as const) {
      expectCode(
        () => msg.decodeKg4(kg4With(i, concatBytes(kg4[i]!, Uint8Array.of(0))), TEST, Nhat),
        'E_DECODE',
        `${what} + 00`,
      );
      expectCode(
        () => msg.decodeKg4(kg4With(i, concatBytes(kg4[i]!, frame([Uint8Array.of(0)]))), TEST, Nhat),
        'E_DECODE',
        `${what} + element`,
      );
    }
  });

  test('list counts other than 80: Πprm and Πmod with 79 or 81 items → E_DECODE', () => {
    // Πprm = U32(80) ‖ 80 framed A_i ‖ U32(80) ‖ 80 framed z_i
    const kg3 = unframe(envelopes[2]!.body, 7);
    const prm = kg3[6]!;
    const itemLen = 4 + new DataView(prm.buffer, prm.byteOffset + 4, 4).getUint32(0);
    const half = 4 + 80 * itemLen;
    const A = prm.subarray(4, half);
    const z = prm.subarray(half + 4);
    const prmWith = (nA: number, As: Uint8Array, nz: number, zs: Uint8Array) => concatBytes(u32(nA), As, u32(nz), zs);
    const kg3With = (p: Uint8Array) => frame(kg3.map((f, i) => (i === 6 ? p : f)));
    assert.equal(hex(prmWith(80, A, 80, z)), hex(prm));
    const cases: [string, Uint8Array][] = [
      ['A: 79 items', prmWith(79, A.subarray(itemLen), 80, z)],
      ['A: count 79, 80 items', prmWith(79, A, 80, z)],
      ['A: 81 items', prmWith(81, concatBytes(A, A.subarray(0, itemLen)), 80, z)],
      ['z: 79 items', prmWith(80, A, 79, z.subarray(itemLen))],
      ['z: 81 items', prmWith(80, A, 81, concatBytes(z, z.subarray(0, itemLen)))],
    ];
    for (const [what, p] of cases) expectCode(() => msg.decodeKg3(kg3With(p), TEST), 'E_DECODE', `Πprm ${what}`);

    // Πmod = framed w ‖ U32(80) ‖ 80 × (framed x_i, a_i, b_i, z_i)
    const kg4 = unframe(envelopes[3]!.body, 9);
    const mod = kg4[5]!;
    const wEnd = 4 + new DataView(mod.buffer, mod.byteOffset, 4).getUint32(0);
    const items = mod.subarray(wEnd + 4);
    assert.equal(items.length % 80, 0);
    const one = items.length / 80;
    const modWith = (n: number, its: Uint8Array) => concatBytes(mod.subarray(0, wEnd), u32(n), its);
    assert.equal(hex(modWith(80, items)), hex(mod));
    const kg4With = (m: Uint8Array) => frame(kg4.map((f, j) => (j === 5 ? m : f)));
    for (const [what, m] of [
      ['79 items', modWith(79, items.subarray(one))],
      ['count 79, 80 items', modWith(79, items)],
      ['81 items', modWith(81, concatBytes(items, items.subarray(0, one)))],
    ] as const)
      expectCode(() => msg.decodeKg4(kg4With(m), TEST, Nhat), 'E_DECODE', `Πmod ${what}`);
  });

  test('length prefixes pointing past the end (len + 1, 0xFFFFFFFF) → E_DECODE', () => {
    for (const c of codecs) {
      const b = c.body().slice();
      const dv = new DataView(b.buffer, b.byteOffset, 4);
      const len = dv.getUint32(0);
      const lastFieldOff = (() => {
        let off = 0;
        let last = 0;
        while (off < b.length) {
          last = off;
          off += 4 + new DataView(b.buffer, b.byteOffset + off, 4).getUint32(0);
        }
        return last;
      })();
      const withPrefix = (at: number, v: number) => {
        const x = b.slice();
        new DataView(x.buffer, x.byteOffset + at, 4).setUint32(0, v);
        return x;
      };
      const lastLen = new DataView(b.buffer, b.byteOffset + lastFieldOff, 4).getUint32(0);
      expectCode(() => c.decode(withPrefix(lastFieldOff, lastLen + 1)), 'E_DECODE', `${c.name} last len + 1`);
      expectCode(() => c.decode(withPrefix(0, 0xffffffff)), 'E_DECODE', `${c.name} first len = 2^32 − 1`);
      expectCode(() => c.decode(withPrefix(0, len - 1)), 'E_DECODE', `${c.name} first len − 1`);
    }
  });
});

// ---------- envelopes ----------

describe('parseEnvelope (envelope.ts, strictJson.ts)', () => {
  const sender = (e: Envelope) => (e.from === 'P1' ? id1.publicKey : id2.publicKey);
  const jsons = () => envelopes.map(envelopeToJson);

  test('every protocol envelope survives its JSON round trip (string and UTF-8 bytes)', () => {
    for (const e of envelopes) {
      const j = envelopeToJson(e);
      assert.deepEqual(parseEnvelope(j), e);
      assert.deepEqual(parseEnvelope(new TextEncoder().encode(j)), e);
      assert.equal(envelopeToJson(parseEnvelope(j)), j);
      verifyEnvelope(parseEnvelope(j), sender(e));
    }
  });

  test('random strings and bytes → only TecdsaError E_DECODE', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.string({ unit: 'binary-ascii', maxLength: 200 }),
          fc.json(),
          fc.uint8Array({ maxLength: 200 }),
        ),
        (s) => {
          const r = attempt(() => parseEnvelope(s));
          assert.ok(!r.ok);
          assert.equal(r.error.code, 'E_DECODE');
        },
      ),
      { numRuns: 6000 },
    );
  });

  // Character-level mutations of real envelope JSON: whatever parses either has exactly the
  // original fields or fails the sender's signature (E_AUTH): no field escapes authentication.
  const structural = fc.constantFrom(
    '"',
    ',',
    ':',
    '{',
    '}',
    ' ',
    '\\',
    '\n',
    '0',
    '1',
    '7',
    'A',
    'a',
    '=',
    '+',
    '/',
    '-',
    '_',
    'é',
    '\u0000',
    '"x":1,',
    '"round":1,',
    '"v":1,',
  );
  const jsonMutationArb = fc.oneof(
    fc.record({
      kind: fc.constant('replace' as const),
      at: fc.nat(),
      s: fc.oneof(structural, fc.string({ maxLength: 2 })),
    }),
    fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      s: fc.oneof(structural, fc.string({ maxLength: 3 })),
    }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 4 }) }),
    fc.record({
      kind: fc.constant('duplicate' as const),
      at: fc.nat(),
      n: fc.integer({ min: 1, max: 40 }),
      to: fc.nat(),
    }),
  );
  type JsonMutation = typeof jsonMutationArb extends fc.Arbitrary<infer T> ? T : never;
  const mutateJson = (j: string, m: JsonMutation): string => {
    const i = m.at % (j.length + 1);
    switch (m.kind) {
      case 'replace':
        return j.slice(0, i) + m.s + j.slice(i + 1);
      case 'insert':
        return j.slice(0, i) + m.s + j.slice(i);
      case 'delete':
        return j.slice(0, i) + j.slice(i + m.n);
      case 'duplicate': {
        const piece = j.slice(i, i + m.n);
        const k = m.to % (j.length + 1);
        return j.slice(0, k) + piece + j.slice(k);
      }
    }
  };

  test('mutated envelope JSON → only E_DECODE, or the same fields, or a signature that no longer verifies (E_AUTH)', () => {
    const all = jsons();
    fc.assert(
      fc.property(
        fc.nat({ max: all.length - 1 }),
        fc.array(jsonMutationArb, { minLength: 1, maxLength: 3 }),
        (k, ms) => {
          const original = envelopes[k]!;
          const text = ms.reduce(mutateJson, all[k]!);
          const r = attempt(() => parseEnvelope(text));
          if (!r.ok) return assert.equal(r.error.code, 'E_DECODE');
          const e = r.value;
          assert.deepEqual(parseEnvelope(envelopeToJson(e)), e);
          const sameFields =
            e.v === original.v &&
            e.kind === original.kind &&
            e.round === original.round &&
            e.from === original.from &&
            e.to === original.to &&
            hex(e.requestId) === hex(original.requestId) &&
            hex(e.body) === hex(original.body) &&
            hex(e.sig) === hex(original.sig);
          if (!sameFields) {
            const v = attempt(() => verifyEnvelope(e, sender(original)));
            assert.ok(!v.ok && v.error.code === 'E_AUTH', 'a changed field must break the signature');
          }
        },
      ),
      { numRuns: 6000 },
    );
  });

  test('duplicate keys, unknown keys, missing keys → E_DECODE', () => {
    const j = envelopeToJson(envelopes[5]!);
    const cases = {
      'duplicate v (same value)': j.replace('{', '{"v":1,'),
      'duplicate round (other value)': j.replace('{', '{"round":3,'),
      'duplicate sig': j.replace(/}$/, `,"sig":${JSON.stringify(JSON.parse(j).sig)}}`),
      'unknown key': j.replace('{', '{"x":"y",'),
      'unknown key only differing in case': j.replace('"round"', '"Round"'),
      'missing body': j.replace(/"body":"[^"]*",/, ''),
      'empty object': '{}',
    };
    for (const [what, t] of Object.entries(cases)) expectCode(() => parseEnvelope(t), 'E_DECODE', what);
  });

  test('escapes anywhere, and non-string/non-integer values → E_DECODE', () => {
    const j = envelopeToJson(envelopes[5]!);
    const o = JSON.parse(j) as Record<string, unknown>;
    const cases = {
      'escaped key': j.replace('"kind"', '"\\u006bind"'),
      'escaped kind': j.replace('"sign"', '"sig\\u006e"'),
      'escaped hex digit': j.replace(`"${o.requestId as string}"`, `"\\u0030${(o.requestId as string).slice(1)}"`),
      'escaped solidus in body': j.replace(`"${o.body as string}"`, `"${o.body as string}\\/"`),
      'escaped quote': j.replace('"P2"', '"P\\"2"'),
      'object value': j.replace(/"body":"[^"]*"/, '"body":{}'),
      'array value': j.replace(/"body":"[^"]*"/, '"body":[]'),
      'null value': j.replace(/"body":"[^"]*"/, '"body":null'),
      'boolean value': j.replace('"v":1', '"v":true'),
      'string v': j.replace('"v":1', '"v":"1"'),
    };
    for (const [what, t] of Object.entries(cases)) expectCode(() => parseEnvelope(t), 'E_DECODE', what);
  });

  test('wrong v, kind, from/to, round, requestId → E_DECODE', () => {
    const j = envelopeToJson(envelopes[5]!); // sign round 1 from P2
    const rid = (JSON.parse(j) as { requestId: string }).requestId;
    const cases: Record<string, string> = {
      'v 0': j.replace('"v":1', '"v":0'),
      'v 2': j.replace('"v":1', '"v":2'),
      'v 1.0': j.replace('"v":1', '"v":1.0'),
      'kind SIGN': j.replace('"sign"', '"SIGN"'),
      'kind dkg': j.replace('"sign"', '"dkg"'),
      'from = to': j.replace('"to":"P1"', '"to":"P2"'),
      'from P3': j.replace('"from":"P2"', '"from":"P3"'),
      'round 7': j.replace('"round":1', '"round":7'),
      'round 10': j.replace('"round":1', '"round":10'),
      'round 2^32': j.replace('"round":1', '"round":4294967296'),
      'round -1': j.replace('"round":1', '"round":-1'),
      'round 1.0': j.replace('"round":1', '"round":1.0'),
      'round 1e0': j.replace('"round":1', '"round":1e0'),
      'round 01': j.replace('"round":1', '"round":01'),
      'round "1"': j.replace('"round":1', '"round":"1"'),
      'requestId upper case': j.replace(rid, rid.toUpperCase()),
      'requestId 0x': j.replace(rid, `0x${rid}`),
      'requestId 62 digits': j.replace(rid, rid.slice(2)),
      'requestId 66 digits': j.replace(rid, `${rid}00`),
    };
    if (!/[a-f]/.test(rid)) delete cases['requestId upper case'];
    for (const [what, t] of Object.entries(cases)) expectCode(() => parseEnvelope(t), 'E_DECODE', what);
  });

  test('non-canonical base64url in body or sig (padding, +/, stray bits, bad length, wrong sig size) → E_DECODE', () => {
    const e = envelopes[5]!; // 72-byte body: base64url length 96, no padding
    const j = envelopeToJson(e);
    const o = JSON.parse(j) as { body: string; sig: string };
    const sub = (field: 'body' | 'sig', v: string) => j.replace(`"${field}":"${o[field]}"`, `"${field}":"${v}"`);
    const sig = o.sig; // 64 bytes → 86 chars, two unused bits in the last one
    const lastSig = sig.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const strayBits = alphabet[alphabet.indexOf(lastSig) ^ 1]!;
    const cases = {
      'sig with = padding': sub('sig', `${sig}==`),
      'sig with stray low bits': sub('sig', sig.slice(0, -1) + strayBits),
      'sig in standard base64': sub('sig', Buffer.from(e.sig).toString('base64').replace(/=+$/, '')),
      'sig of 63 bytes': sub('sig', Buffer.from(e.sig.subarray(1)).toString('base64url')),
      'sig of 65 bytes': sub('sig', Buffer.from(concatBytes(e.sig, Uint8Array.of(0))).toString('base64url')),
      'body with + instead of -': sub('body', o.body.includes('-') ? o.body.replace('-', '+') : `+${o.body.slice(1)}`),
      'body with / instead of _': sub('body', o.body.includes('_') ? o.body.replace('_', '/') : `/${o.body.slice(1)}`),
      'body of length ≡ 1 (mod 4)': sub('body', `${o.body}A`),
      'body with a space': sub('body', `${o.body.slice(0, 4)} ${o.body.slice(4)}`),
      'body with = padding': sub('body', `${o.body}=`),
    };
    if (!/[^A-Za-z0-9]/.test(Buffer.from(e.sig).toString('base64').replace(/=+$/, '')))
      delete (cases as Record<string, string>)['sig in standard base64'];
    for (const [what, t] of Object.entries(cases)) expectCode(() => parseEnvelope(t), 'E_DECODE', what);
  });

  test('bad framing of the JSON text: trailing or leading content, two objects, non-UTF-8 bytes → E_DECODE', () => {
    const j = envelopeToJson(envelopes[0]!);
    const utf8 = new TextEncoder().encode(j);
    const cases: Record<string, string | Uint8Array> = {
      'trailing comma in object': j.replace(/}$/, ',}'),
      'trailing garbage': `${j}x`,
      'two objects': `${j}${j}`,
      'leading garbage': `x${j}`,
      'array around it': `[${j}]`,
      'invalid UTF-8 byte': concatBytes(utf8, Uint8Array.of(0xff)),
      'overlong UTF-8 for "{"': concatBytes(Uint8Array.of(0xc1, 0xbb), utf8.subarray(1)),
      'lone surrogate in UTF-8': concatBytes(utf8.subarray(0, 1), Uint8Array.of(0xed, 0xa0, 0x80), utf8.subarray(1)),
      'non-ASCII in a string': j.replace('"kg"', '"kg\u00e9"'),
      'control character in a string': j.replace('"kg"', '"k\u0001g"'),
    };
    for (const [what, t] of Object.entries(cases)) expectCode(() => parseEnvelope(t), 'E_DECODE', what);
    // JSON whitespace between tokens is fine: the fields and the signature are what count.
    const spaced = j.replace(/,/g, ' ,\n\t').replace(/:/g, ' : ');
    assert.deepEqual(parseEnvelope(`  ${spaced}\r\n`), envelopes[0]);
  });

  test('size: exactly 256 KiB is parsed, one byte more → E_DECODE (string and bytes), a huge body → E_DECODE', () => {
    const j = envelopeToJson(envelopes[0]!);
    const pad = (n: number) => j.replace('{', `{${' '.repeat(n - j.length)}`);
    assert.deepEqual(parseEnvelope(pad(MAX_ENVELOPE_BYTES)), envelopes[0]);
    expectCode(() => parseEnvelope(pad(MAX_ENVELOPE_BYTES + 1)), 'E_DECODE', 'string, 256 KiB + 1');
    expectCode(() => parseEnvelope(new TextEncoder().encode(pad(MAX_ENVELOPE_BYTES + 1))), 'E_DECODE', 'bytes');
    const huge = envelopeToJson({ ...envelopes[0]!, body: new Uint8Array(200 * 1024) });
    expectCode(() => parseEnvelope(huge), 'E_DECODE', '200 KiB body');
  });
});
