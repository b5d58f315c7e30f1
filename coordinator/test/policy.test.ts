// Withdrawal policies: the pure rule evaluation (each rule alone and together, at its exact
// boundary), the rolling 24-hour spend over real withdrawals rows, the repository's checks, and
// the routes through the real app on a real SQLite file (roles, validation, audit).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type FastifyInstance } from 'fastify';
import { ApiError } from '../src/errors.ts';
import { evaluatePolicy } from '../src/policy/evaluate.ts';
import { formatEth } from '../src/policy/formatEth.ts';
import { PolicyRepo, type WalletPolicy } from '../src/policy/repo.ts';
import { DAY_MS, spentLast24hWei } from '../src/policy/spent.ts';
import { WalletRepo } from '../src/wallets/repo.ts';
import { type TestContext, bearer, buildTestApp, createUser, errorCode, makeTestContext, tokenFor } from './harness.ts';

const ETH = 10n ** 18n;
const U256_MAX = (1n << 256n) - 1n;

const policy = (p: Partial<WalletPolicy> = {}) => ({
  perWithdrawalLimitWei: 1n * ETH,
  dailyLimitWei: 3n * ETH,
  whitelistOnly: false,
  ...p,
});
const rules = (v: ReturnType<typeof evaluatePolicy>) => v.violations.map((x) => x.rule);

describe('formatEth', () => {
  it('is exact for any amount, without trailing zeros', () => {
    assert.equal(formatEth(0n), '0 ETH');
    assert.equal(formatEth(1n), '0.000000000000000001 ETH');
    assert.equal(formatEth(ETH), '1 ETH');
    assert.equal(formatEth((3n * ETH) / 2n), '1.5 ETH');
    assert.equal(formatEth(ETH / 10n), '0.1 ETH');
    assert.equal(formatEth(ETH + 1n), '1.000000000000000001 ETH');
    assert.equal(formatEth(1_000_000n * ETH), '1000000 ETH');
    assert.equal(
      formatEth(U256_MAX),
      '115792089237316195423570985008687907853269984665640564039457.584007913129639935 ETH',
    );
    assert.equal(formatEth(-ETH / 2n), '-0.5 ETH');
  });
});

describe('evaluatePolicy', () => {
  const within = { amountWei: ETH / 2n, toWhitelisted: true, spentLast24hWei: 0n };

  it('passes a withdrawal within every rule', () => {
    assert.deepEqual(evaluatePolicy(policy({ whitelistOnly: true }), within), { ok: true, violations: [] });
  });

  it('per-withdrawal limit alone: equal passes, one wei more fails with a message for people', () => {
    assert.equal(evaluatePolicy(policy(), { ...within, amountWei: ETH }).ok, true);
    const over = evaluatePolicy(policy(), { ...within, amountWei: ETH + 1n });
    assert.equal(over.ok, false);
    assert.deepEqual(rules(over), ['per_withdrawal_limit']);
    const v = evaluatePolicy(policy({ dailyLimitWei: 10n * ETH }), { ...within, amountWei: (3n * ETH) / 2n });
    assert.deepEqual(v.violations, [
      { rule: 'per_withdrawal_limit', message: '1.5 ETH exceeds the per-withdrawal limit of 1 ETH' },
    ]);
  });

  it('daily limit alone: the window includes this request; equal passes, one wei more fails', () => {
    const p = policy({ perWithdrawalLimitWei: 3n * ETH });
    assert.equal(evaluatePolicy(p, { ...within, amountWei: ETH, spentLast24hWei: 2n * ETH }).ok, true);
    const over = evaluatePolicy(p, { ...within, amountWei: ETH + 1n, spentLast24hWei: 2n * ETH });
    assert.deepEqual(rules(over), ['daily_limit']);
    assert.equal(
      over.violations[0]!.message,
      '1.000000000000000001 ETH would bring the last 24 hours to 3.000000000000000001 ETH, ' +
        'over the daily limit of 3 ETH (1 ETH left)',
    );
    // Already past the limit (e.g. the limit was lowered): nothing left, never a negative figure.
    const past = evaluatePolicy(p, { ...within, amountWei: 1n, spentLast24hWei: 4n * ETH });
    assert.match(past.violations[0]!.message, /\(0 ETH left\)$/);
  });

  it('whitelist-only alone: refuses a destination outside the address book, and only when the policy says so', () => {
    const v = evaluatePolicy(policy({ whitelistOnly: true }), { ...within, toWhitelisted: false });
    assert.deepEqual(rules(v), ['whitelist_only']);
    assert.match(v.violations[0]!.message, /address-book/);
    assert.equal(evaluatePolicy(policy({ whitelistOnly: false }), { ...within, toWhitelisted: false }).ok, true);
  });

  it('reports every broken rule together, in a fixed order', () => {
    const v = evaluatePolicy(policy({ whitelistOnly: true }), {
      amountWei: 2n * ETH,
      toWhitelisted: false,
      spentLast24hWei: 2n * ETH,
    });
    assert.equal(v.ok, false);
    assert.deepEqual(rules(v), ['per_withdrawal_limit', 'daily_limit', 'whitelist_only']);
  });

  it('a zero limit allows nothing but zero', () => {
    const p = policy({ perWithdrawalLimitWei: 0n, dailyLimitWei: 0n });
    assert.equal(evaluatePolicy(p, { ...within, amountWei: 0n }).ok, true);
    assert.deepEqual(rules(evaluatePolicy(p, { ...within, amountWei: 1n })), ['per_withdrawal_limit', 'daily_limit']);
  });
});

