// Known-answer tests for txDigest.ts (PROTOCOL.md §8.1, §8.4, §13.1 item 2). Our payload encoder
// is checked against published vectors and against viem as an independent implementation;
// signatures are made with @noble/secp256k1 over our digest and checked by viem's recovery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as secp from '@noble/secp256k1';
import {
  getAddress,
  hashMessage,
  keccak256,
  recoverTransactionAddress,
  serializeTransaction,
  toHex,
  type TransactionSerializable,
  type TransactionSerialized,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  ethereumV,
  parseSigningPayload,
  serializeSigned,
  signingPayload,
  txDigest,
  txFromJson,
  txToJson,
  type Eip1559Tx,
  type Eip2930Tx,
  type LegacyEip155Tx,
  type SignableTx,
} from '../src/txDigest.ts';
import { bytesToBig, bytesToHex, hexToBytes, utf8 } from '../src/bytes.ts';

type TypedTx = Eip1559Tx | Eip2930Tx | LegacyEip155Tx;
const hex = (b: Uint8Array) => `0x${bytesToHex(b)}` as const;

// viem brands serialized txs by type prefix; a plain hex string needs the cast.
const recover = (signed: string) =>
  recoverTransactionAddress({ serializedTransaction: signed as TransactionSerialized });

/** Signs a 32-byte digest as-is (no prehash), low s, RFC 6979 deterministic. */
async function sign(digest: Uint8Array, priv: Uint8Array) {
  const sig = await secp.signAsync(digest, priv, { prehash: false, format: 'recovered' });
  return { recid: sig[0] as 0 | 1, r: bytesToBig(sig.subarray(1, 33)), s: bytesToBig(sig.subarray(33)) };
}

/** Our tx in viem's shape, written here independently of src/txDigest.ts. */
function viemTx(tx: TypedTx): TransactionSerializable {
  const base = {
    chainId: Number(tx.chainId),
    nonce: Number(tx.nonce),
    gas: tx.gas,
    to: tx.to,
    value: tx.value,
    data: tx.data,
  };
  switch (tx.type) {
    case 'eip1559':
      return {
        ...base,
        type: 'eip1559',
        maxFeePerGas: tx.maxFeePerGas,
        maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
        accessList: tx.accessList,
      };
    case 'eip2930':
      return { ...base, type: 'eip2930', gasPrice: tx.gasPrice, accessList: tx.accessList };
    case 'legacy':
      return { ...base, type: 'legacy', gasPrice: tx.gasPrice };
  }
}

// --- §13.1 item 2: the EIP-155 example -------------------------------------------------------

const EIP155_KEY = hexToBytes('46'.repeat(32));
const EIP155_TX: LegacyEip155Tx = {
  type: 'legacy',
  nonce: 9n,
  gasPrice: 20_000_000_000n,
  gas: 21_000n,
  to: '0x3535353535353535353535353535353535353535',
  value: 10n ** 18n,
  data: '0x',
  chainId: 1n,
};
const EIP155_PAYLOAD = 'ec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080';
// The signed transaction published in EIP-155 itself.
const EIP155_SIGNED =
  '0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83';

test('EIP-155 example: payload, digest, v/r/s, signed tx and sender', async () => {
  assert.equal(bytesToHex(signingPayload(EIP155_TX)), EIP155_PAYLOAD);
  const digest = txDigest(EIP155_TX);
  assert.equal(bytesToHex(digest), 'daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53');
  assert.deepEqual(parseSigningPayload(hexToBytes(EIP155_PAYLOAD)), EIP155_TX);

  const { recid, r, s } = await sign(digest, EIP155_KEY);
  assert.equal(ethereumV(recid, EIP155_TX), 37n);
  assert.equal(r, 18515461264373351373200002665853028612451056578545711640558177340181847433846n);
  assert.equal(s, 46948507304638947509940763649030358759909902576025900602547168820602576006531n);
  const signed = serializeSigned(EIP155_TX, r, s, recid);
  assert.equal(signed, EIP155_SIGNED);
  assert.equal(await recover(signed), '0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F');
});

