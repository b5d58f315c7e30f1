// Crash safety of the coordinator: it runs as a child process (`node --import tsx src/main.ts`)
// against a real anvil and a real bank signer (in this process), and is killed with SIGKILL in the
// middle of a withdrawal's signing, then started again on the same data. (a) Killed after SIGN-2:
// the withdrawal returns to approved (withdrawal.signing_aborted, RESTART) and a fresh signing
// gets it mined with the exact amount. (b) Killed the moment SIGN-6 reaches the desktop: after the
// restart the stored transaction is sent (or found already sent) and confirmed; the chain holds
// exactly one transaction for its nonce, the audit exactly one withdrawal.signed, and the signer
// exactly one SIGNED session for it: nothing is signed twice. (c) Killed after the signer finished
// FinalizeSigning but before the coordinator stored the result (the signer's answer is held back by
// a relay): after the restart the coordinator asks the signer (GetSigningResult), stores the
// signature it already made, and the withdrawal is mined — it is never signed a second time.
// (d) Restored from a backup taken before a withdrawal was paid: the restored database shows it
// approved, but it cannot be signed again; the chain follower finds the payment and it is confirmed
// with the transaction that was mined, and the wallet's next withdrawal signs as usual.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { createPublicClient, createWalletClient, http, parseEther, type Hex, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { pino } from 'pino';
import { identityFromSeed, envelopeToJson, parseEnvelope, type Identity } from '@tandem/tecdsa/envelope';
import { ethereumAddress } from '@tandem/tecdsa/address';
import { txDigest, txFromJson } from '@tandem/tecdsa/txDigest';
import { generateRingPedersen } from '@tandem/tecdsa/ringPedersen';
import { nativeModPow } from '@tandem/tecdsa/modpowNative';
import { systemRng } from '@tandem/tecdsa/rng';
import { FULL } from '@tandem/tecdsa/params';
import { type P2Share } from '@tandem/tecdsa/shares';
import { startSigner, type RunningSigner } from '@tandem/signer-daemon/src/daemon.ts';
import { testConfig as signerTestConfig } from '@tandem/signer-daemon/test/harness.ts';
import { ANVIL_FUNDER, freePort, startAnvil, type RunningAnvil } from '../src/chain/anvil.ts';
import { MpcSocket, dkgOverWss, p2SignerFor, signOverWss, type Frame } from './p2Client.ts';
import { runAdmin } from '../src/cli/admin.ts';
import {
  CoordinatorDb,
  httpsApi,
  startChildCoordinator,
  startHoldingRelay,
  type Api,
  type ChildCoordinator,
} from './childCoordinator.ts';
import { until } from './until.ts';

const root = mkdtempSync(join(tmpdir(), 'tandem-coord-crash-'));
let anvil: RunningAnvil;
let signer: RunningSigner;
let port: number;
let child: ChildCoordinator;
let cdb: CoordinatorDb;
let api: Api;
let socket: MpcSocket;
let chain: PublicClient;
let signerIdentity: Uint8Array;
let admin: { id: string; token: string };
let alice: { id: string; token: string; device: Identity };
let ivan: { id: string; token: string };
let paula: { id: string; token: string };
let quinn: { id: string; token: string };
let walletId: string;
let address: Hex;
let share: P2Share;

async function startCoordinator(signerPort = signer.port): Promise<void> {
  child = await startChildCoordinator({
    root,
    port,
    signerAddress: `localhost:${signerPort}`,
    rpcUrl: anvil.rpcUrl,
  });
  api = httpsApi(child.url, child.caCert);
}

/** SIGKILL: no shutdown code runs; the desktop's socket drops with it. */
async function crash(): Promise<void> {
  const dropped = socket.closed();
  await child.kill();
  assert.equal(child.proc.signalCode, 'SIGKILL');
  await dropped;
}

/**
 * SIGKILLs the coordinator synchronously in the desktop's 'message' handler of the first frame of
 * this type on the current socket; returns what that frame was, once it came.
 */
function killOnFrame(type: string): () => Frame | undefined {
  let seen: Frame | undefined;
  socket.ws.on('message', (data) => {
    const f = JSON.parse(data.toString()) as Frame;
    if (f.type === type && !seen) {
      seen = f;
      child.proc.kill('SIGKILL');
    }
  });
  return () => seen;
}

