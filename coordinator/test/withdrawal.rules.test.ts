// Withdrawal rules on a real stack: refusals with their codes and no state change, editing
// voids approvals, 100 concurrent approve/cancel races end in exactly one outcome, the signer
// going down mid-signing gives SIGNER_UNAVAILABLE and the withdrawal stays signable, a
// coordinator restart mid-session never signs or broadcasts twice, and a session that times out
// is ended at the signer at once.

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
import { type Identity } from '@tandem/tecdsa/envelope';
import { ANVIL_FUNDER } from '../src/chain/anvil.ts';
import { runAdmin } from '../src/cli/admin.ts';
import { startStack, type Stack } from './stack.ts';
import { MpcSocket, dkgOverWss, signOverWss, p2SignerFor, FrameError } from './p2Client.ts';
import { envelopeToJson } from '@tandem/tecdsa/envelope';
import { until } from './until.ts';
import { latestPermit } from '../src/withdrawals/signRelay.ts';

let s: Stack;
let alice: { id: string; token: string; device: Identity };
let ivan: { id: string; token: string };
let paula: { id: string; token: string };
let quinn: { id: string; token: string };
let walletId: string;
let share: P2Share;
let socket: MpcSocket;

const code = (r: { json: Record<string, unknown> }) => (r.json['error'] as { code?: string } | undefined)?.code;
const to = () => ('0x' + randomBytes(20).toString('hex')) as Hex;

before(async () => {
  s = await startStack((c) => {
    c.mpcRoundTimeoutMs = 6_000; // short, for the round-timeout test; longer than any honest DKG or signing round here
  });
  alice = await s.signerUser('alice');
  ivan = await s.user('ivan', ['initiator']);
  paula = await s.user('paula', ['approver']);
  quinn = await s.user('quinn', ['approver']);
  const w = (await s.api('POST', '/api/v1/wallets', s.admin.token, { name: 'Ops', signerUserId: alice.id })).json as {
    id: string;
    dkgWalletId: string;
  };
  walletId = w.id;
  socket = await MpcSocket.open(s.wssUrl, alice.token, s.caCert);
  const rp = generateRingPedersen(nativeModPow()!, systemRng, FULL.nHatBits);
  share = (await dkgOverWss(socket, alice.device, s.signerIdentity, rp, w)).share;
  const address = ethereumAddress(share.Q) as Hex;
  await s.api('POST', `/api/v1/wallets/${walletId}/share-stored`, alice.token, { address });
  await s.api('PUT', `/api/v1/wallets/${walletId}/policy`, s.admin.token, {
    perWithdrawalLimitWei: parseEther('2').toString(),
    dailyLimitWei: parseEther('5').toString(),
    whitelistOnly: false,
    quorum: 2,
  });
  const funder = createWalletClient({
    account: privateKeyToAccount(ANVIL_FUNDER.privateKey),
    transport: http(s.anvil.rpcUrl),
  });
  await funder.sendTransaction({ to: address, value: parseEther('20'), chain: null });
});
after(async () => {
  socket.close();
  await s.close();
});

async function approved(amount = parseEther('0.1')): Promise<string> {
  const r = await s.api('POST', '/api/v1/withdrawals', ivan.token, {
    walletId,
    to: to(),
    amountWei: amount.toString(),
  });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  const id = r.json['id'] as string;
  await s.api('POST', `/api/v1/withdrawals/${id}/approve`, paula.token);
  await s.api('POST', `/api/v1/withdrawals/${id}/approve`, quinn.token);
  return id;
}

async function prepared(id: string): Promise<Uint8Array> {
  const prep = await s.api('POST', `/api/v1/withdrawals/${id}/prepare-signing`, alice.token);
  assert.equal(prep.status, 200, JSON.stringify(prep.json));
  return txDigest(txFromJson(prep.json['tx']));
}

const state = async (id: string) => (await s.api('GET', `/api/v1/withdrawals/${id}`, ivan.token)).json['state'];

