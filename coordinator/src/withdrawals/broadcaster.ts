// Sends signed withdrawals and follows them to their receipts: signed → broadcast → confirmed
// (or failed when the transaction reverted). Idempotent by construction: the stored raw
// transaction is what is (re)sent, after a crash too, and it is never signed again.

import { type CoordinatorContext } from '../context.ts';
import { broadcast } from '../chain/broadcast.ts';
import { type WithdrawalService } from './service.ts';

export class Broadcaster {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly ctx: CoordinatorContext,
    private readonly withdrawals: WithdrawalService,
    /** Runs first in each pass: settles withdrawals left in "signing" (see recovery.ts). */
    private readonly reconcile: () => Promise<void> = async () => {},
  ) {}

  /** One pass over signed and broadcast withdrawals; concurrent calls share the pass. */
  tick(): Promise<void> {
    return (this.running ??= this.pass().finally(() => (this.running = undefined)));
  }

  private async pass(): Promise<void> {
    const c = this.ctx;
    const repo = this.withdrawals.repo;
    await this.reconcile().catch((err: unknown) => c.log.warn({ err: (err as Error).message }, 'reconcile failed'));
    for (const w of repo.inStates(['signed'])) {
      try {
        const sent = await broadcast(c.chain, w.rawSigned as `0x${string}`);
        const moved = c.db.transaction(() => {
          if (!repo.transition(w.id, ['signed'], 'broadcast', c.now())) return false;
          c.audit.append('coordinator', 'withdrawal.broadcast', w.id, {
            txHash: sent.hash,
            alreadyKnown: sent.alreadyKnown,
          });
          return true;
        })();
        if (moved) this.withdrawals.notifyChanged(repo.require(w.id));
      } catch (err) {
        c.log.warn({ withdrawalId: w.id, err: (err as Error).message }, 'broadcast failed; will retry');
      }
    }
    if (repo.inStates(['broadcast']).length === 0) return;
    let head: number;
    try {
      head = await c.chain.blockNumber();
    } catch {
      return;
    }
    for (const w of repo.inStates(['broadcast'])) {
      const receipt = await c.chain.receipt(w.txHash as `0x${string}`).catch(() => undefined);
      if (!receipt || head - receipt.blockNumber + 1 < c.config.chain.confirmations) {
        if (!receipt) await broadcast(c.chain, w.rawSigned as `0x${string}`).catch(() => undefined); // dropped? resend
        continue;
      }
      const to = receipt.status === 'success' ? 'confirmed' : 'failed';
      const moved = c.db.transaction(() => {
        const ok = repo.transition(w.id, ['broadcast'], to, c.now(), {
          block_number: receipt.blockNumber,
          receipt_status: receipt.status,
          ...(to === 'failed' ? { failure: 'the transaction reverted' } : {}),
        });
        if (ok)
          c.audit.append('coordinator', `withdrawal.${to}`, w.id, {
            block: receipt.blockNumber,
            status: receipt.status,
          });
        return ok;
      })();
      if (moved) this.withdrawals.notifyChanged(repo.require(w.id));
    }
  }

  start(pollMs: number): void {
    this.timer = setInterval(() => void this.tick(), pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
