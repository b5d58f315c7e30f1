// `npm run -s demo:withdrawal -- [--json] [--amount-eth 1.5]`: a throwaway stack (anvil, signer,
// coordinator in a temporary directory, free ports) and the whole story — an admin makes users
// and a wallet, the signer user's desktop (tecdsa's P2, headless) runs the DKG over WSS, anvil
// funds the wallet, an initiator requests a withdrawal, two approvers approve, the desktop
// recomputes the digest from the transaction fields and signs, and the transaction is mined.
// Prints each step, or with --json one line with the outcome.

import { randomBytes } from 'node:crypto';
import { createWalletClient, getAddress, http, parseEther, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ethereumAddress } from '@tandem/tecdsa/address';
import { txDigest, txFromJson } from '@tandem/tecdsa/txDigest';
import { generateRingPedersen } from '@tandem/tecdsa/ringPedersen';
import { nativeModPow } from '@tandem/tecdsa/modpowNative';
import { bigintModPow } from '@tandem/tecdsa/arith';
import { systemRng } from '@tandem/tecdsa/rng';
import { FULL } from '@tandem/tecdsa/params';
import { ANVIL_FUNDER } from '@tandem/coordinator/src/chain/anvil.ts';
import { startStack } from '@tandem/coordinator/test/stack.ts';
import { MpcSocket, dkgOverWss, signOverWss } from '@tandem/coordinator/test/p2Client.ts';

const args = process.argv.slice(2);
const json = args.includes('--json');
const i = args.indexOf('--amount-eth');
const amount = parseEther(i >= 0 ? String(args[i + 1]) : '1.5');
const step = (s: string) => {
  if (!json) process.stderr.write(`• ${s}\n`);
};

const s = await startStack();
try {
  step('stack up: anvil, signer (mTLS), coordinator (HTTPS/WSS)');
  const alice = await s.signerUser('alice');
  const ivan = await s.user('ivan', ['initiator']);
  const paula = await s.user('paula', ['approver']);
  const quinn = await s.user('quinn', ['approver']);
  const wallet = (await s.api('POST', '/api/v1/wallets', s.admin.token, { name: 'Treasury', signerUserId: alice.id }))
    .json as {
    id: string;
    dkgWalletId: string;
  };
  step(`admin created wallet ${wallet.id} for alice`);
  const socket = await MpcSocket.open(s.wssUrl, alice.token, s.caCert);
  step("alice's desktop: one-time ring-Pedersen setup, then the DKG over WSS");
  const rp = generateRingPedersen(nativeModPow() ?? bigintModPow, systemRng, FULL.nHatBits);
  const { share } = await dkgOverWss(socket, alice.device, s.signerIdentity, rp, wallet);
  const walletAddress = ethereumAddress(share.Q) as Hex;
  await s.api('POST', `/api/v1/wallets/${wallet.id}/share-stored`, alice.token, { address: walletAddress });
  await s.api('PUT', `/api/v1/wallets/${wallet.id}/policy`, s.admin.token, {
    perWithdrawalLimitWei: parseEther('5').toString(),
    dailyLimitWei: parseEther('10').toString(),
    whitelistOnly: false,
    quorum: 2,
  });
  step(`wallet ACTIVE at ${walletAddress}; policy: 5 ETH per withdrawal, 10 ETH a day, 2 approvals`);
  const funder = createWalletClient({
    account: privateKeyToAccount(ANVIL_FUNDER.privateKey),
    transport: http(s.anvil.rpcUrl),
  });
  await funder.sendTransaction({ to: walletAddress, value: parseEther('10'), chain: null });
  for (;;) {
    const d = await s.api('GET', `/api/v1/wallets/${wallet.id}/deposits`, alice.token);
    if ((d.json['deposits'] as unknown[]).length > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  step('deposit of 10 ETH seen');
  const recipient = getAddress('0x' + randomBytes(20).toString('hex'));
  const chain = s.coordinator.ctx.chain;
  const recipientBalanceBefore = await chain.balance(recipient);
  const req = await s.api('POST', '/api/v1/withdrawals', ivan.token, {
    walletId: wallet.id,
    to: recipient,
    amountWei: amount.toString(),
  });
  const wid = req.json['id'] as string;
  await s.api('POST', `/api/v1/withdrawals/${wid}/approve`, paula.token);
  await s.api('POST', `/api/v1/withdrawals/${wid}/approve`, quinn.token);
  step(`withdrawal ${wid} requested by ivan, approved by paula and quinn`);
  const prep = await s.api('POST', `/api/v1/withdrawals/${wid}/prepare-signing`, alice.token);
  const tx = txFromJson(prep.json['tx']);
  if (tx.type !== 'eip1559' || tx.to?.toLowerCase() !== recipient.toLowerCase() || tx.value !== amount)
    throw new Error('DISPLAY_MISMATCH: the transaction differs from the approved withdrawal');
  const m32 = txDigest(tx);
  await signOverWss(socket, alice.device, s.signerIdentity, share, wid, m32);
  step('signed by the desktop and the bank signer together');
  let w: Record<string, unknown>;
  for (;;) {
    w = (await s.api('GET', `/api/v1/withdrawals/${wid}`, alice.token)).json;
    if (w['state'] === 'confirmed' || w['state'] === 'failed') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const receipt = await chain.receipt(w['txHash'] as Hex);
  const out = {
    walletAddress,
    recipient,
    amountWei: amount.toString(),
    txHash: w['txHash'],
    rawTransaction: w['rawTransaction'],
    status: receipt?.status,
    blockNumber: receipt?.blockNumber,
    recipientBalanceBefore: recipientBalanceBefore.toString(),
    recipientBalanceAfter: (await chain.balance(recipient)).toString(),
  };
  step(
    `mined in block ${out.blockNumber}: ${out.status}; recipient ${out.recipientBalanceBefore} → ${out.recipientBalanceAfter} wei`,
  );
  if (json) process.stdout.write(JSON.stringify(out) + '\n');
  socket.close();
} finally {
  await s.close();
}
