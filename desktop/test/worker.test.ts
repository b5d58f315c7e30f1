// The P2 worker against a real stack (anvil, the bank signer, the coordinator; coordinator/test/stack.ts) and a real
// keychain (run under scripts/with-keyring.sh): every job goes through startP2Job, i.e. a real worker_thread that
// opens a real Vault in a temp directory. The device is set up, a wallet's key is generated and the wallet becomes
// ACTIVE, a withdrawal is signed and mined for the exact amount; a wrong password and a display mismatch never start
// a session (no permit, still approved); the bank signer stopping mid-sign surfaces SIGNER_UNAVAILABLE and the
// withdrawal returns to approved. Progress arrives in order, and no message the worker sends carries a secret.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createWalletClient, http, parseEther, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { type Identity } from '@tandem/tecdsa/envelope';
import { parseP2Share } from '@tandem/tecdsa/shares';
import { ethereumAddress } from '@tandem/tecdsa/address';
import { startStack, type Stack } from '@tandem/coordinator/test/stack.ts';
import { ANVIL_FUNDER } from '@tandem/coordinator/src/chain/anvil.ts';
import { Vault } from '../src/vault/vault.ts';
import { P2Error } from '../src/p2/errors.ts';
import { type P2Step } from '../src/p2/progress.ts';
import { reviewWithdrawal } from '../src/p2/review.ts';
import { type P2JobInput, startP2Job } from '../src/worker/client.ts';

const PASSWORD = 'Treasury worker · correct horse 2026';
const WRONG_PASSWORD = 'not the treasury password';
const CHAIN_ID = 31337;

let s: Stack;
let alice: { id: string; token: string; device: Identity };
let ivan: { id: string; token: string };
let paula: { id: string; token: string };
let quinn: { id: string; token: string };
let root: string;
let vaultLoc: { dir: string; profileId: string };
let wallet: { id: string; dkgWalletId: string; address: string };
/** Every raw message any worker posted, for the secrets scan. */
const seen: unknown[] = [];
/** Every error a job rejected with, as main receives it. */
const errors: P2Error[] = [];

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

