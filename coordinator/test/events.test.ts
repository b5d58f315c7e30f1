// What connected desktops are told, on a real stack (anvil, signer, coordinator in this process):
// each user's WSS sockets receive {"type":"event"} frames for what awaits them or what changed.
// Approvers hear of a new request, the wallet's signer of a request that reached its quorum, the
// initiator (with the signer and the approvers) of every state the withdrawal passes through, in
// order; approvers other than the proposer hear of a new address-book entry; users with no part
// in any of it hear nothing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createWalletClient, getAddress, http, parseEther, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { type Identity } from '@tandem/tecdsa/envelope';
import { ethereumAddress } from '@tandem/tecdsa/address';
import { txDigest, txFromJson } from '@tandem/tecdsa/txDigest';
import { generateRingPedersen } from '@tandem/tecdsa/ringPedersen';
import { nativeModPow } from '@tandem/tecdsa/modpowNative';
import { systemRng } from '@tandem/tecdsa/rng';
import { FULL } from '@tandem/tecdsa/params';
import { type P2Share } from '@tandem/tecdsa/shares';
import { ANVIL_FUNDER } from '../src/chain/anvil.ts';
import { startStack, type Stack } from './stack.ts';
import { MpcSocket, dkgOverWss, signOverWss, type Frame } from './p2Client.ts';

type User = { id: string; token: string };

let s: Stack;
let alice: User & { device: Identity };
let ivan: User;
let paula: User;
let quinn: User;
let olga: User;
let iris: User;
let bob: User;
let walletId: string;
let share: P2Share;
/** One socket per user, plus a second desktop for paula. */
const sock: Record<string, MpcSocket> = {};

const events = (name: string) => sock[name]!.events.filter((f) => f.type === 'event');
const about = (name: string, key: 'withdrawalId' | 'entryId', id: string) => events(name).filter((f) => f[key] === id);

