// Enrolling, approving and revoking device keys, each audited with the change it records.
// An admin may not approve their own device: the second pair of eyes is the point of approval.
// A user may revoke their own device (a lost laptop should not wait for an admin); only an
// admin may revoke someone else's.

import { type CoordinatorContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { type AuthenticatedUser } from '../auth/guard.ts';
import { type Device, DeviceRepo } from './repo.ts';

type Deps = Pick<CoordinatorContext, 'store' | 'audit' | 'now'>;

const hex = (d: Device) => d.publicKey.toString('hex');

export function enrollDevice(ctx: Deps, user: AuthenticatedUser, name: string, publicKey: Buffer): Promise<Device> {
  return ctx.store.transaction(async () => {
    const d = await new DeviceRepo(ctx.store).enroll(user.id, name, publicKey, ctx.now());
    await ctx.audit.append(user.id, 'device.enrolled', d.id, { userId: user.id, name, publicKey: hex(d) });
    return d;
  });
}

export function approveDevice(ctx: Deps, admin: AuthenticatedUser, deviceId: string): Promise<Device> {
  return ctx.store.transaction(async () => {
    const devices = new DeviceRepo(ctx.store);
    if ((await devices.require(deviceId)).userId === admin.id)
      throw new ApiError('SELF_APPROVAL', 'another admin must approve your own device');
    const d = await devices.approve(deviceId, admin.id, ctx.now());
    await ctx.audit.append(admin.id, 'device.approved', d.id, { userId: d.userId, publicKey: hex(d) });
    return d;
  });
}

export function revokeDevice(ctx: Deps, by: AuthenticatedUser, deviceId: string): Promise<Device> {
  return ctx.store.transaction(async () => {
    const devices = new DeviceRepo(ctx.store);
    const before = await devices.require(deviceId);
    if (before.userId !== by.id && !by.roles.includes('admin'))
      throw new ApiError('ROLE_REQUIRED', "revoking another user's device needs the admin role", {
        required: 'admin',
      });
    const d = await devices.revoke(deviceId, ctx.now());
    await ctx.audit.append(by.id, 'device.revoked', d.id, { userId: d.userId, publicKey: hex(d), was: before.status });
    return d;
  });
}
