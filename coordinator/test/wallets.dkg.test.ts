// Wallet creation end to end: an admin creates a wallet for a signer user, the user's desktop
// (tecdsa's P2 here) runs the DKG over WSS through the coordinator to the real signer, and the
// wallet becomes ACTIVE with its address only after the desktop confirms its share is stored.
// Plus the WSS endpoint's refusals.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ethereumAddress } from '@tandem/tecdsa/address';
import { generateRingPedersen, type RingPedersenSecret } from '@tandem/tecdsa/ringPedersen';
import { nativeModPow } from '@tandem/tecdsa/modpowNative';
import { systemRng } from '@tandem/tecdsa/rng';
import { FULL } from '@tandem/tecdsa/params';
import { identityFromSeed } from '@tandem/tecdsa/envelope';
import { startStack, type Stack } from './stack.ts';
import { MpcSocket, dkgOverWss, FrameError } from './p2Client.ts';

let s: Stack;
let rp: RingPedersenSecret;
before(async () => {
  s = await startStack();
  rp = generateRingPedersen(nativeModPow()!, systemRng, FULL.nHatBits);
});
after(async () => {
  await s.close();
});

type WalletJson = {
  id: string;
  dkgWalletId: string;
  status: string;
  address: string | null;
  keyGenerated: boolean;
  unknownTransactions: number;
};

async function newWallet(signerUserId: string, name = 'Treasury hot wallet'): Promise<WalletJson> {
  const r = await s.api('POST', '/api/v1/wallets', s.admin.token, { name, signerUserId });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json as unknown as WalletJson;
}

test('admin creates a wallet, the desktop runs the DKG over WSS, the wallet is ACTIVE after the share is stored', async () => {
  const alice = await s.signerUser('alice');
  const socket = await MpcSocket.open(s.wssUrl, alice.token, s.caCert);
  const wallet = await newWallet(alice.id);
  assert.equal(wallet.status, 'PENDING_DKG');
  assert.equal(wallet.address, null);
  // The desktop was told that a wallet awaits it.
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(socket.events.some((e) => e['event'] === 'wallet_awaiting_dkg' && e['walletId'] === wallet.id));

  const { share, complete } = await dkgOverWss(socket, alice.device, s.signerIdentity, rp, wallet);
  const address = ethereumAddress(share.Q);
  assert.equal(complete['address'], address);
  // Key generated but not yet usable: no address shown until the desktop has stored its share.
  const mid = (await s.api('GET', `/api/v1/wallets/${wallet.id}`, alice.token)).json as unknown as WalletJson;
  assert.deepEqual([mid.status, mid.address, mid.keyGenerated], ['PENDING_DKG', null, true]);

  const wrong = await s.api('POST', `/api/v1/wallets/${wallet.id}/share-stored`, alice.token, {
    address: '0x' + randomBytes(20).toString('hex'),
  });
  assert.equal((wrong.json['error'] as { code: string }).code, 'INVALID_STATE');
  const done = await s.api('POST', `/api/v1/wallets/${wallet.id}/share-stored`, alice.token, { address });
  assert.equal(done.status, 200);
  assert.deepEqual([done.json['status'], done.json['address']], ['ACTIVE', address]);
  // The signer holds the matching keyset.
  const keyset = await s.coordinator.ctx.signer.getKeyset(`w-${wallet.id}`);
  assert.equal(keyset.keyset!.address, address);
  // A send from its address that is none of our withdrawals (sentTxs.ts) shows on the wallet as an alert.
  const view = async () => (await s.api('GET', `/api/v1/wallets/${wallet.id}`, alice.token)).json;
  assert.equal((await view())['unknownTransactions'], 0);
  const store = s.coordinator.ctx.store;
  const stranger = '0x' + 'ab'.repeat(32);
  await store.run(
    `INSERT INTO wallet_sent (tx_hash, wallet_id, nonce, amount_wei, block_number, block_hash) VALUES (?, ?, 0, '1', 1, ?)`,
    stranger,
    wallet.id,
    '0x' + 'cd'.repeat(32),
  );
  assert.equal((await view())['unknownTransactions'], 1);
  const listed = (await s.api('GET', '/api/v1/wallets', s.admin.token)).json['wallets'] as WalletJson[];
  assert.equal(listed.find((w) => w.id === wallet.id)?.unknownTransactions, 1);
  await store.run('DELETE FROM wallet_sent WHERE tx_hash = ?', stranger);
  const actions = (await s.coordinator.ctx.audit.entries()).filter((e) => e.subject === wallet.id).map((e) => e.action);
  assert.deepEqual(actions, ['wallet.created', 'wallet.dkg_started', 'wallet.key_generated', 'wallet.activated']);
  socket.close();
});