/** Starts the coordinator again on the same data directory and port, and reconnects the desktop. */
async function restart(signerPort?: number): Promise<void> {
  await startCoordinator(signerPort);
  socket = await MpcSocket.open(child.wssUrl, alice.token, child.caCert);
}

const row = async (id: string) =>
  (await cdb.store.get<{ state: string; nonce: number | null; tx_hash: string | null }>(
    'SELECT state, nonce, tx_hash FROM withdrawals WHERE id = ?',
    id,
  ))!;

const auditOf = async (id: string) => (await cdb.audit.entries()).filter((e) => e.subject === id);

/** The signer's sessions for every permit the coordinator issued for this withdrawal. */
async function signerSessions(withdrawalId: string): Promise<{ permit_id: string; state: string }[]> {
  const permits = (
    await cdb.store.all<{ permit_id: string }>('SELECT permit_id FROM permits WHERE withdrawal_id = ?', withdrawalId)
  ).map((p) => p.permit_id);
  const sdb = new Database(join(root, 'signer', 'signer.db'), { readonly: true, fileMustExist: true });
  try {
    return sdb
      .prepare(`SELECT permit_id, state FROM sign_sessions WHERE permit_id IN (${permits.map(() => '?').join(',')})`)
      .all(...permits) as { permit_id: string; state: string }[];
  } finally {
    sdb.close();
  }
}

async function approvedWithdrawal(to: Hex, amount: bigint): Promise<string> {
  const r = await api('POST', '/api/v1/withdrawals', ivan.token, { walletId, to, amountWei: amount.toString() });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  const id = r.json['id'] as string;
  assert.equal((await api('POST', `/api/v1/withdrawals/${id}/approve`, paula.token)).json['state'], 'pending_approval');
  assert.equal((await api('POST', `/api/v1/withdrawals/${id}/approve`, quinn.token)).json['state'], 'approved');
  return id;
}

/** prepare-signing, checked; returns the digest the desktop computes itself and the nonce. */
async function prepared(id: string, to: Hex, amount: bigint): Promise<{ m32: Uint8Array; nonce: bigint }> {
  const prep = await api('POST', `/api/v1/withdrawals/${id}/prepare-signing`, alice.token);
  assert.equal(prep.status, 200, JSON.stringify(prep.json));
  const tx = txFromJson(prep.json['tx']);
  assert.ok(tx.type === 'eip1559');
  assert.equal(tx.to?.toLowerCase(), to.toLowerCase());
  assert.equal(tx.value, amount);
  const m32 = txDigest(tx);
  assert.equal(Buffer.from(m32).toString('hex'), prep.json['digest']);
  return { m32, nonce: tx.nonce };
}

const p2For = (m32: Uint8Array) => p2SignerFor(alice.device, signerIdentity, share, m32);

async function confirmed(id: string): Promise<Record<string, unknown>> {
  return until(`withdrawal ${id} to be mined`, async () => {
    const r = await api('GET', `/api/v1/withdrawals/${id}`, ivan.token);
    return r.json['state'] === 'confirmed' || r.json['state'] === 'failed' ? r.json : undefined;
  });
}

/** Every mined transaction sent from `from` with this nonce (anvil mines one block per transaction). */
async function minedWithNonce(from: Hex, nonce: number): Promise<Hex[]> {
  const head = await chain.getBlockNumber({ cacheTime: 0 });
  const found: Hex[] = [];
  for (let n = 0n; n <= head; n++) {
    const block = await chain.getBlock({ blockNumber: n, includeTransactions: true });
    for (const tx of block.transactions)
      if (tx.from.toLowerCase() === from.toLowerCase() && tx.nonce === nonce) found.push(tx.hash);
  }
  return found;
}

