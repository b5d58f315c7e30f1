// A whole DKG and signing through the daemon over real gRPC and mutual TLS, with tecdsa's P2
// as the desktop: the signature verifies and recovers to the keyset's address.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { recoverAddress, serializeTransaction, keccak256, type Hex } from 'viem';
import { parseSigningPayload, txDigest, serializeSigned } from '@tandem/tecdsa/txDigest';
import { KeysetStatus, SigningState } from '@tandem/proto/mpc';
import {
  call,
  Device,
  devPermitKey,
  issuePermit,
  newDevice,
  refused,
  signThrough,
  signUpToSign5,
  startTestSigner,
  stopTestSigner,
  type TestSigner,
} from './harness.ts';

let t: TestSigner;
let device: Device;
before(async () => {
  t = await startTestSigner();
  device = await newDevice(t.client);
});
after(() => stopTestSigner(t));

const unsigned = serializeTransaction({
  type: 'eip1559',
  chainId: 31337,
  nonce: 7,
  maxPriorityFeePerGas: 1_000_000_000n,
  maxFeePerGas: 30_000_000_000n,
  gas: 21_000n,
  to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  value: 1_000_000_000_000_000n,
});

test('DKG then an EIP-1559 signature through the daemon; it recovers to the keyset address', async () => {
  const keyset = await device.dkg(t.client, 'wallet-e2e');
  assert.equal(keyset.status, KeysetStatus.KEYSET_STATUS_ACTIVE);
  assert.match(keyset.address, /^0x[0-9a-fA-F]{40}$/);
  const got = await call<{ keyset: typeof keyset }>(t.client, 'getKeyset', { keysetId: 'wallet-e2e' });
  assert.equal(got.keyset.address, keyset.address);

  const payload = Buffer.from(unsigned.slice(2), 'hex');
  const m32 = txDigest(parseSigningPayload(payload));
  assert.equal(Buffer.from(m32).toString('hex'), keccak256(unsigned).slice(2));
  const permit = issuePermit(devPermitKey(t.dataDir), { keysetId: 'wallet-e2e', txHash: m32 });
  const { signature, fromSigner } = await signThrough(
    t.client,
    device,
    'wallet-e2e',
    m32,
    { unsignedTx: payload },
    permit,
  );

  assert.equal(BigInt('0x' + fromSigner.r.toString('hex')), signature.r);
  assert.equal(BigInt('0x' + fromSigner.s.toString('hex')), signature.s);
  assert.equal(fromSigner.recoveryId, signature.recid);
  const recovered = await recoverAddress({
    hash: `0x${Buffer.from(m32).toString('hex')}` as Hex,
    signature: {
      r: `0x${fromSigner.r.toString('hex')}`,
      s: `0x${fromSigner.s.toString('hex')}`,
      yParity: fromSigner.recoveryId,
    },
  });
  assert.equal(recovered, keyset.address);
  // The signed transaction is well formed for broadcast.
  assert.match(serializeSigned(parseSigningPayload(payload), signature.r, signature.s, signature.recid), /^0x02/);
});

test('a personal message signs too; the digest is the EIP-191 one', async () => {
  const message = Buffer.from('Tandem proof of control');
  const m32 = txDigest({ type: 'personal', message });
  const permit = issuePermit(devPermitKey(t.dataDir), { keysetId: 'wallet-e2e', txHash: m32 });
  const { signature } = await signThrough(t.client, device, 'wallet-e2e', m32, { personalMessage: message }, permit);
  assert.ok(signature.r > 0n);
});

test('GetSigningResult: a lost answer is recoverable — SIGNED with the same signature; RUNNING while open; unknown permit', async () => {
  const message = Buffer.from('recover me');
  const m32 = txDigest({ type: 'personal', message });
  const permit = issuePermit(devPermitKey(t.dataDir), { keysetId: 'wallet-e2e', txHash: m32 });
  const { fromSigner } = await signThrough(t.client, device, 'wallet-e2e', m32, { personalMessage: message }, permit);
  const got = await call<{ state: number; signature: { r: Buffer; s: Buffer; recoveryId: number }; txHash: Buffer }>(
    t.client,
    'getSigningResult',
    { permitId: permit.permitId },
  );
  assert.equal(got.state, SigningState.SIGNING_STATE_SIGNED);
  assert.deepEqual(
    [got.signature.r, got.signature.s, got.signature.recoveryId],
    [fromSigner.r, fromSigner.s, fromSigner.recoveryId],
  );
  assert.deepEqual(got.txHash, Buffer.from(m32));

  const open = issuePermit(devPermitKey(t.dataDir), { keysetId: 'wallet-e2e', txHash: m32 });
  await signUpToSign5(t.client, device, 'wallet-e2e', m32, { personalMessage: message }, open);
  const running = await call<{ state: number }>(t.client, 'getSigningResult', { permitId: open.permitId });
  assert.equal(running.state, SigningState.SIGNING_STATE_RUNNING);
  await refused(call(t.client, 'getSigningResult', { permitId: 'never-issued' }), 'SESSION_NOT_FOUND');
});
