// The desktop's main-process logic through its one edge (dispatch), against a real coordinator, signer daemon and
// anvil, with the P2 worker in worker_threads and the vault in the real (headless) keychain: the channel table's
// checks, then a whole treasury day: users, enrolment, a wallet, a deposit, a withdrawal approved and signed and
// mined, a backup restored on a second workstation and the wallet moved there by an admin, and the idle lock.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseEther } from 'viem';
import {
  CHANNELS,
  type Channel,
  type Reply,
  type RequestOf,
  type ResponseOf,
  type UiEvent,
} from '../src/main/channels.ts';
import { type DesktopApp } from '../src/main/app.ts';
import { until } from '@tandem/coordinator/test/until.ts';
import { fund, newApp, startStack, type Stack } from './appHarness.ts';

const ORIGIN = 'app://tandem';
const SENDER = { url: `${ORIGIN}/index.html`, topFrame: true };
const PASSWORD = 'correct horse battery staple';
/** Coordinator passwords that pass its policy (never containing the username). */
const pw = (user: string) => `Tr3asury-${[...user].reverse().join('')}-pw`;

let s: Stack;
let admin: { password: string };
const apps: DesktopApp[] = [];

before(async () => {
  s = await startStack();
  const a = await s.user('root', ['admin']);
  admin = { password: a.password };
});
after(async () => {
  for (const a of apps) await a.close();
  await s?.close();
});

async function app(extra = {}) {
  const a = await newApp(s, ORIGIN, extra);
  apps.push(a);
  const events: UiEvent[] = [];
  a.onEvent((e) => events.push(e));
  return { a, events };
}

async function call<C extends Channel>(a: DesktopApp, channel: C, request: RequestOf<C>): Promise<ResponseOf<C>> {
  const r = (await a.dispatch(channel, request, SENDER)) as Reply<C>;
  if (!r.ok) throw Object.assign(new Error(`${channel}: ${r.error.code} ${r.error.message}`), { ui: r.error });
  return r.value;
}
const code = async (p: Promise<unknown>) =>
  p.then(
    () => 'OK',
    (e: { ui?: { code: string } }) => e.ui?.code ?? String(e),
  );

test('the edge: a foreign sender, a subframe, an unknown channel, a malformed request, no sign-in', async () => {
  const { a } = await app();
  const bad = async (channel: unknown, request: unknown, sender = SENDER) => {
    const r = await a.dispatch(channel, request, sender);
    assert.equal(r.ok, false);
    return (r as { error: { code: string; message: string } }).error;
  };
  assert.equal((await bad('app.state', {}, { url: 'https://evil.example/', topFrame: true })).code, 'FORBIDDEN_SENDER');
  assert.equal((await bad('app.state', {}, { url: 'app://tandem.evil/', topFrame: true })).code, 'FORBIDDEN_SENDER');
  assert.equal((await bad('app.state', {}, { url: `${ORIGIN}/x`, topFrame: false })).code, 'FORBIDDEN_SENDER');
  assert.equal((await bad('app.state', {}, { url: '', topFrame: true })).code, 'FORBIDDEN_SENDER');
  assert.equal((await bad('shell.exec', {}, SENDER)).code, 'UNKNOWN_CHANNEL');
  assert.equal((await bad('__proto__', {}, SENDER)).code, 'UNKNOWN_CHANNEL');
  assert.equal((await bad('toString', {}, SENDER)).code, 'UNKNOWN_CHANNEL');
  // Every channel refuses an unexpected key; the error never echoes a value.
  for (const ch of CHANNELS) {
    const e = await bad(ch, { hunter2secret: 'hunter2secret' });
    assert.equal(e.code, 'BAD_REQUEST', ch);
    assert.doesNotMatch(e.message, /hunter2secret/);
  }
  const e = await bad('session.signIn', { username: 'root', password: 42 });
  assert.equal(e.code, 'BAD_REQUEST');
  assert.equal((e as { field?: string }).field, 'password');
  assert.equal((await bad('withdrawals.request', { walletId: 'w', to: '0x12', amountWei: '1' })).code, 'BAD_REQUEST');
  assert.equal(
    (await bad('withdrawals.request', { walletId: 'w', to: `0x${'1'.repeat(40)}`, amountWei: '-1' })).code,
    'BAD_REQUEST',
  );
  // Past the edge, everything but the public channels needs a sign-in.
  assert.equal((await bad('wallets.list', {})).code, 'UNAUTHENTICATED');
  assert.equal((await a.dispatch('app.state', {}, SENDER)).ok, true);
});