before(async () => {
  anvil = await startAnvil();
  chain = createPublicClient({ transport: http(anvil.rpcUrl) });
  const log = pino({ level: 'debug' }, pino.destination({ dest: join(root, 'signer.log'), sync: true, append: true }));
  signer = await startSigner(signerTestConfig(join(root, 'signer')), { log });
  signerIdentity = signer.ctx.identity.publicKey;
  port = await freePort();
  await startCoordinator();
  cdb = new CoordinatorDb(child.dataDir);

  admin = await cdb.user('admin', ['admin']);
  const a = await cdb.user('alice', ['signer']);
  ivan = await cdb.user('ivan', ['initiator']);
  paula = await cdb.user('paula', ['approver']);
  quinn = await cdb.user('quinn', ['approver']);
  const device = identityFromSeed(randomBytes(32));
  alice = { ...a, device };
  const enrolled = await api('POST', '/api/v1/devices', alice.token, {
    name: "alice's workstation",
    publicKey: Buffer.from(device.publicKey).toString('hex'),
  });
  assert.equal(enrolled.status, 201, JSON.stringify(enrolled.json));
  const deviceId = (enrolled.json['device'] as { id: string }).id;
  assert.equal((await api('POST', `/api/v1/devices/${deviceId}/approve`, admin.token)).status, 200);

  const w = await api('POST', '/api/v1/wallets', admin.token, { name: 'Crash', signerUserId: alice.id });
  assert.equal(w.status, 201, JSON.stringify(w.json));
  const wallet = w.json as { id: string; dkgWalletId: string };
  walletId = wallet.id;
  socket = await MpcSocket.open(child.wssUrl, alice.token, child.caCert);
  const rp = generateRingPedersen(nativeModPow()!, systemRng, FULL.nHatBits);
  share = (await dkgOverWss(socket, alice.device, signerIdentity, rp, wallet)).share;
  address = ethereumAddress(share.Q) as Hex;
  assert.equal((await api('POST', `/api/v1/wallets/${walletId}/share-stored`, alice.token, { address })).status, 200);
  const policy = await api('PUT', `/api/v1/wallets/${walletId}/policy`, admin.token, {
    perWithdrawalLimitWei: parseEther('2').toString(),
    dailyLimitWei: parseEther('10').toString(),
    whitelistOnly: false,
    quorum: 2,
  });
  assert.equal(policy.status, 200, JSON.stringify(policy.json));
  const funder = createWalletClient({
    account: privateKeyToAccount(ANVIL_FUNDER.privateKey),
    transport: http(anvil.rpcUrl),
  });
  const fund = await funder.sendTransaction({ to: address, value: parseEther('20'), chain: null });
  await chain.waitForTransactionReceipt({ hash: fund });
});

after(async () => {
  socket?.close();
  await child?.kill();
  await cdb?.close();
  await signer?.close();
  await anvil?.stop();
  rmSync(root, { recursive: true, force: true }); // the signer's KEK and shares
});

test('(a) killed after SIGN-2: back to approved (signing_aborted, RESTART) after the restart; signed again, mined with the exact amount', async () => {
  const to = ('0x' + randomBytes(20).toString('hex')) as Hex;
  const amount = parseEther('0.75');
  const id = await approvedWithdrawal(to, amount);
  const first = await prepared(id, to, amount);

  const s2 = await socket.request({
    type: 'sign_start',
    withdrawalId: id,
    envelope: envelopeToJson(p2For(first.m32).start().send!),
  });
  assert.equal(s2.type, 'sign_round', JSON.stringify(s2));
  assert.equal((await row(id)).state, 'signing');
  await crash();
  assert.equal((await row(id)).state, 'signing', 'nothing ran at the kill: the database still says signing');

  await restart();
  const back = await api('GET', `/api/v1/withdrawals/${id}`, ivan.token);
  assert.equal(back.json['state'], 'approved');
  const aborted = (await auditOf(id)).filter((e) => e.action === 'withdrawal.signing_aborted');
  assert.equal(aborted.length, 1);
  assert.equal(aborted[0]!.actor, 'coordinator');
  assert.deepEqual(aborted[0]!.details, { reason: 'RESTART' });

  // The old session is gone with the process: its next round finds nothing on the new connection.
  const old = await socket.request({ type: 'sign_round', sessionId: s2['sessionId'], envelope: '{}' });
  assert.equal(old.type, 'error');
  assert.equal(old['code'], 'NOT_FOUND');

  // Signed afresh: prepared again (fees read again) with the same nonce, so no gap; a new permit.
  const second = await prepared(id, to, amount);
  assert.equal(second.nonce, first.nonce, 'the nonce allocated before the crash is reused');
  const before = await chain.getBalance({ address: to });
  const { complete } = await signOverWss(socket, alice.device, signerIdentity, share, id, second.m32);
  const done = await confirmed(id);
  assert.equal(done['state'], 'confirmed');
  assert.equal(done['txHash'], complete['txHash']);
  const receipt = await chain.getTransactionReceipt({ hash: complete['txHash'] as Hex });
  assert.equal(receipt.status, 'success');
  assert.equal((await chain.getBalance({ address: to })) - before, amount);
  assert.deepEqual(await minedWithNonce(address, Number(first.nonce)), [complete['txHash']]);

  assert.deepEqual(
    (await auditOf(id)).map((e) => e.action),
    [
      'withdrawal.requested',
      'withdrawal.approved',
      'withdrawal.approved',
      'withdrawal.quorum_reached',
      'withdrawal.signing_started',
      'withdrawal.signing_aborted',
      'withdrawal.signing_started',
      'withdrawal.signed',
      'withdrawal.broadcast',
      'withdrawal.confirmed',
    ],
  );
  // Two permits (one per session); the signer completed only the second.
  const sessions = await signerSessions(id);
  assert.equal(sessions.length, 2);
  assert.equal(sessions.filter((x) => x.state === 'SIGNED').length, 1);
  assert.notEqual(sessions.find((x) => x.state !== 'SIGNED')?.state, 'SIGNED');
  assert.equal((await cdb.audit.verify()).ok, true);
});

