// Sends signed withdrawals and follows them to their receipts: signed → broadcast → confirmed
// (or failed when the transaction reverted). Idempotent by construction: the stored raw
// transaction is what is (re)sent, after a crash too, and it is never signed again.
//
// A send the node refuses (the wallet short of funds for the fees, the node down) is retried with
// a growing wait per withdrawal, from 1 s up to RETRY_MAX_MS, so a stuck transaction neither
// floods the node and the log nor slows everything else the coordinator does.

const RETRY_MAX_MS = 60_000;

import { type CoordinatorContext } from '../context.ts';
import { broadcast } from '../chain/broadcast.ts';
import { type WithdrawalService } from './service.ts';

export class Broadcaster {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Withdrawals whose last send failed: how often, and not before when to try again. */
  private readonly retries = new Map<string, { failures: number; atMs: number }>();

  constructor(
    private readonly ctx: CoordinatorContext,
    private readonly withdrawals: WithdrawalService,
    /** Runs first in each pass: settles withdrawals left in "signing" (see recovery.ts). */
    private readonly reconcile: () => Promise<void> = async () => {},
  ) {}

  /**
   * One pass over signed and broadcast withdrawals; concurrent calls share the pass. It never
   * rejects (timers and hooks call it without waiting): a pass that fails is logged, the next retries.
   */
  tick(): Promise<void> {
    return (this.running ??= this.pass()
      .catch((err: unknown) => this.ctx.log.error({ err: (err as Error).message }, 'broadcast pass failed'))
      .finally(() => (this.running = undefined)));
  }

  private async pass(): Promise<void> {
    const c = this.ctx;
    const repo = this.withdrawals.repo;
    await this.reconcile().catch((err: unknown) => c.log.warn({ err: (err as Error).message }, 'reconcile failed'));
    const signed = await repo.inStates(['signed']);
    const waiting = new Set(signed.map((w) => w.id));
    for (const id of this.retries.keys()) if (!waiting.has(id)) this.retries.delete(id);
    for (const w of signed) {
      const retry = this.retries.get(w.id);
      if (retry && c.now() < retry.atMs) continue;
      try {
        const sent = await broadcast(c.chain, w.rawSigned as `0x${string}`);
        this.retries.delete(w.id);
        const moved = await c.store.transaction(async () => {
          if (!(await repo.transition(w.id, ['signed'], 'broadcast', c.now()))) return undefined;
          await c.audit.append('coordinator', 'withdrawal.broadcast', w.id, {
            txHash: sent.hash,
            alreadyKnown: sent.alreadyKnown,
          });
          return repo.require(w.id);
        });
        if (moved) this.withdrawals.notifyChanged(moved);
      } catch (err) {
        const failures = (retry?.failures ?? 0) + 1;
        const waitMs = Math.min(RETRY_MAX_MS, 1000 * 2 ** (failures - 1));
        this.retries.set(w.id, { failures, atMs: c.now() + waitMs });
        c.log.warn(
          { withdrawalId: w.id, err: (err as Error).message, failures, retryInMs: waitMs },
          'broadcast failed; will retry',
        );
      }
    }
    if ((await repo.inStates(['broadcast'])).length === 0) return;
    let head: number;
    try {
      head = await c.chain.blockNumber();
    } catch {
      return;
    }
    for (const w of await repo.inStates(['broadcast'])) {
      const receipt = await c.chain.receipt(w.txHash as `0x${string}`).catch(() => undefined);
      if (!receipt || head - receipt.blockNumber + 1 < c.config.chain.confirmations) {
        // Dropped? Resend what we signed (a withdrawal found paid on chain has no raw transaction here).
        if (!receipt && w.rawSigned) await broadcast(c.chain, w.rawSigned as `0x${string}`).catch(() => undefined);
        continue;
      }
      const to = receipt.status === 'success' ? 'confirmed' : 'failed';
      const moved = await c.store.transaction(async () => {
        const ok = await repo.transition(w.id, ['broadcast'], to, c.now(), {
          block_number: receipt.blockNumber,
          receipt_status: receipt.status,
          ...(to === 'failed' ? { failure: 'the transaction reverted' } : {}),
        });
        if (!ok) return undefined;
        await c.audit.append('coordinator', `withdrawal.${to}`, w.id, {
          block: receipt.blockNumber,
          status: receipt.status,
        });
        return repo.require(w.id);
      });
      if (moved) this.withdrawals.notifyChanged(moved);
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