describe('policies in the database and over the API', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let tokens: Record<'admin' | 'initiator' | 'approver' | 'signer', string>;
  let adminId: string;
  let adminName: string;
  let walletId: string;
  let otherWalletId: string;

  before(async () => {
    ctx = makeTestContext();
    app = await buildTestApp(ctx);
    const [admin, initiator, approver, signer] = await Promise.all([
      createUser(ctx, 'alice', ['admin']),
      createUser(ctx, 'ivan', ['initiator']),
      createUser(ctx, 'april', ['approver']),
      createUser(ctx, 'sam', ['signer']),
    ]);
    adminId = admin.user.id;
    adminName = admin.user.username;
    tokens = {
      admin: await tokenFor(ctx, admin.user),
      initiator: await tokenFor(ctx, initiator.user),
      approver: await tokenFor(ctx, approver.user),
      signer: await tokenFor(ctx, signer.user),
    };
    const wallets = new WalletRepo(ctx.store);
    walletId = (await wallets.create('Treasury hot wallet', signer.user.id, adminId, ctx.now())).id;
    otherWalletId = (await wallets.create('Payroll', signer.user.id, adminId, ctx.now())).id;
  });

  after(async () => {
    await app.close();
    await ctx.close();
  });

  /** A withdrawals row as the withdrawal flow would leave it. */
  async function insertWithdrawal(
    wallet: string,
    amountWei: bigint,
    state: string,
    createdAtMs: number,
  ): Promise<string> {
    const id = randomUUID();
    await ctx.store.run(
      `INSERT INTO withdrawals (id, wallet_id, to_address, amount_wei, state, created_by, created_at_ms, updated_at_ms, expires_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      id,
      wallet,
      `0x${'ab'.repeat(20)}`,
      amountWei.toString(),
      state,
      adminId,
      createdAtMs,
      createdAtMs,
      createdAtMs + DAY_MS,
    );
    return id;
  }

  const put = (token: string, body: unknown, wallet = walletId) =>
    app.inject({
      method: 'PUT',
      url: `/api/v1/wallets/${wallet}/policy`,
      headers: bearer(token),
      payload: body as object,
    });
  const get = (token: string, wallet = walletId) =>
    app.inject({ method: 'GET', url: `/api/v1/wallets/${wallet}/policy`, headers: bearer(token) });
  const valid = {
    perWithdrawalLimitWei: '1000000000000000000',
    dailyLimitWei: '5000000000000000000',
    whitelistOnly: true,
    quorum: 2,
  };

  it('spentLast24hWei counts live withdrawals in the window and gives back those that ended', async () => {
    const now = ctx.now();
    const counted = ['pending_approval', 'approved', 'signing', 'signed', 'broadcast', 'confirmed'];
    for (const [i, state] of counted.entries())
      await insertWithdrawal(walletId, BigInt(i + 1) * ETH, state, now - 1000);
    for (const state of ['rejected', 'cancelled', 'expired', 'failed'])
      await insertWithdrawal(walletId, 100n * ETH, state, now);
    // The window is (now - 24 h, ...]: exactly 24 h old has aged out, one ms younger still counts.
    await insertWithdrawal(walletId, 1000n * ETH, 'confirmed', now - DAY_MS);
    await insertWithdrawal(walletId, 7n, 'confirmed', now - DAY_MS + 1);
    await insertWithdrawal(otherWalletId, 50n * ETH, 'pending_approval', now);
    const expected = 21n * ETH + 7n; // 1 + 2 + … + 6 ETH, and 7 wei
    assert.equal(await spentLast24hWei(ctx.store, walletId, now), expected);
    assert.equal(await spentLast24hWei(ctx.store, otherWalletId, now), 50n * ETH);
    assert.equal(await spentLast24hWei(ctx.store, randomUUID(), now), 0n);

    // A withdrawal being re-checked (edited, or prepared for signing) is left out of its own sum.
    const mine = await insertWithdrawal(walletId, 3n * ETH, 'approved', now);
    assert.equal(await spentLast24hWei(ctx.store, walletId, now), expected + 3n * ETH);
    assert.equal(await spentLast24hWei(ctx.store, walletId, now, mine), expected);
    // Moving on a day forgets everything but the last one.
    assert.equal(await spentLast24hWei(ctx.store, walletId, now + DAY_MS - 1), 3n * ETH);
  });

  it('spentLast24hWei sums amounts beyond 2^64 exactly', async () => {
    const now = ctx.now();
    const big = 1n << 200n;
    const wallet = (await new WalletRepo(ctx.store).create('Big', adminId, adminId, now)).id;
    await insertWithdrawal(wallet, big, 'pending_approval', now);
    await insertWithdrawal(wallet, big + 1n, 'signed', now);
    assert.equal(await spentLast24hWei(ctx.store, wallet, now), 2n * big + 1n);
  });

  it('the repository: no policy means no withdrawal; bad settings are refused', async () => {
    const repo = new PolicyRepo(ctx.store);
    assert.equal(await repo.get(otherWalletId), undefined);
    await assert.rejects(
      () => repo.require(otherWalletId),
      (e: unknown) => e instanceof ApiError && e.code === 'POLICY_VIOLATION' && e.details.rule === 'no_policy',
    );
    const ok = { perWithdrawalLimitWei: ETH, dailyLimitWei: 2n * ETH, whitelistOnly: false, quorum: 1 };
    const refusals: [Partial<typeof ok>, string][] = [
      [{ perWithdrawalLimitWei: -1n }, 'limit_out_of_range'],
      [{ dailyLimitWei: 1n << 256n }, 'limit_out_of_range'],
      [{ dailyLimitWei: ETH - 1n }, 'daily_below_per_withdrawal'],
      [{ quorum: 0 }, 'quorum_out_of_range'],
      [{ quorum: 11 }, 'quorum_out_of_range'],
      [{ quorum: 1.5 }, 'quorum_out_of_range'],
    ];
    for (const [change, reason] of refusals)
      await assert.rejects(
        () => repo.set(otherWalletId, { ...ok, ...change }, adminId, ctx.now()),
        (e: unknown) => e instanceof ApiError && e.code === 'BAD_REQUEST' && e.details.reason === reason,
        reason,
      );
    await assert.rejects(() => repo.set(randomUUID(), ok, adminId, ctx.now()), { code: 'WALLET_NOT_FOUND' });
    assert.equal(await repo.get(otherWalletId), undefined, 'nothing was stored by a refused call');

    const max = await repo.set(
      otherWalletId,
      { ...ok, perWithdrawalLimitWei: U256_MAX, dailyLimitWei: U256_MAX },
      adminId,
      5,
    );
    assert.deepEqual(max, {
      walletId: otherWalletId,
      perWithdrawalLimitWei: U256_MAX,
      dailyLimitWei: U256_MAX,
      whitelistOnly: false,
      quorum: 1,
      updatedBy: adminId,
      updatedAtMs: 5,
    });
    // An upsert: the second call replaces the first.
    assert.equal((await repo.set(otherWalletId, { ...ok, quorum: 10 }, adminId, 6)).quorum, 10);
    assert.equal((await repo.require(otherWalletId)).perWithdrawalLimitWei, ETH);
  });

  it('GET: any signed-in user; a wallet without a policy shows null; an unknown wallet is WALLET_NOT_FOUND', async () => {
    const none = await get(tokens.initiator);
    assert.equal(none.statusCode, 200);
    assert.deepEqual(none.json(), { policy: null });
    const unknown = await get(tokens.approver, randomUUID());
    assert.equal(unknown.statusCode, 404);
    assert.equal(errorCode(unknown), 'WALLET_NOT_FOUND');
    const anonymous = await app.inject({ method: 'GET', url: `/api/v1/wallets/${walletId}/policy` });
    assert.equal(errorCode(anonymous), 'UNAUTHENTICATED');
  });

  it('PUT needs the admin role', async () => {
    for (const role of ['initiator', 'approver', 'signer'] as const) {
      const res = await put(tokens[role], valid);
      assert.equal(res.statusCode, 403, role);
      assert.equal(errorCode(res), 'ROLE_REQUIRED', role);
    }
    const anonymous = await app.inject({ method: 'PUT', url: `/api/v1/wallets/${walletId}/policy`, payload: valid });
    assert.equal(errorCode(anonymous), 'UNAUTHENTICATED');
    assert.equal(await new PolicyRepo(ctx.store).get(walletId), undefined);
  });

  it('PUT refuses malformed settings with BAD_REQUEST', async () => {
    const bad: Record<string, unknown>[] = [
      { perWithdrawalLimitWei: '01' },
      { dailyLimitWei: '00' },
      { perWithdrawalLimitWei: '-1' },
      { perWithdrawalLimitWei: '1.5' },
      { perWithdrawalLimitWei: '1e18' },
      { perWithdrawalLimitWei: ' 1' },
      { perWithdrawalLimitWei: '' },
      { perWithdrawalLimitWei: 1000 },
      { dailyLimitWei: null },
      { dailyLimitWei: (1n << 256n).toString() }, // 78 digits, but one over uint256
      { dailyLimitWei: '9'.repeat(79) },
      { dailyLimitWei: '999999999999999999' }, // below the per-withdrawal limit
      { quorum: 0 },
      { quorum: 11 },
      { quorum: 1.5 },
      { quorum: '2' },
      { whitelistOnly: 'true' },
      { extra: 1 },
    ];
    for (const change of bad) {
      const res = await put(tokens.admin, { ...valid, ...change });
      assert.equal(res.statusCode, 400, JSON.stringify(change));
      assert.equal(errorCode(res), 'BAD_REQUEST', JSON.stringify(change));
    }
    const missing: Partial<typeof valid> = { ...valid };
    delete missing.quorum;
    assert.equal(errorCode(await put(tokens.admin, missing)), 'BAD_REQUEST');
    assert.equal(errorCode(await put(tokens.admin, valid, randomUUID())), 'WALLET_NOT_FOUND');
    assert.equal(await new PolicyRepo(ctx.store).get(walletId), undefined, 'no refused request stored anything');
  });

  it('PUT sets and replaces the policy; GET shows it; each change is audited with old and new values', async () => {
    const first = await put(tokens.admin, valid);
    assert.equal(first.statusCode, 200, first.body);
    const shown = (await get(tokens.signer)).json() as { policy: Record<string, unknown> };
    assert.deepEqual(shown, first.json());
    const { updatedAt, ...rest } = shown.policy;
    assert.deepEqual(rest, { walletId, ...valid, updatedBy: adminId, updatedByName: 'alice' });
    assert.ok(typeof updatedAt === 'string' && Math.abs(Date.parse(updatedAt) - ctx.now()) < 60_000);

    const big = U256_MAX.toString();
    const second = await put(tokens.admin, {
      perWithdrawalLimitWei: '0',
      dailyLimitWei: big,
      whitelistOnly: false,
      quorum: 10,
    });
    assert.equal(second.statusCode, 200, second.body);
    const stored = await new PolicyRepo(ctx.store).require(walletId);
    assert.deepEqual(
      [stored.perWithdrawalLimitWei, stored.dailyLimitWei, stored.whitelistOnly, stored.quorum],
      [0n, U256_MAX, false, 10],
    );

    const changes = (await ctx.audit.entries()).filter((e) => e.action === 'policy.changed' && e.subject === walletId);
    assert.equal(changes.length, 2);
    assert.deepEqual(
      changes.map((e) => [e.actor, { ...e.details }]),
      [
        [
          adminName,
          {
            oldPerWithdrawalLimitWei: null,
            oldDailyLimitWei: null,
            oldWhitelistOnly: null,
            oldQuorum: null,
            newPerWithdrawalLimitWei: valid.perWithdrawalLimitWei,
            newDailyLimitWei: valid.dailyLimitWei,
            newWhitelistOnly: 'true',
            newQuorum: '2',
          },
        ],
        [
          adminName,
          {
            oldPerWithdrawalLimitWei: valid.perWithdrawalLimitWei,
            oldDailyLimitWei: valid.dailyLimitWei,
            oldWhitelistOnly: 'true',
            oldQuorum: '2',
            newPerWithdrawalLimitWei: '0',
            newDailyLimitWei: big,
            newWhitelistOnly: 'false',
            newQuorum: '10',
          },
        ],
      ],
    );
    const verdict = await ctx.audit.verify();
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
  });
});
