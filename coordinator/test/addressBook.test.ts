// The address book through the real app on a real SQLite file: proposing, the approval quorum
// (no self-approval, one vote per approver, whitelisted exactly once even under 20 parallel
// approvals), rejection, address checks, roles, the approvers' notification and the audit trail.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type FastifyInstance } from 'fastify';
import { type WebSocket } from 'ws';
import { getAddress } from 'viem';
import { AddressBook } from '../src/addressBook/repo.ts';
import { type Role } from '../src/auth/roles.ts';
import { UserRepo } from '../src/auth/users.ts';
import { openStore } from '../src/db/sqliteStore.ts';
import { isConstraint } from '../src/db/store.ts';
import { EventHub } from '../src/events/hub.ts';
import { buildApp } from '../src/http/app.ts';
import { registerRoutes } from '../src/server.ts';
import { type TestContext, bearer, createUser, errorCode, makeTestContext, tokenFor } from './harness.ts';

// Known EIP-55 vectors (from the EIP).
const PAYEE = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const PAYEE_2 = '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359';
const PAYEE_3 = '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB';

interface EntryJson {
  id: string;
  name: string;
  address: string;
  status: string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  approvals: { userId: string; at: string }[];
  quorum: number;
}

/** A user for crowd tests, stored directly: they never sign in with a password, so no scrypt. */
function quickUser(ctx: TestContext, username: string, roles: Role[]) {
  return new UserRepo(ctx.store).create({ username, passwordHash: 'not-a-password-hash', roles }, ctx.now());
}

/** The app as the server builds it, with a hub the test can listen on. */
async function appWithHub(ctx: TestContext): Promise<{ app: FastifyInstance; hub: EventHub }> {
  const app = buildApp(ctx);
  const hub = new EventHub();
  registerRoutes(app, ctx, hub);
  await app.ready();
  return { app, hub };
}

/** An open WSS connection of userId, as the hub sees it, recording the frames it is sent. */
function listen(hub: EventHub, userId: string): Record<string, unknown>[] {
  const frames: Record<string, unknown>[] = [];
  const socket = { readyState: 1, send: (f: string) => void frames.push(JSON.parse(f)) } as unknown as WebSocket;
  hub.add({ socket, userId, tokenHash: randomUUID() });
  return frames;
}

function api(app: FastifyInstance) {
  return {
    list: (token: string) => app.inject({ method: 'GET', url: '/api/v1/address-book', headers: bearer(token) }),
    propose: (token: string, payload: object) =>
      app.inject({ method: 'POST', url: '/api/v1/address-book', headers: bearer(token), payload }),
    decide: (token: string, id: string, decision: 'approve' | 'reject') =>
      app.inject({ method: 'POST', url: `/api/v1/address-book/${id}/${decision}`, headers: bearer(token) }),
  };
}

const entryOf = (res: { json: () => unknown }) => (res.json() as { entry: EntryJson }).entry;

