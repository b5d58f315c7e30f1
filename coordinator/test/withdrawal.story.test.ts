// The whole story on a real stack (anvil, signer, coordinator): an admin makes users and a
// wallet; the signer's desktop runs the DKG over WSS; anvil funds the deposit address and the
// deposit appears; an initiator requests a withdrawal; two approvers approve; the desktop
// reviews the transaction it hashes itself and signs over WSS; the transaction is mined with
// status success and the recipient's balance grows by exactly the amount.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createWalletClient, http, parseEther, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ethereumAddress } from '@tandem/tecdsa/address';
import { txDigest, txFromJson } from '@tandem/tecdsa/txDigest';
import { generateRingPedersen } from '@tandem/tecdsa/ringPedersen';
import { nativeModPow } from '@tandem/tecdsa/modpowNative';
import { systemRng } from '@tandem/tecdsa/rng';
import { FULL } from '@tandem/tecdsa/params';
import { type P2Share } from '@tandem/tecdsa/shares';
import { ANVIL_FUNDER } from '../src/chain/anvil.ts';
import { startStack, type Stack } from './stack.ts';
import { MpcSocket, dkgOverWss, signOverWss } from './p2Client.ts';
import { until } from './until.ts';

let s: Stack;
before(async () => {
  s = await startStack();
});
after(async () => {
  await s.close();
});

const code = (r: { json: Record<string, unknown> }) => (r.json['error'] as { code?: string } | undefined)?.code;

test('admin → wallet → DKG → deposit → request → two approvals → desktop signs → mined, exact amount', async () => {
  const alice = await s.signerUser('alice');
  const ivan = await s.user('ivan', ['initiator']);
  const paula = await s.user('paula', ['approver']);
  const quinn = await s.user('quinn', ['approver']);

  // Wallet and key.
  const created = await s.api('POST', '/api/v1/wallets', s.admin.token, { name: 'Treasury', signerUserId: alice.id });
  const wallet = created.json as { id: string; dkgWalletId: string };
  const socket = await MpcSocket.open(s.wssUrl, alice.token, s.caCert);
  const rp = generateRingPedersen(nativeModPow()!, systemRng, FULL.nHatBits);
  const { share } = await dkgOverWss(socket, alice.device, s.signerIdentity, rp, wallet);
  const address = ethereumAddress(share.Q) as Hex;
  assert.equal(
    (await s.api('POST', `/api/v1/wallets/${wallet.id}/share-stored`, alice.token, { address })).status,
    200,
  );
  const policy = await s.api('PUT', `/api/v1/wallets/${wallet.id}/policy`, s.admin.token, {
    perWithdrawalLimitWei: parseEther('5').toString(),
    dailyLimitWei: parseEther('10').toString(),
    whitelistOnly: false,
    quorum: 2,
  });
  assert.equal(policy.status, 200, JSON.stringify(policy.json));

  // Funding: a deposit from anvil's dev account appears with its confirmations.
  const funder = createWalletClient({
    account: privateKeyToAccount(ANVIL_FUNDER.privateKey),
    transport: http(s.anvil.rpcUrl),
  });
  const fundHash = await funder.sendTransaction({ to: address, value: parseEther('10'), chain: null });
  const deposits = await until('the deposit', async () => {
    const r = await s.api('GET', `/api/v1/wallets/${wallet.id}/deposits`, alice.token);
    const list = r.json['deposits'] as { txHash: string; amountWei: string; confirmations: number }[];
    return list.length > 0 ? r.json : undefined;
  });
  const dep = (deposits['deposits'] as { txHash: string; amountWei: string; confirmations: number }[])[0]!;
  assert.equal(dep.txHash, fundHash);
  assert.equal(dep.amountWei, parseEther('10').toString());
  assert.ok(dep.confirmations >= 1);
  assert.equal(deposits['balanceWei'], parseEther('10').toString());

  // Request and approvals.
  const recipient = ('0x' + randomBytes(20).toString('hex')) as Hex;
  const amount = parseEther('1.25');
  const req = await s.api('POST', '/api/v1/withdrawals', ivan.token, {
    walletId: wallet.id,
    to: recipient,
    amountWei: amount.toString(),
  });
  assert.equal(req.status, 201, JSON.stringify(req.json));
  const wid = req.json['id'] as string;
  assert.equal(req.json['state'], 'pending_approval');
  assert.equal(code(await s.api('POST', `/api/v1/withdrawals/${wid}/approve`, alice.token)), 'ROLE_REQUIRED');
  assert.equal(
    (await s.api('POST', `/api/v1/withdrawals/${wid}/approve`, paula.token)).json['state'],
    'pending_approval',
  );
  assert.equal(code(await s.api('POST', `/api/v1/withdrawals/${wid}/approve`, paula.token)), 'ALREADY_APPROVED');
  assert.equal((await s.api('POST', `/api/v1/withdrawals/${wid}/approve`, quinn.token)).json['state'], 'approved');

  // The desktop: prepare, review what it decodes and hashes itself, sign.
  const prep = await s.api('POST', `/api/v1/withdrawals/${wid}/prepare-signing`, alice.token);
  assert.equal(prep.status, 200, JSON.stringify(prep.json));
  const tx = txFromJson(prep.json['tx']);
  assert.ok(tx.type === 'eip1559');
  assert.equal(tx.to?.toLowerCase(), recipient.toLowerCase());
  assert.equal(tx.value, amount);
  assert.equal(tx.chainId, 31337n);
  const m32 = txDigest(tx);
  assert.equal(Buffer.from(m32).toString('hex'), prep.json['digest']);
  const before = await s.coordinator.ctx.chain.balance(recipient);
  const { complete, ahead } = await signOverWss(socket, alice.device, s.signerIdentity, share as P2Share, wid, m32);
  assert.equal(ahead?.['envelope'], complete['envelope'], 'SIGN-6 came ahead of sign_complete, the same envelope');
  const txHash = complete['txHash'] as Hex;

  const done = await until('confirmation', async () => {
    const r = await s.api('GET', `/api/v1/withdrawals/${wid}`, alice.token);
    return r.json['state'] === 'confirmed' || r.json['state'] === 'failed' ? r.json : undefined;
  });
  assert.equal(done['state'], 'confirmed');
  assert.equal(done['txHash'], txHash);
  const receipt = await s.coordinator.ctx.chain.receipt(txHash);
  assert.equal(receipt?.status, 'success');
  assert.equal((await s.coordinator.ctx.chain.balance(recipient)) - before, amount);
  const actions = (await s.coordinator.ctx.audit.entries()).filter((e) => e.subject === wid).map((e) => e.action);
  assert.deepEqual(actions, [
    'withdrawal.requested',
    'withdrawal.approved',
    'withdrawal.approved',
    'withdrawal.quorum_reached',
    'withdrawal.signing_started',
    'withdrawal.signed',
    'withdrawal.broadcast',
    'withdrawal.confirmed',
  ]);
  assert.equal((await s.coordinator.ctx.audit.verify()).ok, true);
  socket.close();
});
