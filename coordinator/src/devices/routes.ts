// The device routes: a signed-in user enrolls their desktop's identity key; an admin approves it.

import { type FastifyInstance } from 'fastify';
import { type CoordinatorContext } from '../context.ts';
import { authenticate, requireRole, signedInUser } from '../auth/guard.ts';
import { idParamsSchema } from '../auth/schemas.ts';
import { iso } from '../auth/views.ts';
import { approveDevice, enrollDevice, revokeDevice } from './lifecycle.ts';
import { parseDevicePublicKey } from './publicKey.ts';
import { type Device, DeviceRepo } from './repo.ts';
import { UserRepo } from '../auth/users.ts';
import { type EventHub } from '../events/hub.ts';

const enrollBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'publicKey'],
  properties: {
    // Shown to admins when they approve: printable, not blank.
    name: { type: 'string', minLength: 1, maxLength: 64, pattern: '^(?=.*\\S)[^\\x00-\\x1f\\x7f]+$' },
    publicKey: { type: 'string', minLength: 64, maxLength: 64, pattern: '^[0-9a-fA-F]{64}$' },
  },
} as const;

export const deviceView = (d: Device) => ({
  id: d.id,
  userId: d.userId,
  name: d.name,
  publicKey: d.publicKey.toString('hex'),
  status: d.status,
  approvedBy: d.approvedBy,
  createdAt: iso(d.createdAtMs),
  updatedAt: iso(d.updatedAtMs),
});

export function registerDeviceRoutes(app: FastifyInstance, ctx: CoordinatorContext, hub: EventHub): void {
  const signedIn = authenticate(ctx);
  const users = new UserRepo(ctx.store);

  app.post<{ Body: { name: string; publicKey: string } }>(
    '/api/v1/devices',
    { onRequest: signedIn, schema: { body: enrollBodySchema } },
    async (req, reply) => {
      const publicKey = parseDevicePublicKey(req.body.publicKey);
      const user = signedInUser(req);
      const d = await enrollDevice(ctx, user, req.body.name, publicKey);
      // The admins who can approve it (never its owner, who may be an admin too).
      const admins = (await users.list())
        .filter((u) => !u.disabled && u.roles.includes('admin') && u.id !== user.id)
        .map((u) => u.id);
      hub.notify(admins, { event: 'device_awaiting_approval', deviceId: d.id });
      return reply.status(201).send({ device: deviceView(d) });
    },
  );

  app.get('/api/v1/devices', { onRequest: signedIn }, async (req) => {
    const user = signedInUser(req);
    const devices = new DeviceRepo(ctx.store);
    return {
      devices: (await (user.roles.includes('admin') ? devices.list() : devices.listOf(user.id))).map(deviceView),
    };
  });

  app.post<{ Params: { id: string } }>(
    '/api/v1/devices/:id/approve',
    { onRequest: [signedIn, requireRole('admin')], schema: { params: idParamsSchema } },
    async (req) => {
      const d = await approveDevice(ctx, signedInUser(req), req.params.id);
      hub.notify([d.userId], { event: 'device_changed', deviceId: d.id, status: d.status });
      return { device: deviceView(d) };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/devices/:id/revoke',
    { onRequest: signedIn, schema: { params: idParamsSchema } },
    async (req) => {
      const d = await revokeDevice(ctx, signedInUser(req), req.params.id);
      hub.notify([d.userId], { event: 'device_changed', deviceId: d.id, status: d.status });
      return { device: deviceView(d) };
    },
  );
}