test('sign-in: a wrong password is LOGIN_FAILED and never echoed; sign-out and lock clear the session', async () => {
  const { a, events } = await app();
  const r = await a.dispatch('session.signIn', { username: 'root', password: 'not-the-password-1' }, SENDER);
  assert.equal(r.ok, false);
  assert.equal((r as { error: { code: string } }).error.code, 'LOGIN_FAILED');
  assert.doesNotMatch(JSON.stringify(r), /not-the-password-1/);
  const st = await call(a, 'session.signIn', { username: 'root', password: admin.password });
  assert.equal(st.user?.username, 'root');
  assert.deepEqual(st.user?.roles, ['admin']);
  assert.ok(events.some((e) => e.event === 'state' && e.state.user?.username === 'root'));
  const locked = await call(a, 'session.lock', {});
  assert.equal(locked.user, null);
  assert.equal(locked.lockedFor, 'root');
  assert.equal(await code(call(a, 'wallets.list', {})), 'UNAUTHENTICATED');
  // Only the locked user may unlock.
  assert.equal(await code(call(a, 'session.signIn', { username: 'someone', password: 'whatever-password' })), 'LOCKED');
  assert.equal((await call(a, 'session.signIn', { username: 'root', password: admin.password })).lockedFor, null);
  assert.equal((await call(a, 'session.signOut', {})).user, null);
  // No token, password or seed ever reached an event.
  assert.doesNotMatch(JSON.stringify(events), new RegExp(admin.password));
});

test('the idle lock signs the user out and keeps the username for the lock screen', async () => {
  let now = Date.now();
  const { a, events } = await app({ now: () => now, idleCheckMs: 50 });
  await call(a, 'session.signIn', { username: 'root', password: admin.password });
  now += 16 * 60_000; // past the default 15 minutes
  const st = await until(
    'the idle lock',
    () => events.find((e) => e.event === 'state' && e.state.lockedFor === 'root'),
    5_000,
    20,
  );
  assert.equal(st.event === 'state' && st.state.user, null);
});

