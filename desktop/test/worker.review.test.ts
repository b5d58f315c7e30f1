// reviewWithdrawal (src/p2/review.ts): what the review screen shows is decoded and hashed by the desktop, and every
// way the coordinator's prepared transaction can differ from what was approved is DISPLAY_MISMATCH naming the field.
// The transactions are built with tecdsa's own txToJson, exactly as the coordinator's prepare-signing builds them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Eip1559Tx, txDigest, txToJson } from '@tandem/tecdsa/txDigest';
import { P2Error } from '../src/p2/errors.ts';
import { type ApprovedWithdrawal, type PreparedSigning, reviewWithdrawal } from '../src/p2/review.ts';

const TO = '0x52908400098527886E0F7030069857D2E4169EE7';
const tx: Eip1559Tx = {
  type: 'eip1559',
  chainId: 31337n,
  nonce: 7n,
  maxPriorityFeePerGas: 1_000_000_000n,
  maxFeePerGas: 30_000_000_000n,
  gas: 21_000n,
  to: TO,
  value: 1_250_000_000_000_000_000n,
  data: '0x',
  accessList: [],
};
const approved: ApprovedWithdrawal = { to: TO.toLowerCase(), amountWei: '1250000000000000000', chainId: 31337 };
/** prepare-signing's answer for `t`, with the digest of `digestOf` (by default, of `t` itself). */
const prepare = (t: Eip1559Tx, digestOf: Eip1559Tx = t): PreparedSigning => ({
  tx: txToJson(t),
  digest: Buffer.from(txDigest(digestOf)).toString('hex'),
});

function mismatch(f: () => unknown, field: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof P2Error);
    assert.equal(e.code, 'DISPLAY_MISMATCH');
    assert.equal(e.field, field);
    assert.match(e.message, /Nothing was signed/);
    return true;
  });
}

test('a prepared transaction that matches: the fields to show, and the digest the desktop computed', () => {
  const r = reviewWithdrawal(approved, prepare(tx), 31337);
  assert.equal(r.to, TO);
  assert.equal(r.valueWei, tx.value);
  assert.equal(r.chainId, 31337n);
  assert.equal(r.nonce, 7n);
  assert.equal(r.maxFeePerGas, tx.maxFeePerGas);
  assert.equal(r.maxPriorityFeePerGas, tx.maxPriorityFeePerGas);
  assert.equal(r.gas, 21_000n);
  assert.equal(r.maxFeeWei, 21_000n * 30_000_000_000n);
  assert.equal(r.digestHex, `0x${Buffer.from(txDigest(tx)).toString('hex')}`);
  assert.deepEqual(r.digest, txDigest(tx));
  // bigint inputs, a checksummed recipient and a 0x-prefixed digest are the same approval.
  const p = prepare(tx);
  assert.equal(
    reviewWithdrawal({ to: TO, amountWei: tx.value, chainId: 31337n }, { ...p, digest: `0x${p.digest}` }).digestHex,
    r.digestHex,
  );
});

test('each difference is DISPLAY_MISMATCH naming its field', () => {
  mismatch(() => reviewWithdrawal({ ...approved, amountWei: '1250000000000000001' }, prepare(tx)), 'value');
  mismatch(() => reviewWithdrawal({ ...approved, to: '0x' + '11'.repeat(20) }, prepare(tx)), 'to');
  mismatch(() => reviewWithdrawal({ ...approved, chainId: 1 }, prepare(tx)), 'chainId');
  mismatch(() => reviewWithdrawal(approved, prepare(tx), 1), 'chainId');
  const other = { ...tx, value: tx.value + 1n };
  mismatch(() => reviewWithdrawal({ ...approved, amountWei: other.value }, prepare(other, tx)), 'digest');
  mismatch(() => reviewWithdrawal(approved, prepare({ ...tx, data: '0xa9059cbb' })), 'data');
  mismatch(
    () => reviewWithdrawal(approved, prepare({ ...tx, accessList: [{ address: TO, storageKeys: [] }] } as Eip1559Tx)),
    'accessList',
  );
  mismatch(() => reviewWithdrawal(approved, prepare({ ...tx, to: null })), 'to');
  mismatch(() => reviewWithdrawal(approved, { ...prepare(tx), digest: 'abc' }), 'digest');
});

test('a transaction that is not a plain EIP-1559 transfer, or does not parse strictly, is refused', () => {
  const legacy = {
    type: 'legacy',
    nonce: '7',
    gasPrice: '1',
    gas: '21000',
    to: TO,
    value: approved.amountWei,
    data: '0x',
    chainId: '31337',
  };
  mismatch(() => reviewWithdrawal(approved, { tx: legacy, digest: '00'.repeat(32) }), 'type');
  const json = txToJson(tx);
  mismatch(() => reviewWithdrawal(approved, { tx: { ...json, extra: '1' }, digest: '00'.repeat(32) }), 'tx');
  mismatch(() => reviewWithdrawal(approved, { tx: { ...json, value: 1 }, digest: '00'.repeat(32) }), 'tx');
  mismatch(() => reviewWithdrawal(approved, { tx: { ...json, nonce: '007' }, digest: '00'.repeat(32) }), 'tx');
  mismatch(() => reviewWithdrawal(approved, { tx: 'not a tx', digest: '00'.repeat(32) }), 'tx');
});

test("main's malformed inputs are BAD_JOB naming the field", () => {
  const bad = (a: unknown, field: string) =>
    assert.throws(
      () => reviewWithdrawal(a as ApprovedWithdrawal, prepare(tx)),
      (e: P2Error) => e.code === 'BAD_JOB' && e.field === field,
    );
  bad({ ...approved, to: 'bob' }, 'approved.to');
  bad({ ...approved, amountWei: '1.5' }, 'approved.amountWei');
  bad({ ...approved, amountWei: -1n }, 'approved.amountWei');
  bad({ ...approved, chainId: 0 }, 'approved.chainId');
  bad({ ...approved, chainId: '31337' }, 'approved.chainId');
});