test('(b) killed the moment sign_complete arrives: after the restart it is confirmed, one tx for its nonce, one signature', async (t) => {
  const to = ('0x' + randomBytes(20).toString('hex')) as Hex;
  const amount = parseEther('1.5');
  const id = await approvedWithdrawal(to, amount);
  const { m32, nonce } = await prepared(id, to, amount);
  const chainNonceBefore = await chain.getTransactionCount({ address, blockTag: 'pending' });
  assert.equal(BigInt(chainNonceBefore), nonce, 'nothing else in flight from the wallet');

  const killedAt = killOnFrame('sign_complete');
  const dropped = socket.closed();
  const { complete, signature } = await signOverWss(socket, alice.device, signerIdentity, share, id, m32);
  assert.ok(signature.r > 0n, 'the desktop got a valid signature');
  assert.deepEqual(killedAt(), complete);
  const txHash = complete['txHash'] as Hex;
  await child.kill();
  assert.equal(child.proc.signalCode, 'SIGKILL');
  await dropped;

  // What the kill left: the signed transaction is stored (it is committed before sign_complete is sent);
  // whether the broadcaster got it to the node first is a race, and either is fine.
  const left = await row(id);
  assert.ok(['signed', 'broadcast'].includes(left.state), `state at the kill: ${left.state}`);
  assert.equal(left.tx_hash, txHash);
  const known = await chain.getTransaction({ hash: txHash }).catch(() => undefined);
  t.diagnostic(`at the kill: withdrawal ${left.state}; the node ${known ? 'had' : 'had not seen'} the transaction`);

  await restart();
  const done = await confirmed(id);
  assert.equal(done['state'], 'confirmed');
  assert.equal(done['txHash'], txHash);
  assert.equal(done['nonce'], Number(nonce));
  assert.equal((await chain.getTransactionReceipt({ hash: txHash })).status, 'success');

  // The chain: exactly one transaction for this nonce, the nonce advanced by one, the amount paid once.
  assert.deepEqual(await minedWithNonce(address, Number(nonce)), [txHash]);
  assert.equal(await chain.getTransactionCount({ address, blockTag: 'latest' }), chainNonceBefore + 1);
  assert.equal(await chain.getTransactionCount({ address, blockTag: 'pending' }), chainNonceBefore + 1);
  assert.equal(await chain.getBalance({ address: to }), amount);

  // The coordinator: one signature recorded; one broadcast and one confirmation.
  const actions = (await auditOf(id)).map((e) => e.action);
  assert.equal(actions.filter((a) => a === 'withdrawal.signing_started').length, 1);
  assert.equal(actions.filter((a) => a === 'withdrawal.signed').length, 1);
  assert.equal(actions.filter((a) => a === 'withdrawal.broadcast').length, 1);
  assert.equal(actions.filter((a) => a === 'withdrawal.confirmed').length, 1);
  assert.equal(actions.filter((a) => a === 'withdrawal.signing_aborted').length, 0);
  // The restarted broadcaster resent the stored bytes; the node knew them iff the killed one had sent them.
  const sent = (await auditOf(id)).find((e) => e.action === 'withdrawal.broadcast')!;
  assert.equal(sent.details['txHash'], txHash);
  assert.equal(sent.details['alreadyKnown'], left.state === 'signed' && known !== undefined);
  assert.equal((await cdb.audit.verify()).ok, true);

  // The signer: one session for the one permit, SIGNED. No second signature.
  assert.deepEqual(
    (await signerSessions(id)).map((x) => x.state),
    ['SIGNED'],
  );

  // A prepare or a new session for it is refused: it is no longer approved.
  const again = await api('POST', `/api/v1/withdrawals/${id}/prepare-signing`, alice.token);
  assert.equal((again.json['error'] as { code: string }).code, 'INVALID_STATE');
  const restartAgain = await socket.request({
    type: 'sign_start',
    withdrawalId: id,
    envelope: envelopeToJson(p2For(m32).start().send!),
  });
  assert.equal(restartAgain['code'], 'INVALID_STATE');
});