describe('address book', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let hub: EventHub;
  let call: ReturnType<typeof api>;
  let book: AddressBook;
  const t: Record<string, string> = {};
  const id: Record<string, string> = {};

  before(async () => {
    ctx = makeTestContext(); // addressBookQuorum: the default, 2
    ({ app, hub } = await appWithHub(ctx));
    call = api(app);
    book = new AddressBook(ctx.store);
    const people: [string, Role[]][] = [
      ['alice', ['admin']],
      ['ivan', ['initiator']],
      ['pat', ['initiator', 'approver']],
      ['ann', ['approver']],
      ['ben', ['approver']],
      ['cat', ['approver']],
      ['sam', ['signer']],
    ];
    const users = await Promise.all(people.map(([name, roles]) => createUser(ctx, name, roles)));
    for (const { user } of users) {
      t[user.username] = await tokenFor(ctx, user);
      id[user.username] = user.id;
    }
  });

  after(async () => {
    await app.close();
    await ctx.close();
  });

  it('the default quorum is 2', () => assert.equal(ctx.config.addressBookQuorum, 2));

  it('an initiator proposes an entry: PENDING, stored EIP-55, audited, and the approvers are told', async () => {
    const heard = Object.fromEntries(['ann', 'ben', 'cat', 'ivan', 'alice'].map((u) => [u, listen(hub, id[u]!)]));
    const res = await call.propose(t.ivan!, { name: 'Exchange cold wallet', address: PAYEE.toLowerCase() });
    assert.equal(res.statusCode, 201, res.body);
    const e = entryOf(res);
    assert.deepEqual(
      { ...e, id: undefined, createdAt: undefined, updatedAt: undefined },
      {
        id: undefined,
        name: 'Exchange cold wallet',
        address: PAYEE,
        status: 'PENDING',
        createdBy: id.ivan,
        createdAt: undefined,
        updatedAt: undefined,
        approvals: [],
        quorum: 2,
      },
    );
    assert.equal((await book.get(e.id))?.address, PAYEE);
    for (const u of ['ann', 'ben', 'cat'])
      assert.deepEqual(heard[u], [{ type: 'event', event: 'address_book_awaiting_approval', entryId: e.id }], u);
    assert.deepEqual([heard.ivan, heard.alice], [[], []], 'only approvers hear of it');
    const audit = (await ctx.audit.entries()).filter((a) => a.subject === e.id);
    assert.deepEqual(
      audit.map((a) => [a.actor, a.action, { ...a.details }]),
      [['ivan', 'address_book.proposed', { name: 'Exchange cold wallet', address: PAYEE }]],
    );
    assert.equal(await book.isWhitelisted(PAYEE), false, 'pending is not whitelisted');
    assert.equal(await book.nameOf(PAYEE), undefined, "a pending entry's name is not vouched for");
  });

  it('approvals: not by the proposer, once per approver; the quorum whitelists it once', async () => {
    // pat holds both roles: the proposer's own approval is refused.
    const entry = entryOf(await call.propose(t.pat!, { name: 'Market maker', address: PAYEE_2 }));
    const self = await call.decide(t.pat!, entry.id, 'approve');
    assert.equal(self.statusCode, 403);
    assert.equal(errorCode(self), 'SELF_APPROVAL');

    const first = await call.decide(t.ann!, entry.id, 'approve');
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(entryOf(first).status, 'PENDING');
    assert.deepEqual(
      entryOf(first).approvals.map((a) => a.userId),
      [id.ann],
    );
    assert.ok(Math.abs(Date.parse(entryOf(first).approvals[0]!.at) - ctx.now()) < 60_000);
    const again = await call.decide(t.ann!, entry.id, 'approve');
    assert.equal(again.statusCode, 409);
    assert.equal(errorCode(again), 'ALREADY_APPROVED');
    assert.equal(await book.isWhitelisted(PAYEE_2), false);

    const second = await call.decide(t.ben!, entry.id, 'approve');
    assert.equal(second.statusCode, 200, second.body);
    assert.equal(entryOf(second).status, 'APPROVED');
    assert.deepEqual(
      entryOf(second).approvals.map((a) => a.userId),
      [id.ann, id.ben],
    );
    // Whitelisted in any spelling of the address.
    for (const spelling of [PAYEE_2, PAYEE_2.toLowerCase(), `0x${PAYEE_2.slice(2).toUpperCase()}`])
      assert.equal(await book.isWhitelisted(spelling), true, spelling);
    assert.equal(await book.nameOf(PAYEE_2.toLowerCase()), 'Market maker');
    assert.equal(await book.isWhitelisted(PAYEE_3), false);

    // After the quorum, further approvals are refused rather than counted.
    const late = await call.decide(t.cat!, entry.id, 'approve');
    assert.equal(late.statusCode, 409);
    assert.equal(errorCode(late), 'INVALID_STATE');
    assert.equal(errorCode(await call.decide(t.cat!, entry.id, 'reject')), 'INVALID_STATE');

    const audit = (await ctx.audit.entries()).filter((a) => a.subject === entry.id);
    assert.deepEqual(
      audit.map((a) => [a.actor, a.action]),
      [
        ['pat', 'address_book.proposed'],
        ['ann', 'address_book.approved'],
        ['ben', 'address_book.approved'],
        ['coordinator', 'address_book.whitelisted'],
      ],
    );
    assert.deepEqual({ ...audit[2]!.details }, { address: PAYEE_2, approvals: 2, quorum: 2 });
  });

  it('an approver rejects a pending entry: no more decisions, and the address may be proposed again', async () => {
    const entry = entryOf(await call.propose(t.alice!, { name: 'Unknown vendor', address: PAYEE_3 }));
    assert.equal(entry.createdBy, id.alice, 'an admin may propose');
    assert.equal((await call.decide(t.ann!, entry.id, 'approve')).statusCode, 200);
    const rejected = await call.decide(t.cat!, entry.id, 'reject');
    assert.equal(rejected.statusCode, 200, rejected.body);
    assert.equal(entryOf(rejected).status, 'REJECTED');
    assert.equal(await book.isWhitelisted(PAYEE_3), false);
    assert.equal(errorCode(await call.decide(t.ben!, entry.id, 'approve')), 'INVALID_STATE');
    assert.equal(errorCode(await call.decide(t.ben!, entry.id, 'reject')), 'INVALID_STATE');
    assert.deepEqual(
      (await ctx.audit.entries())
        .filter((a) => a.subject === entry.id && a.action === 'address_book.rejected')
        .map((a) => [a.actor, { ...a.details }]),
      [['cat', { name: 'Unknown vendor', address: PAYEE_3 }]],
    );

    const again = await call.propose(t.ivan!, { name: 'Vendor, checked', address: PAYEE_3.toLowerCase() });
    assert.equal(again.statusCode, 201, again.body);
    const list = (await call.list(t.sam!)).json() as { entries: EntryJson[] };
    assert.deepEqual(
      list.entries.filter((e) => e.address === PAYEE_3).map((e) => e.status),
      ['REJECTED', 'PENDING'],
    );
  });

  it('one live entry per address: a second one, in any case, is a CONFLICT', async () => {
    for (const address of [PAYEE, PAYEE.toLowerCase(), PAYEE_2.toLowerCase()]) {
      const res = await call.propose(t.ivan!, { name: 'Duplicate', address });
      assert.equal(res.statusCode, 409, address);
      assert.equal(errorCode(res), 'CONFLICT', address);
    }
  });

  it('addresses and names are checked: a wrong EIP-55 checksum, non-hex, zero address, blank or long names', async () => {
    const wrongChecksum = PAYEE_3.replace('dbF', 'dBF').replace('7c01', '7C01');
    const refused: object[] = [
      { name: 'Typo', address: wrongChecksum },
      { name: 'Typo', address: `0x${PAYEE.slice(2, 41)}` },
      { name: 'Typo', address: `${PAYEE}00` },
      { name: 'Typo', address: PAYEE.slice(2) },
      { name: 'Typo', address: `0x${'g'.repeat(40)}` },
      { name: 'Burn', address: `0x${'0'.repeat(40)}` },
      { name: '', address: PAYEE_3 },
      { name: '   ', address: PAYEE_3 },
      { name: 'x'.repeat(101), address: PAYEE_3 },
      { name: 'line\nbreak', address: PAYEE_3 },
      { name: 'Extra', address: PAYEE_3, note: 'x' },
      { address: PAYEE_3 },
      { name: 'Number', address: 5 },
    ];
    for (const body of refused) {
      const res = await call.propose(t.ivan!, body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.equal(errorCode(res), 'BAD_REQUEST', JSON.stringify(body));
    }
    const checksum = await call.propose(t.ivan!, { name: 'Typo', address: wrongChecksum });
    assert.equal((checksum.json() as { error: { details: { reason: string } } }).error.details.reason, 'bad_checksum');
    // All-uppercase hex carries no checksum and is accepted (stored EIP-55); 100 characters is the longest name.
    const upper = `0x${'AB12'.repeat(10)}`;
    const ok = await call.propose(t.ivan!, { name: 'n'.repeat(100), address: upper });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(entryOf(ok).address, getAddress(upper.toLowerCase()));
  });

  it('roles: initiator or admin proposes, approvers decide, anyone signed in reads', async () => {
    const entry = (await book.list()).find((e) => e.status === 'PENDING')!;
    for (const who of ['ann', 'sam']) {
      const res = await call.propose(t[who]!, { name: 'Not mine to propose', address: `0x${'cd'.repeat(20)}` });
      assert.equal(res.statusCode, 403, who);
      assert.equal(errorCode(res), 'ROLE_REQUIRED', who);
    }
    for (const who of ['ivan', 'alice', 'sam'])
      for (const decision of ['approve', 'reject'] as const) {
        const res = await call.decide(t[who]!, entry.id, decision);
        assert.equal(errorCode(res), 'ROLE_REQUIRED', `${who} ${decision}`);
      }
    assert.equal((await book.require(entry.id)).approvals.length, entry.approvals.length, 'no refused vote counted');
    for (const who of ['sam', 'ivan', 'ann', 'alice']) {
      const res = await call.list(t[who]!);
      assert.equal(res.statusCode, 200, who);
      assert.equal((res.json() as { entries: EntryJson[] }).entries.length, (await book.list()).length);
    }
    const anonymous = await app.inject({ method: 'GET', url: '/api/v1/address-book' });
    assert.equal(errorCode(anonymous), 'UNAUTHENTICATED');
    assert.equal(errorCode(await call.decide(t.ann!, randomUUID(), 'approve')), 'NOT_FOUND');
    assert.equal(errorCode(await call.decide(t.ann!, 'not an id', 'reject')), 'BAD_REQUEST');
  });

  it('the (entry, approver) key refuses a second vote even from another connection', async () => {
    const entry = (await book.list()).find((e) => e.status === 'PENDING' && e.approvals.length === 0)!;
    await book.approve(entry.id, id.ann!, ctx.now(), 5);
    const other = openStore(ctx.dbFile);
    try {
      await assert.rejects(
        () =>
          other.run(
            'INSERT INTO address_book_approvals (entry_id, user_id, at_ms) VALUES (?, ?, ?)',
            entry.id,
            id.ann!,
            ctx.now(),
          ),
        (e: unknown) => isConstraint(e, 'unique'),
      );
      await assert.rejects(() => new AddressBook(other).approve(entry.id, id.ann!, ctx.now(), 5), {
        code: 'ALREADY_APPROVED',
      });
    } finally {
      await other.close();
    }
    assert.equal((await book.require(entry.id)).approvals.length, 1);
  });

  it('the audit chain verifies', async () => {
    const verdict = await ctx.audit.verify();
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
  });
});

