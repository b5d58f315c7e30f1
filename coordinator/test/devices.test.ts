// Device identity keys: enrolment by their user, approval by another admin, revocation, and the
// lookup the wallet module uses to pick the key for a DKG.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { type FastifyInstance } from 'fastify';
import { DeviceRepo } from '../src/devices/repo.ts';
import {
  type TestContext,
  bearer,
  buildTestApp,
  createUser,
  diskBytes,
  errorCode,
  makeTestContext,
  tokenFor,
} from './harness.ts';

/** A fresh desktop identity: the raw 32-byte Ed25519 public key, hex. */
function newIdentityKey(): string {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url').toString('hex');
}

interface DeviceJson {
  id: string;
  userId: string;
  name: string;
  publicKey: string;
  status: string;
  approvedBy: string | null;
}

describe('devices', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  const ids: Record<'alice' | 'zed' | 'sam' | 'olga', string> = { alice: '', zed: '', sam: '', olga: '' };
  const tokens: Record<keyof typeof ids, string> = { alice: '', zed: '', sam: '', olga: '' };
  const passwords: string[] = [];

  const enroll = (who: keyof typeof ids, payload: object) =>
    app.inject({ method: 'POST', url: '/api/v1/devices', headers: bearer(tokens[who]), payload });
  const act = (who: keyof typeof ids, id: string, action: 'approve' | 'revoke') =>
    app.inject({ method: 'POST', url: `/api/v1/devices/${id}/${action}`, headers: bearer(tokens[who]) });
  const device = (res: { json: () => unknown }) => (res.json() as { device: DeviceJson }).device;
  const audited = async (action: string) => (await ctx.audit.entries()).filter((e) => e.action === action);

  before(async () => {
    ctx = makeTestContext();
    app = await buildTestApp(ctx);
    const made = await Promise.all([
      createUser(ctx, 'alice', ['admin']),
      createUser(ctx, 'zed', ['admin']),
      createUser(ctx, 'sam', ['signer']),
      createUser(ctx, 'olga', ['initiator']),
    ]);
    for (const { user, password } of made) {
      const name = user.username as keyof typeof ids;
      ids[name] = user.id;
      tokens[name] = await tokenFor(ctx, user);
      passwords.push(password);
    }
  });

  after(async () => {
    await app.close();
    await ctx.close();
  });

  it('a signed-in user enrolls their desktop key as PENDING', async () => {
    const key = newIdentityKey();
    const res = await enroll('sam', { name: "Sam's workstation", publicKey: key.toUpperCase() });
    assert.equal(res.statusCode, 201);
    const d = device(res);
    assert.deepEqual(
      [d.userId, d.name, d.publicKey, d.status, d.approvedBy],
      [ids.sam, "Sam's workstation", key, 'PENDING', null],
    );
    const row = await ctx.store.get<{ public_key: Buffer; status: string }>(
      'SELECT public_key, status FROM devices WHERE id = ?',
      d.id,
    );
    assert.ok(row);
    assert.equal(row.public_key.toString('hex'), key);
    assert.equal(row.status, 'PENDING');
    assert.equal(await new DeviceRepo(ctx.store).approvedDeviceOf(ids.sam), undefined);
    assert.deepEqual((await audited('device.enrolled')).at(-1)?.details, {
      userId: ids.sam,
      name: "Sam's workstation",
      publicKey: key,
    });

    const again = await enroll('olga', { name: 'copy', publicKey: key });
    assert.equal(again.statusCode, 409);
    assert.equal(errorCode(again), 'CONFLICT');
  });

  it('refuses keys that are not sound Ed25519 points, and malformed bodies', async () => {
    const cases: [string, object, string, string | undefined][] = [
      // The all-zero key has small order: node:crypto would accept an all-zero signature under it.
      ['a small-order point', { name: 'x', publicKey: '00'.repeat(32) }, 'BAD_REQUEST', 'weak_point'],
      ['the identity point', { name: 'x', publicKey: '01' + '00'.repeat(31) }, 'BAD_REQUEST', 'weak_point'],
      ['not on the curve', { name: 'x', publicKey: '02' + '00'.repeat(31) }, 'BAD_REQUEST', 'not_on_curve'],
      ['a non-canonical encoding', { name: 'x', publicKey: 'ff'.repeat(32) }, 'BAD_REQUEST', 'not_on_curve'],
      ['63 hex digits', { name: 'x', publicKey: newIdentityKey().slice(1) }, 'BAD_REQUEST', undefined],
      ['not hex', { name: 'x', publicKey: 'zz'.repeat(32) }, 'BAD_REQUEST', undefined],
      ['a blank name', { name: '   ', publicKey: newIdentityKey() }, 'BAD_REQUEST', undefined],
      ['a control character', { name: 'a\u0007b', publicKey: newIdentityKey() }, 'BAD_REQUEST', undefined],
      ['a long name', { name: 'n'.repeat(65), publicKey: newIdentityKey() }, 'BAD_REQUEST', undefined],
      ['an unknown field', { name: 'x', publicKey: newIdentityKey(), userId: ids.alice }, 'BAD_REQUEST', undefined],
    ];
    for (const [what, payload, code, reason] of cases) {
      const res = await enroll('sam', payload);
      assert.equal(errorCode(res), code, what);
      if (reason)
        assert.equal((res.json() as { error: { details: { reason: string } } }).error.details.reason, reason, what);
    }
    const anonymous = await app.inject({
      method: 'POST',
      url: '/api/v1/devices',
      payload: { name: 'x', publicKey: newIdentityKey() },
    });
    assert.equal(errorCode(anonymous), 'UNAUTHENTICATED');
    assert.equal((await new DeviceRepo(ctx.store).listOf(ids.sam)).length, 1, 'nothing refused was stored');
  });

  it('only an admin approves; approvedDeviceOf gives the newest approved device', async () => {
    const first = device(await enroll('sam', { name: 'laptop', publicKey: newIdentityKey() }));
    const byUser = await act('olga', first.id, 'approve');
    assert.equal(byUser.statusCode, 403);
    assert.equal(errorCode(byUser), 'ROLE_REQUIRED');
    assert.equal(errorCode(await act('sam', first.id, 'approve')), 'ROLE_REQUIRED');

    const ok = await act('alice', first.id, 'approve');
    assert.equal(ok.statusCode, 200);
    assert.deepEqual([device(ok).status, device(ok).approvedBy], ['APPROVED', ids.alice]);
    assert.equal(errorCode(await act('alice', first.id, 'approve')), 'INVALID_STATE');
    assert.equal((await new DeviceRepo(ctx.store).approvedDeviceOf(ids.sam))?.id, first.id);
    assert.deepEqual((await audited('device.approved')).at(-1)?.details, {
      userId: ids.sam,
      publicKey: first.publicKey,
    });

    const second = device(await enroll('sam', { name: 'new laptop', publicKey: newIdentityKey() }));
    assert.equal(
      (await new DeviceRepo(ctx.store).approvedDeviceOf(ids.sam))?.id,
      first.id,
      'a PENDING device is not used',
    );
    await act('zed', second.id, 'approve');
    assert.equal((await new DeviceRepo(ctx.store).approvedDeviceOf(ids.sam))?.id, second.id);
    await act('zed', second.id, 'revoke');
    assert.equal(
      (await new DeviceRepo(ctx.store).approvedDeviceOf(ids.sam))?.id,
      first.id,
      'a REVOKED device is not used',
    );

    const unknown = await act('alice', '00000000-0000-0000-0000-000000000000', 'approve');
    assert.equal(errorCode(unknown), 'NOT_FOUND');
    assert.equal(errorCode(await act('alice', 'not an id', 'approve')), 'BAD_REQUEST');
  });

  it('an admin cannot approve their own device; another admin can', async () => {
    const own = device(await enroll('alice', { name: 'admin desk', publicKey: newIdentityKey() }));
    const self = await act('alice', own.id, 'approve');
    assert.equal(self.statusCode, 403);
    assert.equal(errorCode(self), 'SELF_APPROVAL');
    assert.equal((await new DeviceRepo(ctx.store).require(own.id)).status, 'PENDING');
    assert.equal(device(await act('zed', own.id, 'approve')).status, 'APPROVED');
  });

  it('a user lists their own devices; an admin lists all', async () => {
    const list = async (who: keyof typeof ids) =>
      (
        (await app.inject({ method: 'GET', url: '/api/v1/devices', headers: bearer(tokens[who]) })).json() as {
          devices: DeviceJson[];
        }
      ).devices;
    assert.deepEqual(await list('olga'), []);
    const sams = await list('sam');
    assert.ok(sams.length >= 3 && sams.every((d) => d.userId === ids.sam));
    const all = await list('zed');
    assert.deepEqual(new Set(all.map((d) => d.userId)), new Set([ids.sam, ids.alice]));
  });

  it('the owner or an admin revokes a device, for good; another user cannot', async () => {
    const d = device(await enroll('sam', { name: 'spare', publicKey: newIdentityKey() }));
    await act('alice', d.id, 'approve');
    const stranger = await act('olga', d.id, 'revoke');
    assert.equal(errorCode(stranger), 'ROLE_REQUIRED');
    assert.equal((await new DeviceRepo(ctx.store).require(d.id)).status, 'APPROVED');

    const byOwner = await act('sam', d.id, 'revoke');
    assert.equal(byOwner.statusCode, 200);
    assert.equal(device(byOwner).status, 'REVOKED');
    assert.equal(errorCode(await act('alice', d.id, 'revoke')), 'INVALID_STATE');
    assert.equal(errorCode(await act('alice', d.id, 'approve')), 'INVALID_STATE', 'a revoked key never returns');
    assert.deepEqual((await audited('device.revoked')).at(-1)?.details, {
      userId: ids.sam,
      publicKey: d.publicKey,
      was: 'APPROVED',
    });
    assert.equal((await audited('device.revoked')).at(-1)?.actor, ids.sam);
  });

  it('the audit log verifies, and no password or token reached the disk', async () => {
    assert.equal((await ctx.audit.verify()).ok, true);
    const bytes = diskBytes(ctx);
    for (const s of [...passwords, ...Object.values(tokens)]) assert.equal(bytes.indexOf(s), -1);
  });
});
