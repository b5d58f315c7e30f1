// Moving a wallet's key to another workstation of its signer (a backup restored there), against the real signer:
// the user asks from an approved workstation, another admin approves, the signer rebinds the keyset under a rebind
// permit, and only then does the wallet name its new workstation. Each refusal has its code and changes nothing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ethereumAddress } from '@tandem/tecdsa/address';
import { generateRingPedersen } from '@tandem/tecdsa/ringPedersen';
import { nativeModPow } from '@tandem/tecdsa/modpowNative';
import { systemRng } from '@tandem/tecdsa/rng';
import { FULL } from '@tandem/tecdsa/params';
import { identityFromSeed } from '@tandem/tecdsa/envelope';
import { startStack, type Stack } from './stack.ts';
import { MpcSocket, dkgOverWss } from './p2Client.ts';

let s: Stack;
before(async () => {
  s = await startStack();
});
after(async () => {
  await s.close();
});

type Json = Record<string, unknown>;
const code = (r: { json: Json }) => (r.json['error'] as { code: string } | undefined)?.code;

test("a wallet's key moves to its signer's other workstation only after another admin approves", async () => {
  const alice = await s.signerUser('alice');
  const socket = await MpcSocket.open(s.wssUrl, alice.token, s.caCert);
  const created = await s.api('POST', '/api/v1/wallets', s.admin.token, { name: 'Ops', signerUserId: alice.id });
  const wallet = created.json as { id: string; dkgWalletId: string; deviceId: string | null };
  const rp = generateRingPedersen(nativeModPow()!, systemRng, FULL.nHatBits);
  const { share } = await dkgOverWss(socket, alice.device, s.signerIdentity, rp, wallet);
  socket.close();
  const move = (token: string, deviceId: string) =>
    s.api('POST', `/api/v1/wallets/${wallet.id}/move`, token, { deviceId });
  const decide = (token: string, what: 'approve' | 'reject') =>
    s.api('POST', `/api/v1/wallets/${wallet.id}/move/${what}`, token);
  const view = async () => (await s.api('GET', `/api/v1/wallets/${wallet.id}`, alice.token)).json;

  // Not active yet: nothing to move.
  const firstDevice = (await view())['deviceId'] as string;
  assert.match(firstDevice, /^[0-9a-f-]{36}$/);
  const laptopKey = identityFromSeed(randomBytes(32));
  const enrolled = await s.api('POST', '/api/v1/devices', alice.token, {
    name: "Alice's laptop",
    publicKey: Buffer.from(laptopKey.publicKey).toString('hex'),
  });
  const laptop = (enrolled.json['device'] as { id: string }).id;
  assert.equal(code(await move(alice.token, laptop)), 'INVALID_STATE');
  const stored = await s.api('POST', `/api/v1/wallets/${wallet.id}/share-stored`, alice.token, {
    address: ethereumAddress(share.Q),
  });
  assert.equal(stored.status, 200);

  // Refusals: an unapproved workstation, the one it is already on, another user's wallet or device, no move yet.
  assert.equal(code(await move(alice.token, laptop)), 'DEVICE_NOT_APPROVED');
  assert.equal(code(await move(alice.token, firstDevice)), 'INVALID_STATE');
  const bob = await s.signerUser('bob');
  assert.equal(code(await move(bob.token, laptop)), 'FORBIDDEN');
  assert.equal(code(await decide(s.admin.token, 'approve')), 'INVALID_STATE');
  assert.equal((await s.api('POST', `/api/v1/devices/${laptop}/approve`, s.admin.token)).status, 200);
  const initiator = await s.user('ivan', ['initiator']);
  assert.equal(code(await move(initiator.token, laptop)), 'ROLE_REQUIRED');

  // Asked, then withdrawn by the user; asked again.
  const asked = await move(alice.token, laptop);
  assert.equal(asked.status, 201, JSON.stringify(asked.json));
  const pending = asked.json['pendingMove'] as { toDeviceId: string; toDeviceName: string; requestedByName: string };
  assert.deepEqual(
    [pending.toDeviceId, pending.toDeviceName, pending.requestedByName],
    [laptop, "Alice's laptop", 'alice'],
  );
  assert.equal(asked.json['deviceId'], firstDevice, 'nothing moves before approval');
  assert.equal(code(await move(alice.token, laptop)), 'CONFLICT');
  assert.equal(code(await decide(bob.token, 'reject')), 'FORBIDDEN');
  assert.equal((await decide(alice.token, 'reject')).json['pendingMove'], null);
  assert.equal((await move(alice.token, laptop)).status, 201);

  // Only an admin approves (the requester here is not one; an admin's own request needs another admin: SELF_APPROVAL).
  const carol = await s.user('carol', ['signer', 'admin']);
  assert.equal(code(await decide(alice.token, 'approve')), 'ROLE_REQUIRED');
  const keysetBefore = (await s.coordinator.ctx.signer.getKeyset(`w-${wallet.id}`)).keyset!;
  assert.deepEqual(Buffer.from(keysetBefore.devicePublicKey), Buffer.from(alice.device.publicKey));

  // A workstation revoked after the request cannot receive the wallet; the move stays pending.
  const spare = identityFromSeed(randomBytes(32));
  const spareId = (
    (
      await s.api('POST', '/api/v1/devices', alice.token, {
        name: 'spare',
        publicKey: Buffer.from(spare.publicKey).toString('hex'),
      })
    ).json['device'] as { id: string }
  ).id;
  await s.api('POST', `/api/v1/devices/${spareId}/approve`, s.admin.token);
  await decide(alice.token, 'reject');
  assert.equal((await move(alice.token, spareId)).status, 201);
  await s.api('POST', `/api/v1/devices/${spareId}/revoke`, alice.token);
  assert.equal(code(await decide(carol.token, 'approve')), 'INVALID_STATE');
  assert.equal((await view())['deviceId'], firstDevice);
  await decide(alice.token, 'reject');

  // Approved by an admin who did not ask: the signer now binds the keyset to the laptop's key.
  await move(alice.token, laptop);
  const approved = await decide(carol.token, 'approve');
  assert.equal(approved.status, 200, JSON.stringify(approved.json));
  assert.deepEqual([approved.json['deviceId'], approved.json['pendingMove']], [laptop, null]);
  const keyset = (await s.coordinator.ctx.signer.getKeyset(`w-${wallet.id}`)).keyset!;
  assert.deepEqual(Buffer.from(keyset.devicePublicKey), Buffer.from(laptopKey.publicKey));
  assert.equal(code(await decide(carol.token, 'approve')), 'INVALID_STATE', 'nothing left to approve');

  const actions = (await s.coordinator.ctx.audit.entries())
    .filter((e) => e.subject === wallet.id && e.action.startsWith('wallet.move'))
    .map((e) => e.action);
  assert.deepEqual(actions.slice(-3), ['wallet.move_requested', 'wallet.move_approved', 'wallet.moved']);
  assert.ok(actions.includes('wallet.move_rejected'));

  // And back to the desk, the same way.
  assert.equal((await move(alice.token, firstDevice)).status, 201);
  assert.equal((await decide(s.admin.token, 'approve')).json['deviceId'], firstDevice);
  const back = (await s.coordinator.ctx.signer.getKeyset(`w-${wallet.id}`)).keyset!;
  assert.deepEqual(Buffer.from(back.devicePublicKey), Buffer.from(alice.device.publicKey));
});