describe('address book under concurrent approvals', () => {
  let ctx: TestContext;
  let app: FastifyInstance;

  before(async () => {
    ctx = makeTestContext({ config: { addressBookQuorum: 3 } });
    ({ app } = await appWithHub(ctx));
  });

  after(async () => {
    await app.close();
    await ctx.close();
  });

  it('20 approvers at once: exactly the quorum counts, APPROVED once, one whitelisted entry', async () => {
    const call = api(app);
    const proposer = await quickUser(ctx, 'ivan', ['initiator']);
    const approvers: Awaited<ReturnType<typeof quickUser>>[] = [];
    for (let i = 0; i < 20; i++) approvers.push(await quickUser(ctx, `approver${i}`, ['approver']));
    const entry = entryOf(
      await call.propose(await tokenFor(ctx, proposer), { name: 'Payroll provider', address: PAYEE }),
    );
    const tokens = await Promise.all(approvers.map((u) => tokenFor(ctx, u)));

    const results = await Promise.all(tokens.map((token) => call.decide(token, entry.id, 'approve')));
    const ok = results.filter((r) => r.statusCode === 200);
    assert.equal(ok.length, 3, results.map((r) => r.statusCode).join(','));
    assert.ok(
      results.every((r) => r.statusCode === 200 || errorCode(r) === 'INVALID_STATE'),
      'every other approval is refused because the entry is no longer pending',
    );
    // Each successful approval saw the count it made: 1 and 2 still pending, the third whitelists.
    assert.deepEqual(ok.map((r) => [entryOf(r).approvals.length, entryOf(r).status]).sort(), [
      [1, 'PENDING'],
      [2, 'PENDING'],
      [3, 'APPROVED'],
    ]);

    const stored = await new AddressBook(ctx.store).require(entry.id);
    assert.equal(stored.status, 'APPROVED');
    assert.equal(stored.approvals.length, 3);
    const rows = await ctx.store.get('SELECT COUNT(*) AS n FROM address_book_approvals WHERE entry_id = ?', entry.id);
    assert.deepEqual(rows, { n: 3 });
    const actions = (await ctx.audit.entries()).filter((a) => a.subject === entry.id).map((a) => a.action);
    assert.deepEqual(actions, [
      'address_book.proposed',
      'address_book.approved',
      'address_book.approved',
      'address_book.approved',
      'address_book.whitelisted',
    ]);
    assert.equal(await new AddressBook(ctx.store).isWhitelisted(PAYEE.toLowerCase()), true);
    const verdict = await ctx.audit.verify();
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
  });
});