test('a treasury day: enrol, approve, wallet, deposit, withdrawal signed and mined; backup restored on a laptop, wallet moved there, signed there', async () => {
  const admin1 = await app();
  await call(admin1.a, 'session.signIn', { username: 'root', password: admin.password });
  const mk = (username: string, roles: Array<'admin' | 'initiator' | 'approver' | 'signer'>) =>
    call(admin1.a, 'users.create', { username, password: pw(username), roles });
  const alice = (await mk('alice', ['signer'])).user;
  await mk('ivan', ['initiator']);
  await mk('paula', ['approver']);
  await mk('quinn', ['approver']);

  // Alice's workstation: enrolment runs the one-time setup in the background, with progress.
  const desk = await app();
  await call(desk.a, 'session.signIn', { username: 'alice', password: pw('alice') });
  const enrolled = await call(desk.a, 'device.enroll', { deviceName: 'Alice desk 1', password: PASSWORD });
  assert.equal(enrolled.device.status, 'setting_up');
  const device = enrolled.device;
  assert.match(device.publicKey ?? '', /^[0-9a-f]{64}$/);
  await until(
    'the setup',
    () => desk.events.find((e) => e.event === 'state' && e.state.device.status === 'PENDING'),
    120_000,
  );
  assert.ok(desk.events.some((e) => e.event === 'progress' && e.job === 'setup' && e.step === 'done'));
  assert.equal(
    await code(call(desk.a, 'wallets.generateKey', { walletId: 'x', password: PASSWORD })),
    'WALLET_NOT_FOUND',
  );

  // The admin compares the key and approves the workstation; creates a wallet for Alice and its policy.
  const listed = (await call(admin1.a, 'devices.list', {})).devices.find((d) => d.id === device.id)!;
  assert.equal(listed.publicKey, device.publicKey);
  await call(admin1.a, 'devices.approve', { deviceId: device.id! });
  const { wallet } = await call(admin1.a, 'wallets.create', { name: 'Operations', signerUserId: alice.id });
  await call(admin1.a, 'policy.set', {
    walletId: wallet.id,
    perWithdrawalLimitWei: parseEther('5').toString(),
    dailyLimitWei: parseEther('10').toString(),
    whitelistOnly: false,
    quorum: 2,
  });

  // Alice generates the key: a wrong password first (nothing starts), then hers.
  assert.equal((await call(desk.a, 'session.signOut', {})).user, null);
  await call(desk.a, 'session.signIn', { username: 'alice', password: pw('alice') });
  assert.equal((await call(desk.a, 'app.state', {})).device.status, 'APPROVED');
  assert.equal(
    await code(call(desk.a, 'wallets.generateKey', { walletId: wallet.id, password: 'wrong password here' })),
    'WRONG_PASSWORD',
  );
  const key = await call(desk.a, 'wallets.generateKey', { walletId: wallet.id, password: PASSWORD });
  assert.match(key.address, /^0x[0-9a-fA-F]{40}$/);
  const steps = desk.events
    .filter((e) => e.event === 'progress' && e.job === 'dkg')
    .map((e) => (e as { step: string }).step);
  assert.equal(steps.at(-1), 'done');
  const mine = (await call(desk.a, 'wallets.list', {})).wallets.find((w) => w.id === wallet.id)!;
  assert.deepEqual([mine.status, mine.address, mine.hasShare], ['ACTIVE', key.address, true]);

  // A deposit shows with its confirmations and the balance.
  await fund(s, key.address, parseEther('3'));
  const dep = await until('the deposit', async () => {
    const d = await call(desk.a, 'wallets.deposits', { walletId: wallet.id });
    return d.deposits.length ? d : undefined;
  });
  assert.equal(dep.balanceWei, parseEther('3').toString());

  // Ivan requests, Paula and Quinn approve (Alice is told it awaits her signature).
  const ivan = await app();
  await call(ivan.a, 'session.signIn', { username: 'ivan', password: pw('ivan') });
  const to = '0x000000000000000000000000000000000000dEaD';
  const { withdrawal } = await call(ivan.a, 'withdrawals.request', {
    walletId: wallet.id,
    to,
    amountWei: parseEther('1.25').toString(),
  });
  for (const who of ['paula', 'quinn']) {
    const ap = await app();
    await call(ap.a, 'session.signIn', { username: who, password: pw(who) });
    await call(ap.a, 'withdrawals.approve', { withdrawalId: withdrawal.id });
  }
  await until('the signature request', () =>
    desk.events.find((e) => e.event === 'notification' && e.kind === 'signature_needed' && e.subject === withdrawal.id),
  );

  // Review: what this desktop decoded and hashed itself.
  assert.equal(
    await code(call(desk.a, 'withdrawals.sign', { withdrawalId: withdrawal.id, password: PASSWORD })),
    'REVIEW_FIRST',
  );
  const review = await call(desk.a, 'withdrawals.review', { withdrawalId: withdrawal.id });
  assert.equal(review.to.toLowerCase(), to.toLowerCase());
  assert.equal(review.toName, null, 'not in the address book: the screen warns');
  assert.equal(review.valueWei, parseEther('1.25').toString());
  assert.equal(review.chainId, 31337);
  assert.match(review.digest, /^0x[0-9a-f]{64}$/);
  assert.equal(
    await code(call(desk.a, 'withdrawals.sign', { withdrawalId: withdrawal.id, password: 'wrong password again' })),
    'WRONG_PASSWORD',
  );
  const signed = await call(desk.a, 'withdrawals.sign', { withdrawalId: withdrawal.id, password: PASSWORD });
  assert.match(signed.txHash, /^0x[0-9a-f]{64}$/);
  const done = await until('confirmation', async () => {
    const w = (await call(ivan.a, 'withdrawals.list', {})).withdrawals.find((x) => x.id === withdrawal.id)!;
    return w.state === 'confirmed' ? w : undefined;
  });
  assert.equal(done.txHash, signed.txHash);
  await until('the confirmation notice', () =>
    ivan.events.find(
      (e) => e.event === 'notification' && e.kind === 'withdrawal_confirmed' && e.subject === withdrawal.id,
    ),
  );

  // Backup, then restore on Alice's laptop: another profile, so another identity key, which the signer does not
  // accept for this wallet until an admin approves moving the wallet there.
  const backup = await call(desk.a, 'wallets.exportBackup', {
    walletId: wallet.id,
    password: PASSWORD,
    backupPassword: 'backup password 2026',
  });
  assert.match(backup.fileName, /^tandem-backup-Operations-/);
  const parsed = JSON.parse(backup.file) as Record<string, unknown>;
  assert.equal(parsed['walletId'], wallet.id);
  const LAPTOP = 'laptop password 2026';
  const restore = (a: DesktopApp, backupPassword: string, password = LAPTOP) =>
    call(a, 'wallets.restoreBackup', { walletId: wallet.id, file: backup.file, backupPassword, password });
  const second = await app();
  await call(second.a, 'session.signIn', { username: 'alice', password: pw('alice') });
  assert.equal(await code(restore(second.a, 'backup password 2026')), 'DEVICE_NOT_ENROLLED');
  const laptop = (await call(second.a, 'device.enroll', { deviceName: 'Alice laptop', password: LAPTOP })).device;
  await until(
    'the laptop setup',
    () => second.events.find((e) => e.event === 'state' && e.state.device.status === 'PENDING'),
    120_000,
  );
  await call(admin1.a, 'devices.approve', { deviceId: laptop.id! });
  await until('the laptop approval', async () =>
    (await call(second.a, 'app.state', {})).device.status === 'APPROVED' ? true : undefined,
  );
  assert.equal(await code(restore(second.a, 'not the backup pw')), 'WRONG_PASSWORD');
  assert.equal(await code(restore(second.a, 'backup password 2026', 'not the laptop pw')), 'WRONG_PASSWORD');
  const restored = (await restore(second.a, 'backup password 2026')).wallet;
  assert.deepEqual([restored.hasShare, restored.onThisWorkstation], [true, false]);
  assert.equal(await code(restore(second.a, 'backup password 2026')), 'SHARE_EXISTS');

  // A second withdrawal: the laptop may not sign it yet (the desk still may).
  const { withdrawal: w2 } = await call(ivan.a, 'withdrawals.request', {
    walletId: wallet.id,
    to,
    amountWei: parseEther('0.5').toString(),
  });
  for (const who of ['paula', 'quinn']) {
    const ap = await app();
    await call(ap.a, 'session.signIn', { username: who, password: pw(who) });
    await call(ap.a, 'withdrawals.approve', { withdrawalId: w2.id });
  }
  await call(second.a, 'withdrawals.review', { withdrawalId: w2.id });
  assert.equal(
    await code(call(second.a, 'withdrawals.sign', { withdrawalId: w2.id, password: LAPTOP })),
    'WALLET_ON_OTHER_WORKSTATION',
  );

  // Alice asks to move the wallet to the laptop; the admin is told, and approves; the signer now accepts the laptop.
  const asked = (await call(second.a, 'wallets.requestMove', { walletId: wallet.id })).wallet;
  assert.equal(asked.pendingMove?.toDeviceId, laptop.id);
  assert.equal(await code(call(second.a, 'wallets.requestMove', { walletId: wallet.id })), 'CONFLICT');
  await until('the move notice', () =>
    admin1.events.find(
      (e) => e.event === 'notification' && e.kind === 'wallet_move_approval_needed' && e.subject === wallet.id,
    ),
  );
  const moved = (await call(admin1.a, 'wallets.approveMove', { walletId: wallet.id })).wallet;
  assert.deepEqual([moved.deviceId, moved.pendingMove], [laptop.id, null]);
  const onLaptop = (await call(second.a, 'wallets.list', {})).wallets.find((w) => w.id === wallet.id)!;
  const onDesk = (await call(desk.a, 'wallets.list', {})).wallets.find((w) => w.id === wallet.id)!;
  assert.deepEqual([onLaptop.onThisWorkstation, onDesk.onThisWorkstation], [true, false]);
  await call(desk.a, 'withdrawals.review', { withdrawalId: w2.id });
  assert.equal(
    await code(call(desk.a, 'withdrawals.sign', { withdrawalId: w2.id, password: PASSWORD })),
    'WALLET_ON_OTHER_WORKSTATION',
  );
  // The laptop signs with its own password (the restored share was sealed under it) and the withdrawal is mined.
  await call(second.a, 'withdrawals.review', { withdrawalId: w2.id });
  const signed2 = await call(second.a, 'withdrawals.sign', { withdrawalId: w2.id, password: LAPTOP });
  await until('the second confirmation', async () => {
    const w = (await call(ivan.a, 'withdrawals.list', {})).withdrawals.find((x) => x.id === w2.id)!;
    return w.state === 'confirmed' && w.txHash === signed2.txHash ? w : undefined;
  });

  // Alice's own history shows what she did.
  const activity = (await call(desk.a, 'activity.list', {})).entries.map((e) => e.action);
  assert.ok(activity.includes('withdrawal.signing_started'), activity.join(','));

  // Nothing secret in any event any app emitted.
  for (const x of [admin1, desk, ivan, second])
    assert.doesNotMatch(JSON.stringify(x.events), /correct horse|backup password 2026|laptop password|Tr3asury/);
});