async function waitFor(name: string, what: string, pred: (f: Frame) => boolean, ms = 20_000): Promise<Frame> {
  const end = Date.now() + ms;
  for (;;) {
    const f = events(name).find(pred);
    if (f) return f;
    if (Date.now() > end)
      throw new Error(`${name} was not told ${what}; got ${JSON.stringify(events(name)).slice(0, 2_000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Lets any stray frame arrive before asserting that something did not. */
const settle = () => new Promise((r) => setTimeout(r, 300));

const changedStates = (name: string, id: string) =>
  about(name, 'withdrawalId', id)
    .filter((f) => f['event'] === 'withdrawal_changed')
    .map((f) => f['state']);

before(async () => {
  s = await startStack();
  alice = await s.signerUser('alice');
  ivan = await s.user('ivan', ['initiator']);
  paula = await s.user('paula', ['approver']);
  quinn = await s.user('quinn', ['approver']);
  olga = await s.user('olga', ['initiator', 'approver']);
  iris = await s.user('iris', ['initiator']); // an initiator, but not of these requests
  bob = await s.user('bob', ['signer']); // a signer, but not of this wallet
  const tokens: Record<string, string> = {
    alice: alice.token,
    ivan: ivan.token,
    paula: paula.token,
    paula2: paula.token,
    quinn: quinn.token,
    olga: olga.token,
    iris: iris.token,
    bob: bob.token,
    admin: s.admin.token,
  };
  for (const [name, token] of Object.entries(tokens)) sock[name] = await MpcSocket.open(s.wssUrl, token, s.caCert);

  const created = await s.api('POST', '/api/v1/wallets', s.admin.token, { name: 'Events', signerUserId: alice.id });
  const wallet = created.json as { id: string; dkgWalletId: string };
  walletId = wallet.id;
  await waitFor(
    'alice',
    'wallet_awaiting_dkg',
    (f) => f['event'] === 'wallet_awaiting_dkg' && f['walletId'] === walletId,
  );
  const rp = generateRingPedersen(nativeModPow()!, systemRng, FULL.nHatBits);
  share = (await dkgOverWss(sock['alice']!, alice.device, s.signerIdentity, rp, wallet)).share;
  const address = ethereumAddress(share.Q) as Hex;
  assert.equal((await s.api('POST', `/api/v1/wallets/${walletId}/share-stored`, alice.token, { address })).status, 200);
  const policy = await s.api('PUT', `/api/v1/wallets/${walletId}/policy`, s.admin.token, {
    perWithdrawalLimitWei: parseEther('2').toString(),
    dailyLimitWei: parseEther('10').toString(),
    whitelistOnly: false,
    quorum: 2,
  });
  assert.equal(policy.status, 200, JSON.stringify(policy.json));
  const funder = createWalletClient({
    account: privateKeyToAccount(ANVIL_FUNDER.privateKey),
    transport: http(s.anvil.rpcUrl),
  });
  await funder.sendTransaction({ to: address, value: parseEther('5'), chain: null });
});

after(async () => {
  for (const x of Object.values(sock)) x.close();
  await s.close();
});

test('a withdrawal: approvers are asked, the signer is asked at quorum, and the initiator follows every state in order', async () => {
  const to = ('0x' + randomBytes(20).toString('hex')) as Hex;
  const amount = parseEther('0.3');
  const req = await s.api('POST', '/api/v1/withdrawals', ivan.token, { walletId, to, amountWei: amount.toString() });
  assert.equal(req.status, 201, JSON.stringify(req.json));
  const id = req.json['id'] as string;

  // Every approver's every desktop is asked, once; the initiator and the signer are not.
  const awaiting = (f: Frame) => f['event'] === 'withdrawal_awaiting_approval' && f['withdrawalId'] === id;
  for (const name of ['paula', 'paula2', 'quinn', 'olga']) {
    const f = await waitFor(name, 'withdrawal_awaiting_approval', awaiting);
    assert.deepEqual(f, { type: 'event', event: 'withdrawal_awaiting_approval', withdrawalId: id });
  }
  await settle();
  for (const name of ['paula', 'paula2', 'quinn', 'olga'])
    assert.equal(events(name).filter(awaiting).length, 1, `${name}: exactly once`);
  for (const name of ['ivan', 'alice', 'iris', 'bob', 'admin'])
    assert.equal(events(name).filter(awaiting).length, 0, `${name} cannot approve`);

  // First approval: a change, no signature asked yet. Second: quorum, the wallet's signer is asked.
  const atSignature = (f: Frame) => f['event'] === 'withdrawal_awaiting_signature' && f['withdrawalId'] === id;
  assert.equal(
    (await s.api('POST', `/api/v1/withdrawals/${id}/approve`, paula.token)).json['state'],
    'pending_approval',
  );
  await waitFor('ivan', 'pending_approval', (f) => f['withdrawalId'] === id && f['state'] === 'pending_approval');
  await settle();
  assert.equal(events('alice').filter(atSignature).length, 0, 'not before the quorum');
  assert.equal((await s.api('POST', `/api/v1/withdrawals/${id}/approve`, quinn.token)).json['state'], 'approved');
  const asked = await waitFor('alice', 'withdrawal_awaiting_signature', atSignature);
  assert.deepEqual(asked, { type: 'event', event: 'withdrawal_awaiting_signature', withdrawalId: id });

  // The signer's desktop signs; the broadcaster sends and follows it to its receipt.
  const prep = await s.api('POST', `/api/v1/withdrawals/${id}/prepare-signing`, alice.token);
  assert.equal(prep.status, 200, JSON.stringify(prep.json));
  await signOverWss(sock['alice']!, alice.device, s.signerIdentity, share, id, txDigest(txFromJson(prep.json['tx'])));
  await waitFor('ivan', 'confirmed', (f) => f['withdrawalId'] === id && f['state'] === 'confirmed');
  await settle();

  const expected = ['pending_approval', 'approved', 'signing', 'signed', 'broadcast', 'confirmed'];
  assert.deepEqual(changedStates('ivan', id), expected, 'the initiator, in order, each once');
  for (const name of ['alice', 'paula', 'paula2', 'quinn'])
    assert.deepEqual(changedStates(name, id), expected, `${name} follows it too`);
  for (const f of about('ivan', 'withdrawalId', id).filter((x) => x['event'] === 'withdrawal_changed'))
    assert.deepEqual(Object.keys(f).sort(), ['event', 'state', 'type', 'withdrawalId']);
  // The initiator is never asked to approve or sign.
  assert.deepEqual(
    about('ivan', 'withdrawalId', id).map((f) => f['event']),
    expected.map(() => 'withdrawal_changed'),
  );
  assert.equal(events('alice').filter(atSignature).length, 1, 'asked once');
  for (const name of ['paula', 'paula2', 'quinn', 'ivan', 'olga', 'iris', 'bob', 'admin'])
    assert.equal(events(name).filter(atSignature).length, 0, `${name} holds no share of this wallet`);

  // Users with no part in it hear nothing about it.
  for (const name of ['iris', 'bob', 'admin'])
    assert.deepEqual(about(name, 'withdrawalId', id), [], `${name} has no relation to this withdrawal`);
  // Nothing but event frames arrived unasked.
  for (const name of Object.keys(sock))
    assert.deepEqual(
      sock[name]!.events.filter((f) => f.type !== 'event'),
      [],
      `${name}: only events`,
    );
});

test('an address-book entry: every approver but the proposer is asked to approve it', async () => {
  const address = getAddress('0x' + randomBytes(20).toString('hex'));
  const proposed = await s.api('POST', '/api/v1/address-book', ivan.token, { name: 'Exchange hot wallet', address });
  assert.equal(proposed.status, 201, JSON.stringify(proposed.json));
  const entryId = (proposed.json['entry'] as { id: string }).id;
  const asked = (f: Frame) => f['event'] === 'address_book_awaiting_approval' && f['entryId'] === entryId;
  for (const name of ['paula', 'paula2', 'quinn', 'olga']) {
    const f = await waitFor(name, 'address_book_awaiting_approval', asked);
    assert.deepEqual(f, { type: 'event', event: 'address_book_awaiting_approval', entryId });
  }
  await settle();
  for (const name of ['paula', 'paula2', 'quinn', 'olga']) assert.equal(events(name).filter(asked).length, 1);
  for (const name of ['ivan', 'alice', 'iris', 'bob', 'admin'])
    assert.deepEqual(about(name, 'entryId', entryId), [], `${name} is not asked`);

  // An approver who proposes is not asked to approve their own entry; the others are.
  const own = await s.api('POST', '/api/v1/address-book', olga.token, {
    name: 'Cold storage',
    address: getAddress('0x' + randomBytes(20).toString('hex')),
  });
  assert.equal(own.status, 201, JSON.stringify(own.json));
  const ownId = (own.json['entry'] as { id: string }).id;
  await waitFor('quinn', 'address_book_awaiting_approval', (f) => f['entryId'] === ownId);
  await settle();
  assert.deepEqual(about('olga', 'entryId', ownId), []);
});

test('an initiator who is also an approver is not asked to approve their own request', async () => {
  const r = await s.api('POST', '/api/v1/withdrawals', olga.token, {
    walletId,
    to: '0x' + randomBytes(20).toString('hex'),
    amountWei: '1000',
  });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  const id = r.json['id'] as string;
  await waitFor('paula', 'withdrawal_awaiting_approval', (f) => f['withdrawalId'] === id);
  await settle();
  // She could not act on it: approving her own request is refused.
  assert.equal(
    ((await s.api('POST', `/api/v1/withdrawals/${id}/approve`, olga.token)).json['error'] as { code: string }).code,
    'SELF_APPROVAL',
  );
  assert.deepEqual(
    about('olga', 'withdrawalId', id).filter((f) => f['event'] === 'withdrawal_awaiting_approval'),
    [],
    'olga was asked to approve her own request',
  );
});
