// Policy routes: anyone signed in may read a wallet's policy (the initiator needs its limits to
// fill in a request); only an admin may set it, and every change is audited with before and after.

import { type FastifyInstance } from 'fastify';
import { type CoordinatorContext } from '../context.ts';
import { authenticate, requireRole, signedInUser } from '../auth/guard.ts';
import { idParamsSchema } from '../auth/schemas.ts';
import { iso } from '../auth/views.ts';
import { type EventHub } from '../events/hub.ts';
import { UserRepo } from '../auth/users.ts';
import { WalletRepo } from '../wallets/repo.ts';
import { MAX_QUORUM, PolicyRepo, type WalletPolicy } from './repo.ts';

/** Wei as a decimal string without leading zeros; at most 78 digits (2^256 has 78), the repo checks the rest. */
const weiSchema = { type: 'string', minLength: 1, maxLength: 78, pattern: '^(0|[1-9][0-9]*)$' } as const;

const putBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['perWithdrawalLimitWei', 'dailyLimitWei', 'whitelistOnly', 'quorum'],
  properties: {
    perWithdrawalLimitWei: weiSchema,
    dailyLimitWei: weiSchema,
    whitelistOnly: { type: 'boolean' },
    quorum: { type: 'integer', minimum: 1, maximum: MAX_QUORUM },
  },
} as const;

interface PutBody {
  perWithdrawalLimitWei: string;
  dailyLimitWei: string;
  whitelistOnly: boolean;
  quorum: number;
}

/** Amounts as decimal strings: JSON numbers cannot hold a uint256. */
export const policyView = (p: WalletPolicy, updatedByName: string | null) => ({
  walletId: p.walletId,
  perWithdrawalLimitWei: p.perWithdrawalLimitWei.toString(),
  dailyLimitWei: p.dailyLimitWei.toString(),
  whitelistOnly: p.whitelistOnly,
  quorum: p.quorum,
  updatedBy: p.updatedBy,
  /** The admin's username, for people (null if that user no longer exists). */
  updatedByName,
  updatedAt: iso(p.updatedAtMs),
});

/** The audited form of one side of a change: every value a string, null when there was no policy. */
function auditSide(prefix: 'old' | 'new', p: WalletPolicy | undefined) {
  const s = (v: { toString(): string } | undefined) => (v === undefined ? null : v.toString());
  return {
    [`${prefix}PerWithdrawalLimitWei`]: s(p?.perWithdrawalLimitWei),
    [`${prefix}DailyLimitWei`]: s(p?.dailyLimitWei),
    [`${prefix}WhitelistOnly`]: s(p?.whitelistOnly),
    [`${prefix}Quorum`]: s(p?.quorum),
  };
}

// The hub is taken like every feature's, though a policy change tells no desktop yet.
export function registerPolicyRoutes(app: FastifyInstance, ctx: CoordinatorContext, _hub: EventHub): void {
  const wallets = new WalletRepo(ctx.store);
  const policies = new PolicyRepo(ctx.store);
  const signedIn = authenticate(ctx);
  const users = new UserRepo(ctx.store);
  const view = async (p: WalletPolicy) => policyView(p, (await users.get(p.updatedBy))?.username ?? null);

  app.get<{ Params: { id: string } }>(
    '/api/v1/wallets/:id/policy',
    { onRequest: signedIn, schema: { params: idParamsSchema } },
    async (req) => {
      await wallets.require(req.params.id);
      // A wallet without a policy is a normal state (it cannot withdraw yet), not a missing resource.
      const p = await policies.get(req.params.id);
      return { policy: p ? await view(p) : null };
    },
  );

  app.put<{ Params: { id: string }; Body: PutBody }>(
    '/api/v1/wallets/:id/policy',
    { onRequest: [signedIn, requireRole('admin')], schema: { params: idParamsSchema, body: putBodySchema } },
    async (req) => {
      const admin = signedInUser(req);
      const b = req.body;
      // One transaction: the "before" the audit records is the policy this change replaced.
      const p = await ctx.store.transaction(async () => {
        const wallet = await wallets.require(req.params.id);
        const before = await policies.get(wallet.id);
        const after = await policies.set(
          wallet.id,
          {
            perWithdrawalLimitWei: BigInt(b.perWithdrawalLimitWei),
            dailyLimitWei: BigInt(b.dailyLimitWei),
            whitelistOnly: b.whitelistOnly,
            quorum: b.quorum,
          },
          admin.id,
          ctx.now(),
        );
        await ctx.audit.append(admin.username, 'policy.changed', wallet.id, {
          ...auditSide('old', before),
          ...auditSide('new', after),
        });
        return after;
      });
      return { policy: await view(p) };
    },
  );
}
