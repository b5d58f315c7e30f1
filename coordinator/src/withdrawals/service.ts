// What people do with withdrawals: request (initiator), approve or reject (approver), edit and
// cancel (the initiator, or an admin to cancel), and the signer's "prepare to sign", which fixes
// the transaction (nonce, fees) the desktop will review and hash itself. Policy is checked when
// a request is made or edited and again when signing is prepared.

import { getAddress, isAddress } from 'viem';
import { txDigest, txFromJson, txToJson, type Eip1559Tx } from '@tandem/tecdsa/txDigest';
import { type CoordinatorContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { type AuthenticatedUser } from '../auth/guard.ts';
import { UserRepo } from '../auth/users.ts';
import { WalletRepo } from '../wallets/repo.ts';
import { PolicyRepo } from '../policy/repo.ts';
import { evaluatePolicy } from '../policy/evaluate.ts';
import { spentLast24hWei } from '../policy/spent.ts';
import { AddressBook } from '../addressBook/repo.ts';
import { allocateNonce, releaseNonce } from '../chain/nonces.ts';
import { assertInSync } from '../chain/sentTxs.ts';
import { buildEip1559 } from '../chain/buildTx.ts';
import { type EventHub } from '../events/hub.ts';
import { type Withdrawal, WithdrawalRepo } from './repo.ts';

export interface WithdrawalInput {
  walletId: string;
  to: string;
  amountWei: bigint;
  note: string;
}

export class WithdrawalService {
  readonly repo: WithdrawalRepo;
  private readonly wallets: WalletRepo;
  private readonly policies: PolicyRepo;
  private readonly book: AddressBook;
  private readonly users: UserRepo;
  /** The withdrawal events being sent, one after the other (see changed). */
  private events: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: CoordinatorContext,
    private readonly hub: EventHub,
  ) {
    this.repo = new WithdrawalRepo(ctx.store);
    this.wallets = new WalletRepo(ctx.store);
    this.policies = new PolicyRepo(ctx.store);
    this.book = new AddressBook(ctx.store);
    this.users = new UserRepo(ctx.store);
  }

  private destination(to: string): string {
    if (!isAddress(to, { strict: false }))
      throw new ApiError('BAD_REQUEST', 'the destination is not an Ethereum address');
    if (to !== to.toLowerCase() && to.slice(2) !== to.slice(2).toUpperCase() && getAddress(to) !== to)
      throw new ApiError('BAD_REQUEST', 'the destination address has a wrong checksum (a typo?)', {
        reason: 'checksum',
      });
    return getAddress(to);
  }

  /**
   * Throws POLICY_VIOLATION naming each broken rule (the UI shows the messages). Call it in the
   * transaction that writes what it allows, so the spending it counts cannot change before that.
   */
  private async checkPolicy(walletId: string, to: string, amountWei: bigint, exclude?: string): Promise<void> {
    if (amountWei <= 0n) throw new ApiError('BAD_REQUEST', 'the amount must be more than zero');
    const policy = await this.policies.require(walletId);
    const verdict = evaluatePolicy(policy, {
      amountWei,
      toWhitelisted: await this.book.isWhitelisted(to),
      spentLast24hWei: await spentLast24hWei(this.ctx.store, walletId, this.ctx.now(), exclude),
    });
    if (!verdict.ok) {
      const v = verdict.violations;
      throw new ApiError('POLICY_VIOLATION', v.map((x) => x.message).join('; '), {
        rule: v.map((x) => x.rule).join(','),
      });
    }
  }

  private async approvers(): Promise<string[]> {
    return (await this.users.list()).filter((u) => !u.disabled && u.roles.includes('approver')).map((u) => u.id);
  }

  /**
   * Tells who cares that a withdrawal changed, once the current request has answered: the event is
   * news, not part of the answer, so it never delays the desktop's reply in a signing. Events go
   * out one after the other (a chain of promises), so those of one withdrawal keep their order
   * although finding their recipients takes reads; a failure is logged, never thrown.
   */
  private changed(w: Withdrawal): void {
    const event = { event: 'withdrawal_changed', withdrawalId: w.id, state: w.state } as const;
    setImmediate(() => {
      this.events = this.events.then(async () => {
        try {
          const wallet = await this.wallets.get(w.walletId);
          this.hub.notify([w.createdBy, ...(wallet ? [wallet.signerUserId] : []), ...(await this.approvers())], event);
        } catch (e) {
          this.ctx.log.warn({ err: (e as Error).message, withdrawalId: w.id }, 'withdrawal event not sent');
        }
      });
    });
  }

  async request(user: AuthenticatedUser, input: WithdrawalInput): Promise<Withdrawal> {
    const c = this.ctx;
    // The wallet is read in the transaction that creates the request, so it is active when it is created.
    const w = await c.store.transaction(async () => {
      const wallet = await this.wallets.require(input.walletId);
      if (wallet.status !== 'ACTIVE') throw new ApiError('INVALID_STATE', 'this wallet is not active yet');
      const to = this.destination(input.to);
      await this.checkPolicy(wallet.id, to, input.amountWei);
      const created = await this.repo.create(
        { walletId: wallet.id, toAddress: to, amountWei: input.amountWei, note: input.note, createdBy: user.id },
        c.now(),
        c.config.withdrawalTtlMs,
      );
      await c.audit.append(user.username, 'withdrawal.requested', created.id, {
        wallet: wallet.id,
        to,
        amountWei: input.amountWei.toString(),
      });
      return created;
    });
    // The requester never approves their own request, even when they hold the approver role.
    this.hub.notify(
      (await this.approvers()).filter((id) => id !== user.id),
      { event: 'withdrawal_awaiting_approval', withdrawalId: w.id },
    );
    return w;
  }

  async approve(user: AuthenticatedUser, id: string, decision: 'approve' | 'reject'): Promise<Withdrawal> {
    const c = this.ctx;
    const w = await c.store.transaction(async () => {
      const cur = await this.repo.require(id);
      if (cur.state !== 'pending_approval')
        throw new ApiError('INVALID_STATE', `this withdrawal is ${cur.state.replace('_', ' ')}`);
      if (cur.createdBy === user.id) throw new ApiError('SELF_APPROVAL', 'you cannot approve your own request');
      if (!(await this.repo.addApproval(id, cur.version, user.id, decision, c.now())))
        throw new ApiError('ALREADY_APPROVED', 'you have already decided on this request');
      await c.audit.append(user.username, decision === 'approve' ? 'withdrawal.approved' : 'withdrawal.rejected', id, {
        version: cur.version,
      });
      if (decision === 'reject') {
        await this.repo.transition(id, ['pending_approval'], 'rejected', c.now(), {}, cur.version);
      } else {
        const quorum = (await this.policies.require(cur.walletId)).quorum;
        const yes = (await this.repo.approvals(id, cur.version)).filter((a) => a.decision === 'approve').length;
        if (
          yes >= quorum &&
          (await this.repo.transition(id, ['pending_approval'], 'approved', c.now(), {}, cur.version))
        )
          await c.audit.append('coordinator', 'withdrawal.quorum_reached', id, { approvals: yes, quorum });
      }
      return this.repo.require(id);
    });
    this.changed(w);
    if (w.state === 'approved') {
      const wallet = await this.wallets.require(w.walletId);
      this.hub.notify([wallet.signerUserId], { event: 'withdrawal_awaiting_signature', withdrawalId: w.id });
    }
    return w;
  }

  async edit(
    user: AuthenticatedUser,
    id: string,
    e: { to?: string; amountWei?: bigint; note?: string },
  ): Promise<Withdrawal> {
    const c = this.ctx;
    const w = await c.store.transaction(async () => {
      const cur = await this.repo.require(id);
      if (cur.createdBy !== user.id) throw new ApiError('FORBIDDEN', 'only the initiator edits a request');
      const next = {
        toAddress: e.to === undefined ? cur.toAddress : this.destination(e.to),
        amountWei: e.amountWei ?? cur.amountWei,
        note: e.note ?? cur.note,
      };
      await this.checkPolicy(cur.walletId, next.toAddress, next.amountWei, id);
      if (!(await this.repo.edit(id, cur.version, next, c.now())))
        throw new ApiError('INVALID_STATE', `a ${cur.state.replace('_', ' ')} withdrawal cannot be edited`);
      if (cur.nonce !== null) await releaseNonce(c.store, cur.walletId, cur.nonce);
      await c.store.run('UPDATE withdrawals SET nonce = NULL, tx_json = NULL, tx_digest = NULL WHERE id = ?', id);
      await c.audit.append(user.username, 'withdrawal.edited', id, {
        version: cur.version + 1,
        to: next.toAddress,
        amountWei: next.amountWei.toString(),
      });
      return this.repo.require(id);
    });
    this.changed(w);
    return w;
  }

  async cancel(user: AuthenticatedUser, id: string): Promise<Withdrawal> {
    const c = this.ctx;
    const w = await c.store.transaction(async () => {
      const cur = await this.repo.require(id);
      if (cur.createdBy !== user.id && !user.roles.includes('admin'))
        throw new ApiError('FORBIDDEN', 'only the initiator or an admin cancels a request');
      if (!(await this.repo.transition(id, ['pending_approval', 'approved'], 'cancelled', c.now())))
        throw new ApiError('INVALID_STATE', `a ${cur.state.replace('_', ' ')} withdrawal cannot be cancelled`);
      if (cur.nonce !== null) await releaseNonce(c.store, cur.walletId, cur.nonce);
      await c.audit.append(user.username, 'withdrawal.cancelled', id, {});
      return this.repo.require(id);
    });
    this.changed(w);
    return w;
  }

  /**
   * Requests past their expiry that were never signed; returns how many expired. Each is read
   * again in the transaction that expires it: between the listing and that transaction it may have
   * been prepared (a nonce reserved, which must go back), edited, cancelled or started signing.
   * Run from a timer, so it logs its failures instead of throwing them.
   */
  async expire(): Promise<number> {
    const c = this.ctx;
    let n = 0;
    try {
      for (const listed of await this.repo.inStates(['pending_approval', 'approved'])) {
        if (listed.expiresAtMs > c.now()) continue;
        try {
          const expired = await c.store.transaction(async () => {
            const w = await this.repo.get(listed.id);
            if (!w || w.expiresAtMs > c.now()) return undefined;
            if (!(await this.repo.transition(w.id, ['pending_approval', 'approved'], 'expired', c.now())))
              return undefined;
            if (w.nonce !== null) await releaseNonce(c.store, w.walletId, w.nonce);
            await c.audit.append('coordinator', 'withdrawal.expired', w.id, {});
            return w;
          });
          if (expired) {
            n++;
            this.changed({ ...expired, state: 'expired' });
          }
        } catch (e) {
          c.log.error({ err: (e as Error).message, withdrawalId: listed.id }, 'withdrawal expiry failed');
        }
      }
    } catch (e) {
      c.log.error({ err: (e as Error).message }, 'withdrawal expiry failed');
    }
    return n;
  }

  /**
   * The wallet's signer asks to sign: the transaction is fixed from the approved record only
   * (its nonce allocated once, fees fresh from the node) and returned for the desktop to show
   * and hash itself. The node is asked first; the record is read again, checked and fixed in one
   * transaction.
   */
  async prepareSigning(user: AuthenticatedUser, id: string): Promise<{ withdrawal: Withdrawal; tx: Eip1559Tx }> {
    const c = this.ctx;
    const w0 = await this.repo.require(id);
    const wallet = await this.wallets.require(w0.walletId);
    if (wallet.signerUserId !== user.id)
      throw new ApiError('FORBIDDEN', "this wallet's key share belongs to another user");
    if (w0.state !== 'approved')
      throw new ApiError('INVALID_STATE', `this withdrawal is ${w0.state.replace('_', ' ')}`);
    const address = wallet.address as `0x${string}`;
    const chainNonce = await c.chain.pendingNonce(address);
    const draft = await buildEip1559(c.chain, { to: w0.toAddress, valueWei: w0.amountWei, nonce: 0 });
    return c.store.transaction(async () => {
      const w = await this.repo.require(id);
      if (w.state !== 'approved' || w.version !== w0.version)
        throw new ApiError('INVALID_STATE', 'the withdrawal changed; reload it');
      await this.checkPolicy(w.walletId, w.toAddress, w.amountWei, w.id);
      await assertInSync(c.store, w.walletId, chainNonce);
      const nonce = w.nonce ?? (await allocateNonce(c.store, w.walletId, address, chainNonce));
      const fixed: Eip1559Tx = { ...draft, nonce: BigInt(nonce) };
      await c.store.run(
        'UPDATE withdrawals SET nonce = ?, tx_json = ?, tx_digest = ?, updated_at_ms = ? WHERE id = ?',
        nonce,
        JSON.stringify(txToJson(fixed)),
        Buffer.from(txDigest(fixed)),
        c.now(),
        id,
      );
      return { withdrawal: await this.repo.require(id), tx: fixed };
    });
  }

  /** The transaction fixed by prepareSigning. */
  preparedTx(w: Withdrawal): Eip1559Tx {
    if (!w.txJson) throw new ApiError('INVALID_STATE', 'prepare the signing first');
    return txFromJson(JSON.parse(w.txJson)) as Eip1559Tx;
  }

  notifyChanged(w: Withdrawal): void {
    this.changed(w);
  }
}
