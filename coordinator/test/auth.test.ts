// Sign-in, tokens, roles and user management through the real app (app.inject) on a real SQLite
// file. Every password and token used is remembered, and the last test checks that none of them
// reached the database, the WAL or the log.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { type FastifyInstance } from 'fastify';
import { authEvents, type TokensRevoked } from '../src/auth/events.ts';
import { updateAccount } from '../src/auth/accounts.ts';
import { UserRepo } from '../src/auth/users.ts';
import { runAdmin } from '../src/cli/admin.ts';
import { BODY_LIMIT } from '../src/http/app.ts';
import {
  type TestContext,
  bearer,
  buildTestApp,
  createUser,
  diskBytes,
  errorCode,
  login,
  makeTestContext,
  tokenFor,
} from './harness.ts';

/** Every password and token these tests used: none may be found on disk at the end. */
const secrets: string[] = [];
const remember = <T extends { password: string }>(u: T): T => (secrets.push(u.password), u);
const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');

async function auditOf(ctx: TestContext, action: string) {
  return (await ctx.audit.entries()).filter((e) => e.action === action);
}

/** The hash chain holds, and none of the passwords and tokens used is in the database, its WAL or the log. */
async function assertAuditedAndClean(ctx: TestContext) {
  const verdict = await ctx.audit.verify();
  assert.equal(verdict.ok, true, JSON.stringify(verdict));
  const bytes = diskBytes(ctx);
  assert.ok(bytes.length > 0 && secrets.length > 5);
  for (const s of secrets) assert.equal(bytes.indexOf(s), -1, 'a password or token was found on disk');
  for (const e of await ctx.audit.entries())
    for (const s of secrets) assert.ok(!JSON.stringify(e).includes(s), `audit entry ${e.seq} holds a secret`);
}

/** Collects tokensRevoked events until stopped. */
function recordRevocations(ctx: TestContext) {
  const seen: TokensRevoked[] = [];
  const listener = (e: TokensRevoked) => void seen.push(e);
  authEvents(ctx).on('tokensRevoked', listener);
  return { seen, stop: () => void authEvents(ctx).off('tokensRevoked', listener) };
}