test('refusals, each with its code and no state change', async () => {
  const count = async () =>
    (await s.coordinator.ctx.store.get<{ n: number }>('SELECT COUNT(*) AS n FROM withdrawals'))!.n;
  const n0 = await count();
  const body = { walletId, to: to(), amountWei: '1000' };
  assert.equal(code(await s.api('POST', '/api/v1/withdrawals', undefined, body)), 'UNAUTHENTICATED');
  assert.equal(code(await s.api('POST', '/api/v1/withdrawals', 'tdm_' + 'A'.repeat(43), body)), 'UNAUTHENTICATED');
  assert.equal(code(await s.api('POST', '/api/v1/withdrawals', paula.token, body)), 'ROLE_REQUIRED');
  assert.equal(
    code(await s.api('POST', '/api/v1/withdrawals', ivan.token, { ...body, walletId: 'nope' })),
    'WALLET_NOT_FOUND',
  );
  const over = await s.api('POST', '/api/v1/withdrawals', ivan.token, {
    ...body,
    amountWei: parseEther('2.000000000000000001').toString(),
  });
  assert.equal(code(over), 'POLICY_VIOLATION');
  assert.match(String((over.json['error'] as { details: { rule: string } }).details.rule), /per_withdrawal_limit/);
  for (const bad of [
    { ...body, amountWei: '01' },
    { ...body, amountWei: 5 },
    { ...body, to: '0x1234' },
    { ...body, extra: 1 },
    { ...body, amountWei: '0' },
  ])
    assert.equal(code(await s.api('POST', '/api/v1/withdrawals', ivan.token, bad)), 'BAD_REQUEST', JSON.stringify(bad));
  const raw = await s.coordinator.app.inject({
    method: 'POST',
    url: '/api/v1/withdrawals',
    headers: { authorization: `Bearer ${ivan.token}`, 'content-type': 'application/json' },
    payload: '{"walletId":',
  });
  assert.equal(JSON.parse(raw.body).error.code, 'MALFORMED_JSON');
  const big = await s.coordinator.app.inject({
    method: 'POST',
    url: '/api/v1/withdrawals',
    headers: { authorization: `Bearer ${ivan.token}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ ...body, note: 'x'.repeat(70_000) }),
  });
  assert.equal(JSON.parse(big.body).error.code, 'BODY_TOO_LARGE');
  assert.equal(await count(), n0);

  // Whitelist-only: a destination that is not in the approved address book is refused.
  await s.api('PUT', `/api/v1/wallets/${walletId}/policy`, s.admin.token, {
    perWithdrawalLimitWei: parseEther('2').toString(),
    dailyLimitWei: parseEther('5').toString(),
    whitelistOnly: true,
    quorum: 2,
  });
  const wl = await s.api('POST', '/api/v1/withdrawals', ivan.token, body);
  assert.equal(code(wl), 'POLICY_VIOLATION');
  assert.match(String((wl.json['error'] as { details: { rule: string } }).details.rule), /whitelist_only/);
  await s.api('PUT', `/api/v1/wallets/${walletId}/policy`, s.admin.token, {
    perWithdrawalLimitWei: parseEther('2').toString(),
    dailyLimitWei: parseEther('5').toString(),
    whitelistOnly: false,
    quorum: 2,
  });

  // Self-approval and double approval.
  const r = await s.api('POST', '/api/v1/withdrawals', ivan.token, body);
  const id = r.json['id'] as string;
  const both = await s.user('olga', ['initiator', 'approver']);
  const own = await s.api('POST', '/api/v1/withdrawals', both.token, body);
  assert.equal(code(await s.api('POST', `/api/v1/withdrawals/${own.json['id']}/approve`, both.token)), 'SELF_APPROVAL');
  await s.api('POST', `/api/v1/withdrawals/${id}/approve`, paula.token);
  assert.equal(code(await s.api('POST', `/api/v1/withdrawals/${id}/approve`, paula.token)), 'ALREADY_APPROVED');
  assert.equal(await state(id), 'pending_approval');
  // Editing voids the approvals: paula may (and must) approve again.
  const edited = await s.api('PATCH', `/api/v1/withdrawals/${id}`, ivan.token, { amountWei: '2000' });
  assert.deepEqual(
    [edited.json['state'], edited.json['version'], (edited.json['approvals'] as unknown[]).length],
    ['pending_approval', 2, 0],
  );
  assert.equal((await s.api('POST', `/api/v1/withdrawals/${id}/approve`, paula.token)).status, 200);
  // A signer cannot sign what is not approved.
  assert.equal(code(await s.api('POST', `/api/v1/withdrawals/${id}/prepare-signing`, alice.token)), 'INVALID_STATE');
});

test('100 concurrent approve/cancel races on one request: exactly one outcome, at most one permit', async () => {
  const extra = await Promise.all(Array.from({ length: 8 }, (_, i) => s.user(`appr${i}`, ['approver'])));
  const r = await s.api('POST', '/api/v1/withdrawals', ivan.token, { walletId, to: to(), amountWei: '3000' });
  const id = r.json['id'] as string;
  const calls = Array.from({ length: 100 }, (_, i) =>
    i % 2 === 0
      ? s.api('POST', `/api/v1/withdrawals/${id}/cancel`, ivan.token)
      : s.api('POST', `/api/v1/withdrawals/${id}/approve`, extra[i % extra.length]!.token),
  );
  const res = await Promise.all(calls);
  const final = await state(id);
  const cancels = res.filter((x, k) => k % 2 === 0 && x.status === 200).length;
  const approvals = res.filter((x, k) => k % 2 === 1 && x.status === 200).length;
  // Cancel wins at most once and is final; approvals after it are refused; quorum is reached at most once.
  assert.equal(final, cancels === 1 ? 'cancelled' : 'approved');
  assert.ok(cancels <= 1);
  assert.ok(approvals <= 8, 'each approver counts once');
  const audit = (await s.coordinator.ctx.audit.entries()).filter((e) => e.subject === id).map((e) => e.action);
  assert.equal(audit.filter((a) => a === 'withdrawal.cancelled').length, cancels);
  assert.ok(audit.filter((a) => a === 'withdrawal.quorum_reached').length <= 1);
  assert.equal(audit.filter((a) => a === 'withdrawal.approved').length, approvals);
  const permits = (await s.coordinator.ctx.store.get<{ n: number }>(
    'SELECT COUNT(*) AS n FROM permits WHERE withdrawal_id = ?',
    id,
  ))!;
  assert.equal(permits.n, 0, 'no permit without a signing session');
});

test('the signer down during signing: SIGNER_UNAVAILABLE, and the withdrawal is signable when it returns', async () => {
  const id = await approved();
  const m32 = await prepared(id);
  const signerDir = s.signer.ctx.db.name.replace(/\/signer\.db$/, '');
  const port = s.signer.port;
  await s.signer.close();
  await assert.rejects(
    signOverWss(socket, alice.device, s.signerIdentity, share, id, m32),
    (e: FrameError) => e.frame['code'] === 'SIGNER_UNAVAILABLE',
  );
  assert.equal(await state(id), 'approved');
  // Back on the same port with the same data.
  const { startSigner } = await import('@tandem/signer-daemon/src/daemon.ts');
  const { testConfig } = await import('@tandem/signer-daemon/test/harness.ts');
  s.signer = await startSigner(
    testConfig(signerDir, (c) => (c.port = port)),
    { log: s.coordinator.ctx.log.child({ service: 'signer' }) },
  );
  await signOverWss(socket, alice.device, s.signerIdentity, share, id, m32);
  assert.ok(['signed', 'broadcast', 'confirmed'].includes(String(await state(id))));
});

test('a coordinator restart mid-session: back to approved, signed once; after signing, the stored tx is rebroadcast, never re-signed', async () => {
  const id = await approved();
  const m32 = await prepared(id);
  // Start a signing session and stop after SIGN-2, as a crash would.
  const p2 = p2SignerFor(alice.device, s.signerIdentity, share, m32);
  const s2 = await socket.request({ type: 'sign_start', withdrawalId: id, envelope: envelopeToJson(p2.start().send!) });
  assert.equal(s2.type, 'sign_round');
  assert.equal(await state(id), 'signing');
  socket.close();
  await s.restartCoordinator();
  assert.equal(await state(id), 'approved');
  socket = await MpcSocket.open(s.wssUrl, alice.token, s.caCert);
  await signOverWss(socket, alice.device, s.signerIdentity, share, id, await prepared(id));
  const w = await until('confirmation', async () => {
    const r = await s.api('GET', `/api/v1/withdrawals/${id}`, ivan.token);
    return r.json['state'] === 'confirmed' ? r.json : undefined;
  });
  const signedBefore = (await s.coordinator.ctx.store.get<{ n: number }>(
    'SELECT COUNT(*) AS n FROM permits WHERE withdrawal_id = ?',
    id,
  ))!;
  assert.equal(signedBefore.n, 2, 'one permit per session: the aborted one and the completed one');
  // Restart again after confirmation: nothing is signed or sent again.
  await s.restartCoordinator();
  const after = await s.api('GET', `/api/v1/withdrawals/${id}`, ivan.token);
  assert.deepEqual([after.json['state'], after.json['txHash']], ['confirmed', w['txHash']]);
  const actions = (await s.coordinator.ctx.audit.entries()).filter((e) => e.subject === id).map((e) => e.action);
  assert.equal(actions.filter((a) => a === 'withdrawal.signed').length, 1);
  assert.equal(actions.filter((a) => a === 'withdrawal.broadcast').length, 1);
  socket = await MpcSocket.open(s.wssUrl, alice.token, s.caCert);
});

test('a session with no next message in time is ended: the desktop is told, the withdrawal is signable again', async () => {
  const id = await approved();
  const m32 = await prepared(id);
  const p2 = p2SignerFor(alice.device, s.signerIdentity, share, m32);
  const s2 = await socket.request({ type: 'sign_start', withdrawalId: id, envelope: envelopeToJson(p2.start().send!) });
  assert.equal(s2.type, 'sign_round');
  await until(
    'the SESSION_TIMEOUT frame',
    () => socket.events.find((e) => e['code'] === 'SESSION_TIMEOUT' && e['sessionId'] === s2['sessionId']),
    15_000,
    50,
  );
  assert.equal(await state(id), 'approved');
  // The coordinator left the signer's side too: that session ended at once, not at its expiry.
  const permitId = (await latestPermit(s.coordinator.ctx.store, id))!.permit_id;
  const signerSession = () =>
    s.signer.ctx.db.prepare('SELECT state, error_code FROM sign_sessions WHERE permit_id = ?').get(permitId) as {
      state: string;
      error_code: string | null;
    };
  await until('the signer to end its session', () => signerSession().state !== 'RUNNING' || undefined, 5_000, 20);
  assert.deepEqual(signerSession(), { state: 'ABANDONED', error_code: 'CALLER_LEFT' });
  await signOverWss(socket, alice.device, s.signerIdentity, share, id, await prepared(id));
});

test('the audit log verifies, and altering one row makes verify fail (also through the admin CLI)', async () => {
  const ctx = s.coordinator.ctx;
  const env = { ...process.env, TANDEM_COORDINATOR_DATA_DIR: ctx.config.dataDir };
  const lines: string[] = [];
  assert.equal(await runAdmin(['verify-audit'], env, (l) => void lines.push(l)), 0);
  assert.equal(await runAdmin(['export-audit'], env, (l) => void lines.push(l)), 0);
  assert.ok(lines.some((l) => l.includes('"withdrawal.confirmed"')));
  assert.equal((await ctx.audit.verify()).ok, true);
  await ctx.store.run(
    `UPDATE audit_log SET details = '{"amountWei":"1"}' WHERE seq = (SELECT MIN(seq) FROM audit_log WHERE action = 'withdrawal.requested')`,
  );
  assert.equal((await ctx.audit.verify()).ok, false);
  assert.equal(await runAdmin(['verify-audit'], env, () => {}), 1);
});