// --- typed and legacy fixtures against viem ----------------------------------------------------

const A1 = getAddress('0xde0b295669a9fd93d5f28d9ec85e40f4cb697bae');
const A2 = getAddress('0x00000000219ab540356cbb839cbe05303d7705fa');
const KEY1 = `0x${'01'.repeat(31)}02` as const;
const FIXTURES: TypedTx[] = [
  {
    type: 'eip1559',
    chainId: 1n,
    nonce: 42n,
    maxPriorityFeePerGas: 1_500_000_000n,
    maxFeePerGas: 30_000_000_000n,
    gas: 21_000n,
    to: A1,
    value: 123_456_789_000_000_000n,
    data: '0x',
    accessList: [],
  },
  {
    type: 'eip1559',
    chainId: 11155111n,
    nonce: 0n,
    maxPriorityFeePerGas: 0n,
    maxFeePerGas: 2n ** 255n,
    gas: 3_000_000n,
    to: null, // contract creation
    value: 0n,
    data: hex(Uint8Array.from({ length: 300 }, (_, i) => i & 0xff)), // > 55 bytes: long-form RLP
    accessList: [
      { address: A1, storageKeys: [toHex(1n, { size: 32 }), toHex(2n ** 256n - 1n, { size: 32 })] },
      { address: A2, storageKeys: [] },
    ],
  },
  {
    type: 'eip2930',
    chainId: 137n,
    nonce: 7n,
    gasPrice: 50_000_000_000n,
    gas: 60_000n,
    to: A2,
    value: 1n,
    data: '0xa9059cbb',
    accessList: [{ address: A2, storageKeys: [toHex(0n, { size: 32 })] }],
  },
  {
    type: 'legacy',
    nonce: 1000n,
    gasPrice: 1n,
    gas: 100_000n,
    to: null,
    value: 0n,
    data: '0x6000',
    chainId: 56n,
  },
];

for (const tx of FIXTURES) {
  test(`${tx.type} (chainId ${tx.chainId}): payload and digest match viem; round trips`, () => {
    const payload = signingPayload(tx);
    assert.equal(hex(payload), serializeTransaction(viemTx(tx)));
    assert.equal(hex(txDigest(tx)), keccak256(serializeTransaction(viemTx(tx))));
    assert.deepEqual(parseSigningPayload(payload), tx);
    assert.deepEqual(txFromJson(JSON.parse(JSON.stringify(txToJson(tx)))), tx);
  });

  test(`${tx.type} (chainId ${tx.chainId}): noble signature over our digest, serializeSigned, viem recovers the signer`, async () => {
    const account = privateKeyToAccount(KEY1);
    const { recid, r, s } = await sign(txDigest(tx), hexToBytes(KEY1));
    const signed = serializeSigned(tx, r, s, recid);
    assert.equal(await recover(signed), account.address);
    // Both sides use RFC 6979 with low s, so viem's own signer must give the same bytes.
    assert.equal(signed, await account.signTransaction(viemTx(tx)));
    assert.equal(ethereumV(recid, tx), tx.type === 'legacy' ? BigInt(recid) + 35n + 2n * tx.chainId : BigInt(recid));
  });
}

// --- random transactions against viem ---------------------------------------------------------

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const bytesHex = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map(hex);
const address = bytesHex(20, 20).map((a) => getAddress(a));
const u256 = fc.bigInt({ min: 0n, max: 2n ** 256n - 1n });
const common = {
  chainId: fc.bigInt({ min: 1n, max: SAFE }),
  nonce: fc.bigInt({ min: 0n, max: SAFE }),
  gas: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  to: fc.option(address, { nil: null }),
  value: u256,
  data: bytesHex(0, 120),
};
// fc.record builds null-prototype objects; spread them so deepEqual compares like with like.
const entry = fc.record({ address, storageKeys: fc.array(bytesHex(32, 32), { maxLength: 3 }) }).map((e) => ({ ...e }));
const accessList = fc.array(entry, { maxLength: 3 });
const arbTx: fc.Arbitrary<TypedTx> = fc.oneof(
  fc.record({ ...common, fees: fc.tuple(u256, u256), accessList }).map(({ fees: [a, b], ...t }) => ({
    type: 'eip1559' as const,
    ...t,
    maxPriorityFeePerGas: a < b ? a : b,
    maxFeePerGas: a < b ? b : a,
  })),
  fc.record({ ...common, gasPrice: u256, accessList }).map((t) => ({ type: 'eip2930' as const, ...t })),
  fc.record({ ...common, gasPrice: u256 }).map((t) => ({ type: 'legacy' as const, ...t })),
);