test('WSS upgrades: no token 401, bad token 401, a foreign Origin 403', async () => {
  const bob = await s.signerUser('bob');
  await assert.rejects(MpcSocket.open(s.wssUrl, undefined, s.caCert), { status: 401 });
  await assert.rejects(MpcSocket.open(s.wssUrl, 'tdm_' + 'x'.repeat(43), s.caCert), { status: 401 });
  await assert.rejects(MpcSocket.open(s.wssUrl, bob.token, s.caCert, { origin: 'https://evil.example' }), {
    status: 403,
  });
});

test('DKG refusals: another user’s wallet, an unapproved device, an unknown wallet, a second DKG', async () => {
  const carol = await s.signerUser('carol');
  const dave = await s.signerUser('dave');
  const wallet = await newWallet(carol.id, 'Carol');
  const daveSocket = await MpcSocket.open(s.wssUrl, dave.token, s.caCert);
  await assert.rejects(
    dkgOverWss(daveSocket, dave.device, s.signerIdentity, rp, wallet),
    (e: FrameError) => e.frame['code'] === 'FORBIDDEN',
  );
  await assert.rejects(
    dkgOverWss(daveSocket, dave.device, s.signerIdentity, rp, {
      id: 'no-such-wallet',
      dkgWalletId: wallet.dkgWalletId,
    }),
    (e: FrameError) => e.frame['code'] === 'WALLET_NOT_FOUND',
  );
  // A signer user whose workstation is not approved.
  const erin = await s.user('erin', ['signer']);
  const erinWallet = await newWallet(erin.id, 'Erin');
  const erinSocket = await MpcSocket.open(s.wssUrl, erin.token, s.caCert);
  await assert.rejects(
    dkgOverWss(erinSocket, identityFromSeed(randomBytes(32)), s.signerIdentity, rp, erinWallet),
    (e: FrameError) => e.frame['code'] === 'DEVICE_NOT_APPROVED',
  );
  // A KG-1 signed by a key other than the approved device's: the signer refuses it (E_AUTH).
  const carolSocket = await MpcSocket.open(s.wssUrl, carol.token, s.caCert);
  await assert.rejects(
    dkgOverWss(carolSocket, identityFromSeed(randomBytes(32)), s.signerIdentity, rp, wallet),
    (e: FrameError) => e.frame['code'] === 'E_AUTH',
  );
  // The honest DKG still works afterwards, and a second one for the same wallet is refused.
  await dkgOverWss(carolSocket, carol.device, s.signerIdentity, rp, wallet);
  await assert.rejects(
    dkgOverWss(carolSocket, carol.device, s.signerIdentity, rp, wallet),
    (e: FrameError) => e.frame['code'] === 'INVALID_STATE',
  );
  for (const so of [daveSocket, erinSocket, carolSocket]) so.close();
});

test('bad frames get error frames and the socket stays usable; an oversized frame closes it', async () => {
  const frank = await s.signerUser('frank');
  const socket = await MpcSocket.open(s.wssUrl, frank.token, s.caCert);
  const replies: Record<string, unknown>[] = [];
  socket.ws.on('message', (d) => replies.push(JSON.parse(d.toString()) as Record<string, unknown>));
  for (const bad of [
    '{not json',
    '[]',
    '{"type":"nope"}',
    '{"type":"dkg_start","walletId":"x"}',
    '{"type":"dkg_round","sessionId":"x","envelope":"{}","extra":1}',
  ])
    socket.ws.send(bad);
  socket.ws.send(Buffer.from('{"type":"dkg_start"}'), { binary: true });
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(
    replies.map((r) => r['code']),
    ['MALFORMED_JSON', 'BAD_REQUEST', 'BAD_REQUEST', 'BAD_REQUEST', 'BAD_REQUEST', 'BAD_REQUEST'],
  );
  const r = await socket.request({ type: 'dkg_round', sessionId: 'unknown', envelope: '{}' });
  assert.equal(r['code'], 'NOT_FOUND');
  socket.ws.send('x'.repeat(400 * 1024));
  assert.equal(await socket.closed(), 1009);
});

test('revoking a token closes its sockets (4401)', async () => {
  const gina = await s.signerUser('gina');
  const socket = await MpcSocket.open(s.wssUrl, gina.token, s.caCert);
  const closed = socket.closed();
  const r = await s.api('POST', '/api/v1/auth/logout', gina.token);
  assert.equal(r.status, 204);
  assert.equal(await closed, 4401);
});

test('the audit log verifies', async () => {
  assert.equal((await s.coordinator.ctx.audit.verify()).ok, true);
});