test('(b2) killed the moment SIGN-6 goes ahead (sign_result), before or while it is stored: paid once, one signature', async (t) => {
  const to = ('0x' + randomBytes(20).toString('hex')) as Hex;
  const amount = parseEther('0.75');
  const id = await approvedWithdrawal(to, amount);
  const { m32, nonce } = await prepared(id, to, amount);
  const chainNonceBefore = await chain.getTransactionCount({ address, blockTag: 'pending' });

  const killedAt = killOnFrame('sign_result');
  const dropped = socket.closed();
  const outcome = await signOverWss(socket, alice.device, signerIdentity, share, id, m32).catch((e: Error) => e);
  assert.ok(killedAt(), 'sign_result came ahead of the reply');
  assert.ok(outcome instanceof Error, 'the desktop never got sign_complete');
  await child.kill();
  await dropped;
  const left = await row(id);
  assert.ok(['signing', 'signed', 'broadcast'].includes(left.state), `state at the kill: ${left.state}`);
  t.diagnostic(`at the kill: withdrawal ${left.state}`);

  await restart();
  // Stored before the kill, or recovered from the signer after it: either way paid once, signed once.
  const done = await confirmed(id);
  assert.equal(done['state'], 'confirmed');
  assert.equal(await chain.getBalance({ address: to }), amount);
  assert.deepEqual(await minedWithNonce(address, Number(nonce)), [done['txHash']]);
  assert.equal(await chain.getTransactionCount({ address, blockTag: 'pending' }), chainNonceBefore + 1);
  const actions = (await auditOf(id)).map((e) => e.action);
  for (const a of ['withdrawal.signing_started', 'withdrawal.signed', 'withdrawal.broadcast', 'withdrawal.confirmed'])
    assert.equal(actions.filter((x) => x === a).length, 1, a);
  assert.deepEqual(
    (await signerSessions(id)).map((x) => x.state),
    ['SIGNED'],
  );
  assert.equal((await cdb.audit.verify()).ok, true);
});