test('random transactions: payload equals viem serializeTransaction; parse and JSON round trip', () => {
  fc.assert(
    fc.property(arbTx, (tx) => {
      const payload = signingPayload(tx);
      assert.equal(hex(payload), serializeTransaction(viemTx(tx)));
      assert.deepEqual(parseSigningPayload(payload), tx);
      assert.deepEqual(txFromJson(JSON.parse(JSON.stringify(txToJson(tx)))), tx);
    }),
    { numRuns: 300 },
  );
});

test('random transactions: signed with noble over our digest, viem recovers the signer', async () => {
  const account = privateKeyToAccount(KEY1);
  await fc.assert(
    fc.asyncProperty(arbTx, async (tx) => {
      const { recid, r, s } = await sign(txDigest(tx), hexToBytes(KEY1));
      const signed = serializeSigned(tx, r, s, recid);
      assert.equal(await recover(signed), account.address);
    }),
    { numRuns: 40 },
  );
});

// --- EIP-191 personal_sign ---------------------------------------------------------------------

test('EIP-191: digest equals viem hashMessage; v = 27 + recid matches viem signMessage', async () => {
  const account = privateKeyToAccount(KEY1);
  const long = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);
  for (const message of [utf8('hello world'), new Uint8Array(0), Uint8Array.of(0x19, 0x00, 0xff), long]) {
    const tx: SignableTx = { type: 'personal', message };
    assert.equal(hex(txDigest(tx)), hashMessage({ raw: message }));
    const { recid, r, s } = await sign(txDigest(tx), hexToBytes(KEY1));
    const v = ethereumV(recid, tx);
    assert.equal(v, 27n + BigInt(recid));
    const ours = toHex(r, { size: 32 }) + toHex(s, { size: 32 }).slice(2) + v.toString(16);
    assert.equal(ours, await account.signMessage({ message: { raw: message } }));
    assert.deepEqual(txFromJson(JSON.parse(JSON.stringify(txToJson(tx)))), tx);
  }
  assert.equal(
    bytesToHex(signingPayload({ type: 'personal', message: utf8('hi') })),
    bytesToHex(utf8('\x19Ethereum Signed Message:\n2hi')),
  );
});

// --- JSON form ---------------------------------------------------------------------------------

test('txFromJson: decimal and hex quantities, lowercase and checksummed addresses give the same tx', () => {
  const tx = FIXTURES[1] as Eip1559Tx;
  const j = txToJson(tx);
  assert.equal(j['maxFeePerGas'], (2n ** 255n).toString()); // decimal strings on output
  const variant = {
    ...j,
    chainId: '0xaa36a7',
    nonce: '0x0',
    gas: '0x2DC6C0',
    maxFeePerGas: '0x8' + '0'.repeat(63),
    accessList: tx.accessList.map((e) => ({
      address: e.address.toLowerCase(),
      storageKeys: e.storageKeys.map((k) => k.toUpperCase().replace('0X', '0x')),
    })),
    data: tx.data.toUpperCase().replace('0X', '0x'),
  };
  assert.deepEqual(txFromJson(variant), tx);
  assert.deepEqual(
    txFromJson({
      type: 'legacy',
      nonce: '9',
      gasPrice: '20000000000',
      gas: '21000',
      to: '0x3535353535353535353535353535353535353535',
      value: '0xde0b6b3a7640000',
      data: '0x',
      chainId: '1',
    }),
    EIP155_TX,
  );
});
