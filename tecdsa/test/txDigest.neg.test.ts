// Negative tests for txDigest.ts: the strict payload decoder, the JSON parser and the caller-facing
// checks. Every malformed external input must give TecdsaError E_DECODE (bad caller arguments
// E_INPUT), never another exception and never a hang; a fast-check pass fuzzes the decoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { getAddress, toRlp, type Hex } from 'viem';
import { TecdsaError } from '../src/errors.ts';
import {
  ethereumV,
  parseSigningPayload,
  serializeSigned,
  signingPayload,
  txFromJson,
  txToJson,
  type Eip1559Tx,
  type LegacyEip155Tx,
  type SignableTx,
} from '../src/txDigest.ts';
import { bytesToHex, hexToBytes } from '../src/bytes.ts';
import { HALF_N, SECP256K1_N } from '../src/curve.ts';

function rejects(fn: () => unknown, code: 'E_DECODE' | 'E_INPUT', field?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TecdsaError, `expected TecdsaError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (field) assert.match(e.message, field);
    return true;
  });
}
const parseHex = (h: string) => () => parseSigningPayload(hexToBytes(h));

// Hand-built RLP so that non-canonical forms can be written byte for byte.
const lenHeader = (base: number, n: number): string => {
  if (n <= 55) return (base + n).toString(16);
  const l = n.toString(16).padStart(n.toString(16).length + (n.toString(16).length % 2), '0');
  return (base + 55 + l.length / 2).toString(16) + l;
};
const list = (...items: string[]) => lenHeader(0xc0, items.join('').length / 2) + items.join('');

// The EIP-155 example's items, individually encoded.
const L = {
  nonce: '09',
  gasPrice: '8504a817c800',
  gas: '825208',
  to: '94' + '35'.repeat(20),
  value: '880de0b6b3a7640000',
  data: '80',
  chainId: '01',
};
const legacy = (o: Partial<typeof L> = {}, tail: string[] = ['80', '80']) =>
  list(...Object.values({ ...L, ...o }), ...tail);

test('hand-built legacy payload is the EIP-155 example (sanity check of the builders)', () => {
  assert.equal(legacy(), 'ec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080');
  assert.equal(parseSigningPayload(hexToBytes(legacy())).type, 'legacy');
});

test('non-canonical RLP is rejected', () => {
  rejects(parseHex(legacy({ nonce: '820009' })), 'E_DECODE', /nonce: non-canonical integer: leading zero/);
  rejects(parseHex(legacy({ nonce: '00' })), 'E_DECODE', /nonce: non-canonical integer/); // zero must be 0x80
  rejects(
    parseHex(legacy({ gasPrice: 'b805' + '04a817c800' })),
    'E_DECODE',
    /gasPrice: non-canonical length: long form/,
  );
  rejects(parseHex(legacy({ chainId: '8101' })), 'E_DECODE', /chainId: non-canonical: single byte below 0x80/);
  rejects(parseHex(legacy({ data: 'b90005' + '0102030405' })), 'E_DECODE', /data: non-canonical length: leading zero/);
  const body = Object.values(L).join('') + '8080';
  rejects(
    parseHex('f8' + (body.length / 2).toString(16) + body),
    'E_DECODE',
    /top level: non-canonical length: long form/,
  );
  rejects(
    parseHex('02' + list('01', '80', '80', '80', '80', '80', '80', '80', 'f800')),
    'E_DECODE',
    /accessList: non-canonical length/,
  );
});

test('trailing bytes and truncation are rejected', () => {
  rejects(parseHex(legacy() + '00'), 'E_DECODE', /1 trailing bytes/);
  rejects(parseHex(legacy() + legacy()), 'E_DECODE', /trailing bytes/);
  const full = legacy();
  for (let cut = 1; cut < full.length / 2; cut++) rejects(parseHex(full.slice(0, 2 * cut)), 'E_DECODE', /truncated/);
  rejects(() => parseSigningPayload(new Uint8Array(0)), 'E_DECODE', /empty/);
  rejects(parseHex('02'), 'E_DECODE', /truncated/);
  // An item that claims more than its enclosing list holds.
  rejects(parseHex('c2' + '83' + 'aabb'), 'E_DECODE', /truncated: declared length 3 exceeds the 1 bytes/);
});

test('wrong item counts are rejected', () => {
  rejects(parseHex(legacy({}, ['80'])), 'E_DECODE', /expected 9 items, got 8/);
  rejects(parseHex(legacy({}, ['80', '80', '80'])), 'E_DECODE', /expected 9 items, got 10/);
  const typed = (type: string, n: number) =>
    type + list(...Array.from({ length: n }, (_, i) => (i === 0 ? '01' : i === n - 1 ? 'c0' : '80')));
  rejects(parseHex(typed('02', 8)), 'E_DECODE', /eip1559 payload: top level: expected 9 items, got 8/);
  rejects(parseHex(typed('02', 10)), 'E_DECODE', /expected 9 items/);
  rejects(parseHex(typed('01', 9)), 'E_DECODE', /eip2930 payload: top level: expected 8 items, got 9/);
  rejects(
    parseHex('02' + list('01', '80', '80', '80', '80', '80', '80', '80', 'c0', '01', '80', '80')),
    'E_DECODE',
    /expected 9 items, got 12/,
  ); // a signed tx
  rejects(
    parseHex(
      '02' + list('01', '80', '80', '80', '80', '80', '80', '80', list(list('94' + '11'.repeat(20), 'c0', '80'))),
    ),
    'E_DECODE',
    /accessList\[0\]: expected \[address, storageKeys\], got 3 items/,
  );
  rejects(parseHex('02' + '80'), 'E_DECODE', /top level: expected a list/);
});

test('wrong field sizes and shapes are rejected', () => {
  rejects(parseHex(legacy({ to: '93' + '35'.repeat(19) })), 'E_DECODE', /to: expected 20 bytes or empty, got 19/);
  rejects(parseHex(legacy({ to: '95' + '35'.repeat(21) })), 'E_DECODE', /to: expected 20 bytes or empty, got 21/);
  rejects(parseHex(legacy({ to: 'c0' })), 'E_DECODE', /to: expected a string, got a list/);
  rejects(parseHex(legacy({ value: 'a1' + '01'.repeat(33) })), 'E_DECODE', /value: integer longer than 32 bytes/);
  const al = (entries: string) => parseHex('02' + list('01', '80', '80', '80', '80', '80', '80', '80', entries));
  rejects(
    al(list(list('93' + '11'.repeat(19), 'c0'))),
    'E_DECODE',
    /accessList\[0\]\.address: expected 20 bytes, got 19/,
  );
  rejects(
    al(list(list('94' + '11'.repeat(20), list('9f' + '22'.repeat(31))))),
    'E_DECODE',
    /accessList\[0\]\.storageKeys\[0\]: expected 32 bytes, got 31/,
  );
  rejects(al(list(list('94' + '11'.repeat(20), '80'))), 'E_DECODE', /accessList\[0\]\.storageKeys: expected a list/);
  rejects(al('80'), 'E_DECODE', /accessList: expected a list/);
  rejects(al(list('80')), 'E_DECODE', /accessList\[0\]: expected a list/);
});

test('legacy payloads without the EIP-155 (chainId, 0, 0) triple are rejected', () => {
  rejects(parseHex(list(L.nonce, L.gasPrice, L.gas, L.to, L.value, L.data)), 'E_DECODE', /expected 9 items, got 6/); // pre-155
  rejects(parseHex(legacy({}, ['80', '01'])), 'E_DECODE', /chainId, 0, 0/);
  rejects(parseHex(legacy({}, ['01', '80'])), 'E_DECODE', /chainId, 0, 0/);
  // The published signed EIP-155 tx (v, r, s in the last three slots) is not a signing payload.
  const signed =
    'f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83';
  rejects(parseHex(signed), 'E_DECODE', /chainId, 0, 0/);
});

test('chainId 0 and out-of-range integers are rejected', () => {
  rejects(parseHex(legacy({ chainId: '80' })), 'E_DECODE', /chainId must be ≥ 1/);
  rejects(
    parseHex('02' + list('80', '80', '80', '80', '80', '80', '80', '80', 'c0')),
    'E_DECODE',
    /chainId: out of range/,
  );
  rejects(parseHex(legacy({ nonce: '87' + '20000000000000' })), 'E_DECODE', /nonce: out of range/); // 2^53
  rejects(parseHex(legacy({ gas: '89' + '010000000000000000' })), 'E_DECODE', /gas: out of range/); // 2^64
  rejects(
    parseHex('02' + list('01', '80', '05', '04', '80', '80', '80', '80', 'c0')),
    'E_DECODE',
    /maxPriorityFeePerGas: exceeds maxFeePerGas/,
  );
});

test('unknown or missing transaction type bytes are rejected', () => {
  const body = list('01', '80', '80', '80', '80', '80', '80', '80', 'c0');
  for (const t of ['00', '03', '04', '05', '7f'])
    rejects(parseHex(t + body), 'E_DECODE', new RegExp(`unsupported transaction type 0x${t}`));
  rejects(parseHex('80'), 'E_DECODE', /legacy payload must be an RLP list/);
  rejects(parseHex('b8'), 'E_DECODE', /legacy payload must be an RLP list/);
  rejects(() => parseSigningPayload('0x02c0' as unknown as Uint8Array), 'E_DECODE', /expected bytes/);
});

test('huge declared lengths are rejected at once', () => {
  for (const h of [
    '02ffffffffffffffffff', // list of 2^64 − 1 bytes
    '02f9ffff', // list of 65535 bytes, none present
    'ffffffffffffffffff00',
    'fb7fffffff' + '00'.repeat(16),
    '02' + list('01', 'bb7fffffff'), // string field claiming 2 GiB
    '02' + list('01', 'bf' + 'ff'.repeat(8)),
    '02' + list('bf' + '01' + '00'.repeat(7)), // 2^56 bytes
  ]) {
    const t = Date.now();
    rejects(parseHex(h), 'E_DECODE', /truncated/);
    assert.ok(Date.now() - t < 100);
  }
});

test('deeply nested lists are rejected without exhausting the stack', () => {
  let inner = 'c0';
  for (let i = 0; i < 20_000; i++) inner = lenHeader(0xc0, inner.length / 2) + inner;
  rejects(parseHex('02' + inner), 'E_DECODE', /nested too deeply/);
  rejects(parseHex(inner), 'E_DECODE', /nested too deeply/);
});

// --- JSON form -----------------------------------------------------------------------------------

const GOOD_JSON = {
  type: 'eip1559',
  chainId: '1',
  nonce: '0',
  maxPriorityFeePerGas: '1',
  maxFeePerGas: '2',
  gas: '21000',
  to: '0x3535353535353535353535353535353535353535',
  value: '0',
  data: '0x',
  accessList: [{ address: getAddress('0xde0b295669a9fd93d5f28d9ec85e40f4cb697bae'), storageKeys: [] }],
};

test('txFromJson rejects malformed JSON forms', () => {
  assert.equal(txFromJson(GOOD_JSON).type, 'eip1559');
  const bad = (patch: Record<string, unknown>, field: RegExp) =>
    rejects(() => txFromJson({ ...GOOD_JSON, ...patch }), 'E_DECODE', field);
  bad({ extra: '1' }, /unknown field "extra"/);
  bad({ gasPrice: '1' }, /unknown field "gasPrice"/);
  bad({ type: 'eip4844' }, /tx.type: unknown type/);
  bad({ type: 'legacy' }, /tx: missing field gasPrice/);
  bad({ nonce: 1 }, /nonce: expected a decimal or 0x-hex integer string/);
  bad({ nonce: 1n }, /nonce: expected a decimal/);
  for (const n of ['01', '0x01', '0x', '-1', '1.0', '1e3', ' 1', '0X1', '', '9'.repeat(81)])
    bad({ nonce: n }, /nonce: expected a decimal/);
  bad({ chainId: '0' }, /chainId: out of range/);
  bad({ value: (2n ** 256n).toString() }, /value: out of range/);
  bad({ maxPriorityFeePerGas: '3' }, /exceeds maxFeePerGas/);
  bad({ to: '0x' + '35'.repeat(19) }, /tx.to: expected a 20-byte 0x address/);
  bad({ to: '' }, /tx.to: expected a 20-byte/);
  bad({ to: undefined }, /tx.to: expected a 20-byte/);
  bad({ to: '0xDe0b295669a9fd93d5f28d9ec85e40f4cb697bae' }, /tx.to: bad EIP-55 checksum/);
  bad({ to: '0xDE0B295669A9FD93D5F28D9EC85E40F4CB697BAE' }, /tx.to: bad EIP-55 checksum/);
  bad({ data: '0x0' }, /tx.data: expected 0x hex/);
  bad({ data: 'abcd' }, /tx.data: expected 0x hex/);
  bad({ accessList: {} }, /accessList: expected an array/);
  bad({ accessList: [{ address: GOOD_JSON.to, storageKeys: [], x: 1 }] }, /accessList\[0\]: unknown field "x"/);
  bad(
    { accessList: [{ address: GOOD_JSON.to, storageKeys: ['0x' + '00'.repeat(31)] }] },
    /storageKeys\[0\]: expected 0x hex of 32 bytes/,
  );
  bad({ accessList: [{ address: GOOD_JSON.to }] }, /accessList\[0\]: missing field storageKeys/);
  rejects(
    () => txFromJson(JSON.parse('{"type":"personal","message":"0x","__proto__":{}}')),
    'E_DECODE',
    /unknown field "__proto__"/,
  );
  rejects(() => txFromJson({ type: 'personal', message: 'hello' }), 'E_DECODE', /tx.message: expected 0x hex/);
  for (const v of [null, undefined, 'x', 1, [], [GOOD_JSON], new Uint8Array(2)])
    rejects(() => txFromJson(v), 'E_DECODE', /tx: expected an object/);
  const inherited = Object.create({ type: 'personal' }) as Record<string, unknown>;
  inherited['message'] = '0x';
  rejects(() => txFromJson(inherited), 'E_DECODE', /tx.type: unknown type/);
});

// --- caller arguments ----------------------------------------------------------------------------

const TX: LegacyEip155Tx = {
  type: 'legacy',
  nonce: 9n,
  gasPrice: 20_000_000_000n,
  gas: 21_000n,
  to: '0x3535353535353535353535353535353535353535',
  value: 10n ** 18n,
  data: '0x',
  chainId: 1n,
};

test('bad caller arguments give E_INPUT', () => {
  const bad = (tx: unknown, field: RegExp) => rejects(() => signingPayload(tx as SignableTx), 'E_INPUT', field);
  bad({ ...TX, nonce: 9 }, /tx.nonce: expected a bigint/);
  bad({ ...TX, nonce: -1n }, /tx.nonce: out of range/);
  bad({ ...TX, chainId: 0n }, /tx.chainId: out of range/);
  bad({ ...TX, from: TX.to }, /unknown field "from"/);
  bad({ ...TX, maxFeePerGas: 1n }, /unknown field "maxFeePerGas"/);
  bad({ ...TX, to: undefined }, /tx.to: expected a 20-byte/);
  bad({ type: 'personal', message: 'hi' }, /tx.message: expected a Uint8Array/);
  bad(null, /tx: expected an object/);
  rejects(() => txToJson({ ...TX, gas: 2n ** 64n }), 'E_INPUT', /tx.gas: out of range/);
  rejects(() => ethereumV(2 as 0, TX), 'E_INPUT', /recid/);
  rejects(() => serializeSigned(TX, 1n, 1n, 2 as 0), 'E_INPUT', /recid/);
  rejects(() => serializeSigned(TX, 0n, 1n, 0), 'E_INPUT', /^E_INPUT: r:/);
  rejects(() => serializeSigned(TX, SECP256K1_N, 1n, 0), 'E_INPUT', /^E_INPUT: r:/);
  rejects(() => serializeSigned(TX, 1n, HALF_N + 1n, 0), 'E_INPUT', /EIP-2 low s/);
  rejects(() => serializeSigned(TX, 1n, 0n, 0), 'E_INPUT', /^E_INPUT: s:/);
  rejects(
    () => serializeSigned({ type: 'personal', message: new Uint8Array(1) }, 1n, 1n, 0),
    'E_INPUT',
    /not a transaction/,
  );
});

// --- fuzzing -------------------------------------------------------------------------------------

/** Parse must either return a tx whose payload is exactly the input (one reading per payload) or throw E_DECODE. */
function parseOrDecodeError(bytes: Uint8Array): void {
  let tx: SignableTx;
  try {
    tx = parseSigningPayload(bytes);
  } catch (e) {
    assert.ok(e instanceof TecdsaError, `non-TecdsaError on ${bytesToHex(bytes)}: ${String(e)}`);
    assert.equal(e.code, 'E_DECODE');
    return;
  }
  assert.equal(bytesToHex(signingPayload(tx)), bytesToHex(bytes));
}

const hexBytes = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((b) => `0x${bytesToHex(b)}` as Hex);
const small = (max: bigint) => fc.oneof(fc.bigInt({ min: 0n, max: 300n }), fc.bigInt({ min: 0n, max }));
const validPayload = fc
  .record({
    kind: fc.constantFrom('eip1559', 'eip2930', 'legacy'),
    nonce: small(BigInt(Number.MAX_SAFE_INTEGER)),
    gas: small(2n ** 64n - 1n),
    ints: fc.array(small(2n ** 256n - 1n), { minLength: 3, maxLength: 3 }),
    to: fc.option(hexBytes(20, 20), { nil: '0x' as Hex }),
    data: hexBytes(0, 80),
    al: fc.array(fc.tuple(hexBytes(20, 20), fc.array(hexBytes(32, 32), { maxLength: 2 })), { maxLength: 2 }),
  })
  .map(({ kind, nonce, gas, ints, to, data, al }) => {
    // Built with viem's RLP encoder: independent of the encoder under test.
    const q = (x: bigint): Hex =>
      x === 0n ? '0x' : `0x${x.toString(16).padStart(x.toString(16).length + (x.toString(16).length % 2), '0')}`;
    const [n, g] = [q(nonce), q(gas)];
    const [a, b, c] = ints.map(q) as [Hex, Hex, Hex];
    const access = al.map(([addr, keys]) => [addr, keys]);
    if (kind === 'legacy') return hexToBytes(toRlp([n, a, g, to, b, data, '0x01', '0x', '0x']));
    if (kind === 'eip2930') return hexToBytes('01' + toRlp(['0x01', n, a, g, to, b, data, access]).slice(2));
    const [lo, hi] = ints[0]! <= ints[1]! ? [a, b] : [b, a];
    return hexToBytes('02' + toRlp(['0x01', n, lo, hi, g, to, c, data, access]).slice(2));
  });

test('fuzz base: the generated payloads are valid and round-trip exactly', () => {
  fc.assert(
    fc.property(validPayload, (p) => {
      assert.equal(bytesToHex(signingPayload(parseSigningPayload(p))), bytesToHex(p));
    }),
    { numRuns: 300 },
  );
});

test('fuzz: 2000 random inputs only ever give E_DECODE', () => {
  const prefixed = fc
    .tuple(
      fc.constantFrom([], [0x01], [0x02], [0x03], [0xc0], [0xf8], [0xff], [0x02, 0xf8]),
      fc.uint8Array({ maxLength: 200 }),
    )
    .map(([p, b]) => Uint8Array.from([...p, ...b]));
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), prefixed), parseOrDecodeError), { numRuns: 2000 });
});

test('fuzz: 2000 mutated valid payloads only ever give E_DECODE or an exact re-encoding', () => {
  const mutation = fc.oneof(
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  );
  fc.assert(
    fc.property(validPayload, fc.array(mutation, { minLength: 1, maxLength: 4 }), (payload, muts) => {
      let b = [...payload];
      for (const m of muts) {
        const at = b.length === 0 ? 0 : ('at' in m ? m.at : 0) % b.length;
        if (m.op === 'set') b[at] = m.byte;
        else if (m.op === 'insert') b.splice(at, 0, m.byte);
        else if (m.op === 'delete') b.splice(at, 1);
        else if (m.op === 'truncate') b = b.slice(0, at);
        else b.push(...m.bytes);
      }
      parseOrDecodeError(Uint8Array.from(b));
    }),
    { numRuns: 2000 },
  );
});

test('serializeSigned output of a valid tx is not accepted as a signing payload', () => {
  const tx: Eip1559Tx = {
    type: 'eip1559',
    chainId: 1n,
    nonce: 0n,
    maxPriorityFeePerGas: 1n,
    maxFeePerGas: 2n,
    gas: 21000n,
    to: null,
    value: 0n,
    data: '0x',
    accessList: [],
  };
  rejects(
    () => parseSigningPayload(hexToBytes(serializeSigned(tx, 1n, 1n, 0))),
    'E_DECODE',
    /expected 9 items, got 12/,
  );
});