before(async () => {
  s = await startStack();
  alice = await s.signerUser('alice');
  ivan = await s.user('ivan', ['initiator']);
  paula = await s.user('paula', ['approver']);
  quinn = await s.user('quinn', ['approver']);
  root = await mkdtemp(path.join(tmpdir(), 'tandem-worker-'));
  vaultLoc = { dir: path.join(root, 'vault'), profileId: `worker-test-${randomBytes(4).toString('hex')}` };
});
after(async () => {
  await s?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** What every coordinator job carries besides its own fields. */
const session = () => ({
  vault: vaultLoc,
  coordinator: { url: `https://localhost:${s.coordinator.port}`, token: alice.token, caFile: s.caCert },
  // A copy: the worker receives its own clone anyway, and main keeps (and would wipe) this one.
  device: { identitySeed: Uint8Array.from(alice.device.secretKey), signerPublicKey: hex(s.signerIdentity) },
});

/** Runs a job through a real worker thread, recording its progress and every message it posts. */
async function run<J extends P2JobInput>(job: J, onStep?: (step: P2Step) => void) {
  const steps: P2Step[] = [];
  try {
    const result = await startP2Job(job, {
      onProgress: (p) => {
        steps.push(p.step);
        onStep?.(p.step);
      },
      onMessage: (m) => seen.push(m),
    });
    return { result, steps };
  } catch (e) {
    if (e instanceof P2Error) errors.push(e);
    throw Object.assign(e as Error, { steps });
  }
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<P2Error & { steps: P2Step[] }> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof P2Error, `expected a P2Error ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e as P2Error & { steps: P2Step[] };
  }
  return assert.fail(`expected ${code}, but the job succeeded`);
}

const withdrawal = async (id: string) => (await s.api('GET', `/api/v1/withdrawals/${id}`, alice.token)).json;
const permits = async (id: string) =>
  (await s.coordinator.ctx.store.get<{ n: number }>('SELECT COUNT(*) AS n FROM permits WHERE withdrawal_id = ?', id))!
    .n;

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A withdrawal requested, approved by two approvers and prepared; what the review screen would be fed. */
async function preparedWithdrawal(amount: bigint) {
  const to = ('0x' + randomBytes(20).toString('hex')) as Hex;
  const req = await s.api('POST', '/api/v1/withdrawals', ivan.token, {
    walletId: wallet.id,
    to,
    amountWei: amount.toString(),
  });
  assert.equal(req.status, 201, JSON.stringify(req.json));
  const id = req.json['id'] as string;
  await s.api('POST', `/api/v1/withdrawals/${id}/approve`, paula.token);
  assert.equal((await s.api('POST', `/api/v1/withdrawals/${id}/approve`, quinn.token)).json['state'], 'approved');
  const prep = await s.api('POST', `/api/v1/withdrawals/${id}/prepare-signing`, alice.token);
  assert.equal(prep.status, 200, JSON.stringify(prep.json));
  const w = prep.json['withdrawal'] as { to: string; amountWei: string };
  return {
    id,
    to,
    approved: { to: w.to, amountWei: w.amountWei, chainId: CHAIN_ID },
    prepared: { tx: prep.json['tx'], digest: prep.json['digest'] as string },
  };
}

const signJob = (p: Awaited<ReturnType<typeof preparedWithdrawal>>, password = PASSWORD) =>
  ({
    job: 'sign',
    ...session(),
    password,
    wallet,
    withdrawalId: p.id,
    approved: p.approved,
    prepared: p.prepared,
  }) as const;

test('the device setup runs in the worker and is stored in the vault', async () => {
  const { result, steps } = await run({ job: 'setup', vault: vaultLoc, password: PASSWORD });
  assert.deepEqual(result, { stored: true });
  assert.deepEqual(steps, ['generating the device setup', 'storing the device setup', 'done']);
  assert.equal(await new Vault(vaultLoc.dir, vaultLoc.profileId).hasSetup(), true);
});

test('(a) a DKG job stores the share in the vault and the wallet becomes ACTIVE at the same address', async () => {
  const created = await s.api('POST', '/api/v1/wallets', s.admin.token, { name: 'Treasury', signerUserId: alice.id });
  const w = created.json as { id: string; dkgWalletId: string; status: string };
  assert.notEqual(w.status, 'ACTIVE');
  const { result, steps } = await run({
    job: 'dkg',
    ...session(),
    password: PASSWORD,
    wallet: { id: w.id, dkgWalletId: w.dkgWalletId },
  });

  // (f) in order, each once.
  assert.deepEqual(steps, [
    'unlocking the device setup',
    'connecting',
    'round 1 of 3',
    'round 2 of 3',
    'round 3 of 3',
    'waiting for the bank signer',
    'storing the key share',
    'confirming with the coordinator',
    'done',
  ]);
  const view = (await s.api('GET', `/api/v1/wallets/${w.id}`, alice.token)).json;
  assert.equal(view['status'], 'ACTIVE');
  assert.equal(view['address'], result.address);
  assert.equal(result.walletId, w.id);
  assert.equal(view['publicKey'], result.publicKey);
  // The vault holds the share, and it gives that address.
  const vault = new Vault(vaultLoc.dir, vaultLoc.profileId);
  assert.deepEqual(await vault.listShares(), [w.id]);
  const blob = await vault.openShare(w.id, w.dkgWalletId, PASSWORD);
  assert.equal(ethereumAddress(parseP2Share(blob).Q), result.address);
  blob.fill(0);
  wallet = { id: w.id, dkgWalletId: w.dkgWalletId, address: result.address };

  // Fund it, with a policy that lets a single withdrawal through after two approvals.
  const policy = await s.api('PUT', `/api/v1/wallets/${w.id}/policy`, s.admin.token, {
    perWithdrawalLimitWei: parseEther('5').toString(),
    dailyLimitWei: parseEther('20').toString(),
    whitelistOnly: false,
    quorum: 2,
  });
  assert.equal(policy.status, 200, JSON.stringify(policy.json));
  const funder = createWalletClient({
    account: privateKeyToAccount(ANVIL_FUNDER.privateKey),
    transport: http(s.anvil.rpcUrl),
  });
  await funder.sendTransaction({ to: result.address as Hex, value: parseEther('10'), chain: null });
  await until('the deposit', async () => {
    const r = await s.api('GET', `/api/v1/wallets/${w.id}/deposits`, alice.token);
    return r.json['balanceWei'] === parseEther('10').toString() ? true : undefined;
  });
});

test('(b) a signing job with the right password signs; the withdrawal is mined for the exact amount', async () => {
  const amount = parseEther('1.25');
  const p = await preparedWithdrawal(amount);
  // What main shows on the review screen, computed by the desktop itself.
  const review = reviewWithdrawal(p.approved, p.prepared, CHAIN_ID);
  assert.equal(review.to.toLowerCase(), p.to.toLowerCase());
  assert.equal(review.valueWei, amount);
  assert.equal(review.chainId, BigInt(CHAIN_ID));
  assert.equal(review.digestHex, `0x${p.prepared.digest}`);

  const before = await s.coordinator.ctx.chain.balance(p.to);
  const { result, steps } = await run(signJob(p));
  assert.deepEqual(steps, [
    'checking the transaction',
    'unlocking the key share',
    'connecting',
    'round 1 of 3',
    'round 2 of 3',
    'round 3 of 3',
    'waiting for the bank signer',
    'done',
  ]);
  assert.match(result.txHash, /^0x[0-9a-f]{64}$/);
  assert.equal(result.withdrawalId, p.id);
  const done = await until('confirmation', async () => {
    const w = await withdrawal(p.id);
    return w['state'] === 'confirmed' || w['state'] === 'failed' ? w : undefined;
  });
  assert.equal(done['state'], 'confirmed');
  assert.equal(done['txHash'], result.txHash);
  assert.equal((await s.coordinator.ctx.chain.receipt(result.txHash))?.status, 'success');
  assert.equal((await s.coordinator.ctx.chain.balance(p.to)) - before, amount);
  assert.equal(await permits(p.id), 1);
});

test('(c) a wrong password is WRONG_PASSWORD and no signing session starts', async () => {
  const p = await preparedWithdrawal(parseEther('0.1'));
  const e = await rejectsWith(run(signJob(p, WRONG_PASSWORD)), 'WRONG_PASSWORD');
  assert.equal(e.source, 'vault');
  assert.deepEqual(e.steps, ['checking the transaction', 'unlocking the key share']);
  // No sign_start reached the coordinator: no permit, no audit entry, still approved.
  assert.equal((await withdrawal(p.id))['state'], 'approved');
  assert.equal(await permits(p.id), 0);
  const actions = (await s.coordinator.ctx.audit.entries()).filter((x) => x.subject === p.id).map((x) => x.action);
  assert.ok(!actions.includes('withdrawal.signing_started'), actions.join());
  // The right password then signs it.
  const { result } = await run(signJob(p));
  assert.match(result.txHash, /^0x[0-9a-f]{64}$/);
});

test('(d) DISPLAY_MISMATCH when what the desktop shows differs from the prepared tx; signing never starts', async () => {
  const p = await preparedWithdrawal(parseEther('0.2'));
  const shown = { ...p.approved, amountWei: parseEther('0.3').toString() };
  assert.throws(
    () => reviewWithdrawal(shown, p.prepared, CHAIN_ID),
    (e: P2Error) => e.code === 'DISPLAY_MISMATCH' && e.field === 'value',
  );
  // The worker reviews again before it unlocks anything.
  const e = await rejectsWith(run({ ...signJob(p), approved: shown }), 'DISPLAY_MISMATCH');
  assert.equal(e.field, 'value');
  assert.deepEqual(e.steps, ['checking the transaction']);
  // A prepared tx altered on its way (recipient, nonce) with the coordinator's digest left as it was.
  const tx = p.prepared.tx as Record<string, unknown>;
  const other = ('0x' + randomBytes(20).toString('hex')) as Hex;
  const toSwapped = { ...p.prepared, tx: { ...tx, to: other } };
  const e2 = await rejectsWith(run({ ...signJob(p), prepared: toSwapped }), 'DISPLAY_MISMATCH');
  assert.equal(e2.field, 'to');
  const nonceMoved = { ...p.prepared, tx: { ...tx, nonce: String(BigInt(tx['nonce'] as string) + 1n) } };
  const e3 = await rejectsWith(run({ ...signJob(p), prepared: nonceMoved }), 'DISPLAY_MISMATCH');
  assert.equal(e3.field, 'digest');
  assert.equal((await withdrawal(p.id))['state'], 'approved');
  assert.equal(await permits(p.id), 0);
});

test('(e) the bank signer stopping mid-sign: SIGNER_UNAVAILABLE, and the withdrawal is back to approved', async () => {
  const p = await preparedWithdrawal(parseEther('0.1'));
  const signerDir = s.signer.ctx.db.name.replace(/\/signer\.db$/, '');
  const port = s.signer.port;
  let stopped: Promise<void> | undefined;
  // SIGN-1 went through (a permit was issued, the withdrawal is 'signing'); the signer goes away before SIGN-3.
  const e = await rejectsWith(
    run(signJob(p), (step) => {
      if (step === 'round 2 of 3') stopped = s.signer.close();
    }),
    'SIGNER_UNAVAILABLE',
  );
  assert.equal(e.source, 'coordinator');
  assert.ok(e.steps.includes('round 2 of 3'));
  assert.ok(!e.steps.includes('done'));
  await stopped;
  assert.equal(await permits(p.id), 1);
  assert.equal((await withdrawal(p.id))['state'], 'approved');

  // Back on the same port with the same data: the same withdrawal signs.
  const { startSigner } = await import('@tandem/signer-daemon/src/daemon.ts');
  const { testConfig } = await import('@tandem/signer-daemon/test/harness.ts');
  s.signer = await startSigner(
    testConfig(signerDir, (c) => (c.port = port)),
    { log: s.coordinator.ctx.log.child({ service: 'signer' }) },
  );
  const { result } = await run(signJob(p));
  assert.match(result.txHash, /^0x[0-9a-f]{64}$/);
});

test('(g) no message or error from the worker carries the password, the identity seed or a share', async () => {
  assert.ok(seen.length > 30, `only ${seen.length} messages captured`);
  const vault = new Vault(vaultLoc.dir, vaultLoc.profileId);
  const share = await vault.openShare(wallet.id, wallet.dkgWalletId, PASSWORD);
  const setup = await vault.openSetup(PASSWORD);
  const x2 = parseP2Share(share).x2;
  const secrets = [
    PASSWORD,
    WRONG_PASSWORD,
    hex(alice.device.secretKey),
    Buffer.from(alice.device.secretKey).toString('base64'),
    hex(share),
    Buffer.from(share).toString('base64'),
    hex(share.subarray(0, 64)),
    hex(setup.subarray(0, 64)),
    x2.toString(16),
    x2.toString(),
  ];
  share.fill(0);
  setup.fill(0);
  const text = (v: unknown) =>
    JSON.stringify(v, (_k, x: unknown) =>
      typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? hex(x) : x,
    );
  const everything = [
    ...seen.map(text),
    ...errors.map((e) => text({ code: e.code, message: e.message, field: e.field, stack: e.stack })),
  ].join('\n');
  for (const secret of secrets) assert.ok(!everything.includes(secret), 'a secret left the worker');
  // Every message is one of the three kinds, with nothing else in it.
  for (const m of seen) {
    const keys = Object.keys(m as object).sort();
    assert.ok(
      ['error,id', 'id,progress', 'id,result'].includes(keys.join()),
      `unexpected message shape ${keys.join()}`,
    );
  }
});