test('(c) killed after the signer finished but before the coordinator stored the signature: not signed a second time', async (t) => {
  // The coordinator reaches the signer through a relay that can keep the signer's answers back.
  const relay = await startHoldingRelay(signer.port);
  t.after(() => relay.close());
  socket.close();
  assert.equal(await child.stop(), 0, 'graceful stop');
  await restart(relay.port);

  const to = ('0x' + randomBytes(20).toString('hex')) as Hex;
  const amount = parseEther('0.5');
  const id = await approvedWithdrawal(to, amount);
  const first = await prepared(id, to, amount);
  const p2 = p2For(first.m32);
  const s2 = await socket.request({
    type: 'sign_start',
    withdrawalId: id,
    envelope: envelopeToJson(p2.start().send!),
  });
  const sign3 = (await p2.receive(parseEnvelope(String(s2['envelope'])))).send!;
  const s4 = await socket.request({
    type: 'sign_round',
    sessionId: s2['sessionId'],
    envelope: envelopeToJson(sign3),
  });
  const sign5 = (await p2.receive(parseEnvelope(String(s4['envelope'])))).send!;

  // SIGN-5 reaches the signer, which signs; its FinalizeSigning answer never reaches the coordinator.
  relay.hold();
  const lost = socket
    .request({ type: 'sign_round', sessionId: s2['sessionId'], envelope: envelopeToJson(sign5) })
    .catch((e: Error) => e);
  await until('the signer to finish the signing', async () =>
    (await signerSessions(id)).some((x) => x.state === 'SIGNED') ? true : undefined,
  );
  await crash();
  assert.ok((await lost) instanceof Error, 'the desktop never got SIGN-6');
  assert.equal((await row(id)).state, 'signing', 'the coordinator had not stored a signature');

  await restart();
  // The signature the signer made is recovered and sent; nothing is signed again.
  await confirmed(id);
  const w = await row(id);
  assert.equal(w.state, 'confirmed');
  const signed = (await signerSessions(id)).filter((x) => x.state === 'SIGNED');
  assert.equal(signed.length, 1, 'the signer signed this withdrawal (same nonce) twice');
});

/** The admin CLI on the coordinator's data directory, with a clean environment. */
async function adminCli(args: string[]): Promise<{ code: number; err: string }> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TANDEM_')) env[k] = v;
  env.TANDEM_COORDINATOR_DATA_DIR = child.dataDir;
  const err: string[] = [];
  const code = await runAdmin(args, env, () => undefined, {
    err: (s) => void err.push(s),
  });
  return { code, err: err.join('') };
}

test('(d) restored from a backup older than a payment: found on chain, never signed or paid again', async () => {
  const to = ('0x' + randomBytes(20).toString('hex')) as Hex;
  const amount = parseEther('0.25');
  const id = await approvedWithdrawal(to, amount);
  const backup = join(root, 'backup-before-payment');
  const b = await adminCli(['backup', '--out', backup]);
  assert.equal(b.code, 0, b.err);

  const first = await prepared(id, to, amount);
  const before = await chain.getBalance({ address: to });
  const { complete } = await signOverWss(socket, alice.device, signerIdentity, share, id, first.m32);
  const paid = await confirmed(id);
  assert.equal(paid['state'], 'confirmed');
  assert.match(String(paid['rawTransaction']), /^0x02/);

  // The operator restores the older backup: the payment is not in it.
  await crash();
  await cdb.close();
  const r = await adminCli(['restore', '--from', backup, '--force']);
  assert.equal(r.code, 0, r.err);
  cdb = new CoordinatorDb(child.dataDir);
  assert.equal((await row(id)).state, 'approved', 'the restored database has lost the payment');

  await restart();
  // Whatever the follower has seen so far, no new transaction is made for it.
  const again = await api('POST', `/api/v1/withdrawals/${id}/prepare-signing`, alice.token);
  assert.equal(again.status, 409, JSON.stringify(again.json));
  const code = (again.json['error'] as { code: string }).code;
  assert.ok(['WALLET_OUT_OF_SYNC', 'INVALID_STATE'].includes(code), code);

  const found = await confirmed(id);
  assert.equal(found['state'], 'confirmed');
  assert.equal(found['txHash'], complete['txHash'], 'the transaction that was mined');
  assert.equal(found['rawTransaction'], paid['rawTransaction'], 'and its signed bytes, as the chain has them');
  assert.equal((await chain.getBalance({ address: to })) - before, amount, 'paid once');
  assert.deepEqual(await minedWithNonce(address, Number(first.nonce)), [complete['txHash']]);
  assert.ok((await auditOf(id)).some((e) => e.action === 'withdrawal.found_on_chain'));
  assert.equal((await cdb.audit.verify()).ok, true);

  // The wallet carries on: its next withdrawal takes the next nonce and is mined.
  const to2 = ('0x' + randomBytes(20).toString('hex')) as Hex;
  const id2 = await approvedWithdrawal(to2, amount);
  const next = await prepared(id2, to2, amount);
  assert.equal(next.nonce, first.nonce + 1n);
  await signOverWss(socket, alice.device, signerIdentity, share, id2, next.m32);
  assert.equal((await confirmed(id2))['state'], 'confirmed');
  assert.equal(await chain.getBalance({ address: to2 }), amount);
});