describe('auth', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let admin: Awaited<ReturnType<typeof createUser>>;
  let bob: Awaited<ReturnType<typeof createUser>>;
  let carol: Awaited<ReturnType<typeof createUser>>;
  let erin: Awaited<ReturnType<typeof createUser>>;
  let adminToken: string;

  before(async () => {
    ctx = makeTestContext();
    app = await buildTestApp(ctx);
    [admin, bob, carol, erin] = await Promise.all([
      createUser(ctx, 'alice', ['admin']).then(remember),
      createUser(ctx, 'bob', ['initiator']).then(remember),
      createUser(ctx, 'carol', ['approver']).then(remember),
      createUser(ctx, 'erin', ['signer']).then(remember),
    ]);
    adminToken = await tokenFor(ctx, admin.user);
    secrets.push(adminToken);
  });

  after(async () => {
    await app.close();
    await ctx.close();
  });

  it('a wrong password and an unknown username get the same LOGIN_FAILED; both count', async () => {
    const wrong = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'bob', password: 'not-bobs-password-at-all' },
    });
    const unknown = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'nobody', password: 'not-bobs-password-at-all' },
    });
    secrets.push('not-bobs-password-at-all');
    assert.equal(wrong.statusCode, 401);
    assert.equal(errorCode(wrong), 'LOGIN_FAILED');
    assert.equal(unknown.body, wrong.body, 'the answer must not say whether the username exists');
    assert.equal((await new UserRepo(ctx.store).require(bob.user.id)).failedLogins, 1);
    const reasons = (await auditOf(ctx, 'auth.login_failed')).map((e) => e.details.reason);
    assert.deepEqual(reasons.slice(-2), ['wrong_password', 'unknown_user']);
  });

  it('login returns a token, its expiry and the user, stores only the token hash, and clears the failure count', async () => {
    const t0 = ctx.now();
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'BOB', password: bob.password },
    });
    assert.equal(res.statusCode, 200);
    const body = res.json() as { token: string; expiresAt: string; user: { id: string; roles: string[] } };
    secrets.push(body.token);
    assert.match(body.token, /^tdm_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(body.user, { id: bob.user.id, username: 'bob', roles: ['initiator'] });
    const expires = Date.parse(body.expiresAt);
    assert.ok(expires >= t0 + ctx.config.tokenTtlMs - 1000 && expires <= ctx.now() + ctx.config.tokenTtlMs + 1000);

    const rows = await ctx.store.all<{ token_hash: Buffer }>(
      'SELECT token_hash, user_id FROM auth_tokens WHERE user_id = ?',
      bob.user.id,
    );
    assert.deepEqual(
      rows.map((r) => r.token_hash.toString('hex')),
      [sha256hex(body.token)],
    );
    const me = await app.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(body.token) });
    assert.equal(me.statusCode, 200);
    assert.deepEqual(me.json(), { user: { id: bob.user.id, username: 'bob', roles: ['initiator'] } });
    assert.equal((await auditOf(ctx, 'auth.login')).at(-1)?.subject, bob.user.id);
    assert.equal(
      (await new UserRepo(ctx.store).require(bob.user.id)).failedLogins,
      0,
      'the earlier failure is forgiven',
    );
  });

  it('requests without a valid token are refused', async () => {
    const me = (authorization?: string) =>
      app.inject({ method: 'GET', url: '/api/v1/me', headers: authorization ? { authorization } : {} });
    const none = await me();
    assert.equal(none.statusCode, 401);
    assert.equal(errorCode(none), 'UNAUTHENTICATED');
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    for (const header of [
      `Basic ${Buffer.from('alice:x').toString('base64')}`,
      'Bearer',
      `Bearer ${adminToken} extra`,
      adminToken,
      'Bearer tdm_short',
      `Bearer tdm_${randomBytes(32).toString('base64url')}`,
      `Bearer ${adminToken.slice(0, -1)}${adminToken.endsWith('A') ? 'B' : 'A'}`,
    ]) {
      const res = await me(header);
      assert.equal(res.statusCode, 401, header);
      assert.equal(errorCode(res), 'UNAUTHENTICATED', header);
    }
    const ok = await me(`Bearer ${adminToken}`);
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers['www-authenticate'], undefined);
  });

  it('logout revokes the token and announces it for the WSS', async () => {
    const token = await tokenFor(ctx, bob.user);
    secrets.push(token);
    const events = recordRevocations(ctx);
    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(token) });
    events.stop();
    assert.equal(res.statusCode, 204);
    assert.deepEqual(events.seen, [{ userId: bob.user.id, tokenHashes: [sha256hex(token)] }]);
    const again = await app.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(token) });
    assert.equal(errorCode(again), 'UNAUTHENTICATED');
    const row = await ctx.store.get<{ revoked_at_ms: number | null }>(
      'SELECT revoked_at_ms FROM auth_tokens WHERE token_hash = ?',
      Buffer.from(sha256hex(token), 'hex'),
    );
    assert.ok(row);
    assert.notEqual(row.revoked_at_ms, null);
    assert.equal((await auditOf(ctx, 'auth.logout')).at(-1)?.actor, bob.user.id);
  });

  it('every admin route refuses non-admins with ROLE_REQUIRED, and strangers with UNAUTHENTICATED', async () => {
    const bobToken = await tokenFor(ctx, bob.user);
    secrets.push(bobToken);
    const routes = [
      { method: 'GET', url: '/api/v1/users' },
      {
        method: 'POST',
        url: '/api/v1/users',
        payload: { username: 'mallory', password: 'a-fine-password-2024', roles: ['admin'] },
      },
      { method: 'PATCH', url: `/api/v1/users/${bob.user.id}`, payload: { roles: ['admin'] } },
      { method: 'POST', url: `/api/v1/users/${admin.user.id}/revoke-tokens` },
    ] as const;
    for (const r of routes) {
      const res = await app.inject({ ...r, headers: bearer(bobToken) });
      assert.equal(res.statusCode, 403, `${r.method} ${r.url}`);
      assert.equal(errorCode(res), 'ROLE_REQUIRED');
      assert.deepEqual((res.json() as { error: { details: unknown } }).error.details, { required: 'admin' });
      const anonymous = await app.inject(r);
      assert.equal(errorCode(anonymous), 'UNAUTHENTICATED', `${r.method} ${r.url}`);
    }
    assert.equal(await new UserRepo(ctx.store).findByUsername('mallory'), undefined);
    assert.deepEqual((await new UserRepo(ctx.store).require(bob.user.id)).roles, ['initiator']);
  });

  it('an admin creates users under the password policy; usernames are unique in any case', async () => {
    const create = (username: string, password: string, roles: string[] = ['approver']) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: bearer(adminToken),
        payload: { username, password, roles },
      });
    const weak: [string, string][] = [
      ['changeme1234', 'too_common'],
      ['short-pw', 'too_short'],
      ['frank-is-my-password', 'contains_username'],
      ['abababababababab', 'too_repetitive'],
    ];
    for (const [password, reason] of weak) {
      secrets.push(password);
      const res = await create('frank', password);
      assert.equal(res.statusCode, 400, password);
      assert.equal(errorCode(res), 'BAD_REQUEST');
      assert.equal((res.json() as { error: { details: { reason: string } } }).error.details.reason, reason);
    }
    const frank = remember({ password: 'correct-staple-battery-9' });
    const res = await create('frank', frank.password, ['approver', 'signer']);
    assert.equal(res.statusCode, 201);
    const created = (res.json() as { user: { id: string; roles: string[]; disabled: boolean } }).user;
    assert.deepEqual(created.roles, ['approver', 'signer']);
    assert.equal(created.disabled, false);
    const row = await ctx.store.get<{ password_hash: string }>(
      'SELECT password_hash FROM users WHERE id = ?',
      created.id,
    );
    assert.ok(row);
    assert.match(row.password_hash, /^scrypt\$131072\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);

    const dup = await create('FRANK', 'another-good-password-7');
    assert.equal(dup.statusCode, 409);
    assert.equal(errorCode(dup), 'USERNAME_TAKEN');

    const entry = (await auditOf(ctx, 'user.created')).at(-1);
    assert.equal(entry?.actor, admin.user.id);
    assert.deepEqual(entry?.details, { username: 'frank', roles: 'approver,signer' });

    const list = await app.inject({ method: 'GET', url: '/api/v1/users', headers: bearer(adminToken) });
    const users = (list.json() as { users: { username: string }[] }).users;
    assert.deepEqual(users.map((u) => u.username).sort(), ['alice', 'bob', 'carol', 'erin', 'frank']);
    assert.ok(!list.body.includes('scrypt'), 'no password hash in the listing');
  });

  it('an admin cannot remove their own admin role or disable themselves; the last admin is never lost', async () => {
    const patch = (id: string, payload: object) =>
      app.inject({ method: 'PATCH', url: `/api/v1/users/${id}`, headers: bearer(adminToken), payload });
    const demote = await patch(admin.user.id, { roles: ['approver'] });
    assert.equal(demote.statusCode, 403);
    assert.equal(errorCode(demote), 'FORBIDDEN');
    assert.equal((demote.json() as { error: { details: { reason: string } } }).error.details.reason, 'own_admin_role');
    const disable = await patch(admin.user.id, { disabled: true });
    assert.equal(errorCode(disable), 'FORBIDDEN');
    const me = await new UserRepo(ctx.store).require(admin.user.id);
    assert.deepEqual([me.roles, me.disabled], [['admin'], false]);
    // Adding a role to oneself is fine (and keeps admin).
    const more = await patch(admin.user.id, { roles: ['admin', 'approver'] });
    assert.equal(more.statusCode, 200);
    adminToken = await tokenFor(ctx, admin.user); // the role change ended the old session
    secrets.push(adminToken);

    // Two admins demoting each other at the same moment: both passed the role check before either
    // change landed. The second change would leave no admin, so it is refused.
    const zoe = remember(await createUser(ctx, 'zoe', ['admin']));
    await updateAccount(ctx, admin.user.id, zoe.user.id, { roles: ['approver'] });
    await assert.rejects(
      () => updateAccount(ctx, zoe.user.id, admin.user.id, { roles: ['approver'] }),
      (e: Error & { code?: string; details?: { reason?: string } }) =>
        e.code === 'CONFLICT' && e.details?.reason === 'last_admin',
    );
    assert.equal(await new UserRepo(ctx.store).countActiveAdmins(), 1);
    assert.ok((await new UserRepo(ctx.store).require(admin.user.id)).roles.includes('admin'));
  });

  it('a role change revokes the user’s tokens and emits tokensRevoked; no change, no revocation', async () => {
    const first = await tokenFor(ctx, carol.user);
    const second = await tokenFor(ctx, carol.user);
    secrets.push(first, second);
    const events = recordRevocations(ctx);
    const patch = (roles: string[]) =>
      app.inject({
        method: 'PATCH',
        url: `/api/v1/users/${carol.user.id}`,
        headers: bearer(adminToken),
        payload: { roles },
      });
    const res = await patch(['initiator', 'approver']);
    assert.equal(res.statusCode, 200);
    assert.deepEqual((res.json() as { user: { roles: string[] } }).user.roles, ['initiator', 'approver']);
    assert.equal(events.seen.length, 1);
    assert.equal(events.seen[0]!.userId, carol.user.id);
    assert.deepEqual(events.seen[0]!.tokenHashes.sort(), [sha256hex(first), sha256hex(second)].sort());
    for (const t of [first, second])
      assert.equal(
        errorCode(await app.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(t) })),
        'UNAUTHENTICATED',
      );
    assert.deepEqual((await auditOf(ctx, 'user.roles_changed')).at(-1)?.details, {
      from: 'approver',
      to: 'initiator,approver',
      tokensRevoked: 2,
    });

    const third = await tokenFor(ctx, carol.user);
    secrets.push(third);
    const same = await patch(['approver', 'initiator']);
    events.stop();
    assert.equal(same.statusCode, 200);
    assert.equal(events.seen.length, 1, 'the same roles in another order are no change');
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(third) })).statusCode, 200);
  });

  it('a disabled user cannot sign in and their tokens stop working; enabling lets them back', async () => {
    const token = await tokenFor(ctx, erin.user);
    secrets.push(token);
    const events = recordRevocations(ctx);
    const patch = (disabled: boolean) =>
      app.inject({
        method: 'PATCH',
        url: `/api/v1/users/${erin.user.id}`,
        headers: bearer(adminToken),
        payload: { disabled },
      });
    assert.equal((await patch(true)).statusCode, 200);
    events.stop();
    assert.deepEqual(events.seen, [{ userId: erin.user.id, tokenHashes: [sha256hex(token)] }]);
    const me = await app.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(token) });
    assert.equal(errorCode(me), 'UNAUTHENTICATED');
    const refused = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'erin', password: erin.password },
    });
    assert.equal(refused.statusCode, 401);
    assert.equal(errorCode(refused), 'LOGIN_FAILED');
    assert.equal((await auditOf(ctx, 'auth.login_failed')).at(-1)?.details.reason, 'disabled');
    assert.equal((await auditOf(ctx, 'user.disabled')).at(-1)?.subject, erin.user.id);

    assert.equal((await patch(false)).statusCode, 200);
    assert.equal((await auditOf(ctx, 'user.enabled')).at(-1)?.subject, erin.user.id);
    secrets.push(await login(app, 'erin', erin.password));
  });

  it('an admin revokes every token of a user', async () => {
    const tokens = [await tokenFor(ctx, bob.user), await tokenFor(ctx, bob.user)];
    secrets.push(...tokens);
    const events = recordRevocations(ctx);
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/users/${bob.user.id}/revoke-tokens`,
      headers: bearer(adminToken),
    });
    events.stop();
    assert.equal(res.statusCode, 200);
    const { revoked } = res.json() as { revoked: number };
    assert.ok(revoked >= 2);
    assert.equal(events.seen.length, 1);
    for (const t of tokens) assert.ok(events.seen[0]!.tokenHashes.includes(sha256hex(t)));
    const live = await ctx.store.get<{ n: number }>(
      'SELECT COUNT(*) AS n FROM auth_tokens WHERE user_id = ? AND revoked_at_ms IS NULL',
      bob.user.id,
    );
    assert.equal(live?.n, 0);
    assert.deepEqual((await auditOf(ctx, 'auth.tokens_revoked')).at(-1)?.details, { count: revoked });

    const unknown = await app.inject({
      method: 'POST',
      url: '/api/v1/users/00000000-0000-0000-0000-000000000000/revoke-tokens',
      headers: bearer(adminToken),
    });
    assert.equal(errorCode(unknown), 'USER_NOT_FOUND');
    const badId = await app.inject({
      method: 'POST',
      url: '/api/v1/users/..%2Fx/revoke-tokens',
      headers: bearer(adminToken),
    });
    assert.equal(errorCode(badId), 'BAD_REQUEST');
  });

  it('malformed, oversized and unexpected bodies are refused with stable codes', async () => {
    const post = (url: string, payload: string, headers: Record<string, string> = {}) =>
      app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json', ...headers } });
    const cases: [string, Awaited<ReturnType<typeof post>>, number, string][] = [
      ['broken JSON', await post('/api/v1/auth/login', '{"username": "bob",'), 400, 'MALFORMED_JSON'],
      [
        'over 64 KiB',
        await post('/api/v1/auth/login', JSON.stringify({ username: 'bob', password: 'x'.repeat(BODY_LIMIT) })),
        413,
        'BODY_TOO_LARGE',
      ],
      [
        'an unknown field',
        await post('/api/v1/auth/login', JSON.stringify({ username: 'bob', password: 'whatever-pw', admin: true })),
        400,
        'BAD_REQUEST',
      ],
      ['a missing field', await post('/api/v1/auth/login', JSON.stringify({ username: 'bob' })), 400, 'BAD_REQUEST'],
      [
        'a password over 256 characters',
        await post('/api/v1/auth/login', JSON.stringify({ username: 'bob', password: 'x'.repeat(257) })),
        400,
        'BAD_REQUEST',
      ],
      [
        'an unknown role',
        await post(
          '/api/v1/users',
          JSON.stringify({ username: 'gina', password: 'a-fine-password-2024', roles: ['root'] }),
          bearer(adminToken),
        ),
        400,
        'BAD_REQUEST',
      ],
      [
        'a username with spaces',
        await post(
          '/api/v1/users',
          JSON.stringify({ username: 'gina smith', password: 'a-fine-password-2024', roles: [] }),
          bearer(adminToken),
        ),
        400,
        'BAD_REQUEST',
      ],
    ];
    for (const [what, res, status, code] of cases) {
      assert.equal(res.statusCode, status, what);
      assert.equal(errorCode(res), code, what);
    }
    const emptyPatch = await app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${bob.user.id}`,
      headers: bearer(adminToken),
      payload: {},
    });
    assert.equal(errorCode(emptyPatch), 'BAD_REQUEST');
    const extraPatch = await app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${bob.user.id}`,
      headers: bearer(adminToken),
      payload: { disabled: false, password: 'x' },
    });
    assert.equal(errorCode(extraPatch), 'BAD_REQUEST');
    assert.equal(await new UserRepo(ctx.store).findByUsername('gina'), undefined);
  });

  it('the create-admin CLI makes a working admin and refuses weak passwords', async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    const run = (argv: string[], env: Record<string, string>, stdin?: Readable) =>
      runAdmin(argv, { TANDEM_COORDINATOR_DATA_DIR: ctx.dir, ...env }, (s) => void lines.push(s), {
        err: (s) => void errors.push(s),
        ...(stdin ? { stdin } : {}),
      });

    secrets.push('password1234');
    assert.equal(await run(['create-admin', '--username', 'root'], { TANDEM_ADMIN_PASSWORD: 'password1234' }), 1);
    assert.match(errors.join(''), /first ones an attacker tries/);
    assert.equal(await new UserRepo(ctx.store).findByUsername('root'), undefined);

    const password = remember({ password: `cli-${randomBytes(12).toString('hex')}` }).password;
    assert.equal(await run(['create-admin', '--username', 'root'], { TANDEM_ADMIN_PASSWORD: password }), 0);
    const made = JSON.parse(lines.at(-1)!) as { id: string; roles: string[] };
    assert.deepEqual(made.roles, ['admin']);
    assert.match((await auditOf(ctx, 'user.created')).at(-1)?.actor ?? '', /^cli:/);
    secrets.push(await login(app, 'root', password));

    // Piped in: the first line of stdin is the password.
    const piped = remember({ password: `pipe-${randomBytes(12).toString('hex')}` }).password;
    const stdin = Readable.from([`${piped}\nignored second line\n`]);
    assert.equal(await run(['create-admin', '--username', 'root2'], {}, stdin), 0);
    assert.deepEqual((await new UserRepo(ctx.store).findByUsername('root2'))?.roles, ['admin']);

    assert.equal(await run(['create-admin', '--username', 'root'], { TANDEM_ADMIN_PASSWORD: password }), 1);
    assert.match(errors.at(-1)!, /already taken/);
    assert.equal(await run(['create-admin'], {}), 2);
    assert.equal(await run(['drop-tables'], {}), 2);
  });

  it('/me/activity: a user sees their own audit entries, newest first, and nobody else’s', async () => {
    await ctx.audit.append('carol', 'withdrawal.approved', 'w-1', { n: 1 });
    await ctx.audit.append(carol.user.id, 'address_book.approved', 'e-1');
    await ctx.audit.append('bob', 'withdrawal.requested', 'w-2');
    const res = await app.inject({
      method: 'GET',
      url: '/api/v1/me/activity',
      headers: bearer(await tokenFor(ctx, carol.user)),
    });
    assert.equal(res.statusCode, 200);
    const entries = (res.json() as { entries: { action: string; subject: string; at: string }[] }).entries;
    assert.deepEqual(
      entries.slice(0, 2).map((e) => [e.action, e.subject]),
      [
        ['address_book.approved', 'e-1'],
        ['withdrawal.approved', 'w-1'],
      ],
    );
    assert.ok(!entries.some((e) => e.subject === 'w-2'));
    assert.ok(!Number.isNaN(Date.parse(entries[0]!.at)));
    const anon = await app.inject({ method: 'GET', url: '/api/v1/me/activity' });
    assert.equal(anon.statusCode, 401);
  });

  it('the audit log verifies after all of it, and no password or token reached the disk', async () => {
    await assertAuditedAndClean(ctx);
  });
});

describe('auth over time', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let dave: Awaited<ReturnType<typeof createUser>>;

  before(async () => {
    ctx = makeTestContext();
    app = await buildTestApp(ctx);
    dave = remember(await createUser(ctx, 'dave', ['approver']));
  });

  after(async () => {
    await app.close();
    await ctx.close();
  });

  it('a token answers TOKEN_EXPIRED once its lifetime has passed', async () => {
    const token = await tokenFor(ctx, dave.user);
    secrets.push(token);
    const me = () => app.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(token) });
    ctx.clock.advance(ctx.config.tokenTtlMs - 1000);
    assert.equal((await me()).statusCode, 200);
    ctx.clock.advance(1000);
    const res = await me();
    assert.equal(res.statusCode, 401);
    assert.equal(errorCode(res), 'TOKEN_EXPIRED');
  });

  it('five failures lock the account for 15 minutes, even parallel guesses, even the right password', async () => {
    const attempt = (username: string, password: string) =>
      app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
    const guess = 'guess-guess-guess-1';
    secrets.push(guess);
    // Eight guesses at once: each is counted before its password check, so only five get checked.
    const results = await Promise.all(Array.from({ length: 8 }, () => attempt('dave', guess)));
    const codes = results.map(errorCode).sort();
    assert.deepEqual(codes, [...Array(3).fill('ACCOUNT_LOCKED'), ...Array(5).fill('LOGIN_FAILED')]);
    assert.equal((await auditOf(ctx, 'auth.login_failed')).filter((e) => e.details.locked === true).length, 1);

    const locked = await attempt('dave', dave.password);
    assert.equal(locked.statusCode, 423);
    assert.equal(errorCode(locked), 'ACCOUNT_LOCKED');
    const retry = Number(locked.headers['retry-after']);
    assert.ok(retry > 890 && retry <= 900, `retry-after ${retry}`);
    assert.ok(((await new UserRepo(ctx.store).require(dave.user.id)).lockedUntilMs ?? 0) > ctx.now());

    ctx.clock.advance(15 * 60_000 + 1);
    secrets.push(await login(app, 'dave', dave.password));
    assert.equal((await new UserRepo(ctx.store).require(dave.user.id)).failedLogins, 0);

    // A username nobody has locks the same way, so ACCOUNT_LOCKED does not reveal real usernames.
    const ghost = await Promise.all(Array.from({ length: 5 }, () => attempt('ghost', guess)));
    assert.deepEqual(ghost.map(errorCode), Array(5).fill('LOGIN_FAILED'));
    const ghostLocked = await attempt('ghost', guess);
    assert.equal(errorCode(ghostLocked), 'ACCOUNT_LOCKED');
  });

  it('the audit log verifies, and no password or token reached the disk', async () => {
    await assertAuditedAndClean(ctx);
  });
});
