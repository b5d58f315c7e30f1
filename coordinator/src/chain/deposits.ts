// The deposit watcher: follows the chain block by block and records every native-ETH transfer
// into an ACTIVE wallet, so the desktop can show incoming funds with their confirmations, and
// every transaction an ACTIVE wallet sent (sentTxs.ts: matched to our withdrawals).
//
// - Only top-level transactions are seen (value > 0, `to` = a wallet address). ETH sent by a
//   contract's internal call needs traces and is not recorded; tokens are out of scope. Our
//   wallets are plain EOAs without code, so a transfer to one cannot revert: no receipt needed.
// - The cursor chain_cursors['deposits'] is the last block fully scanned. Deposits of a block and
//   the cursor move in one store transaction, so a crash re-scans at most one block and the
//   (tx_hash, wallet_id) key makes that harmless.
// - Reorgs: block hashes chain, so if the hash of the cursor block is still the one we saw,
//   everything below it is too. Each scan compares it (from memory, or after a restart with the
//   hash stored with the cursor) and, if it changed, walks down to the fork, deletes the deposits
//   of the orphaned blocks and scans again from the fork. After a restart the hashes of the blocks
//   below are no longer known: the first scan re-checks the blocks of recent stored deposits and,
//   if the cursor block changed, rescans the last REORG_DEPTH blocks.

import { getAddress, isAddress, keccak256, type Hex } from 'viem';
import { type Logger } from 'pino';
import { type Metrics } from '@tandem/common/metrics';
import { type Store } from '../db/store.ts';
import { type AuditTrail } from '../audit/auditTrail.ts';
import { ApiError } from '../errors.ts';
import { type ChainBlock, type ChainClient } from './client.ts';
import {
  activeWalletsByAddress,
  deleteDepositsAbove,
  depositBlocks,
  listDeposits,
  readCursor,
  readCursorHash,
  upsertDeposit,
  writeCursor,
  type DepositView,
  type WatchedWallet,
} from './depositStore.ts';
import { recordSent } from './sentTxs.ts';

export const DEPOSITS_CURSOR = 'deposits';

/**
 * On the very first run the watcher starts this many blocks below the head, not at genesis:
 * wallets are created by this coordinator, so older blocks cannot hold deposits to them, and
 * walking a public chain from block 0 would take days. The window still catches funds sent
 * just before the first start (e.g. the dev stack funding a wallet while the coordinator boots).
 */
export const INITIAL_WINDOW = 64;

/** How far back a reorg is looked for; deeper ones (none on mainnet since the Merge) rescan from here. */
export const REORG_DEPTH = 64;

/** Blocks fetched in parallel while catching up. */
const FETCH_BATCH = 8;

export interface DepositWatcherDeps {
  store: Store;
  /** Where a withdrawal found paid on chain, and a send that is none of ours, are recorded. */
  audit: AuditTrail;
  metrics?: Metrics;
  chain: ChainClient;
  log: Logger;
  /** Confirmations after which a deposit counts as confirmed (config.chain.confirmations). */
  confirmations: number;
  now: () => number;
  initialWindow?: number;
}

export interface ScanResult {
  /** Blocks scanned: from..to (from > to when there was nothing new). */
  from: number;
  to: number;
  recorded: number;
  orphaned: number;
}

export class DepositWatcher {
  /** Hashes of recently scanned blocks by height: what a reorg is detected against. */
  private readonly seen = new Map<number, Hex>();
  /** Withdrawals just found paid on chain, waiting for their raw transaction (storeFoundRaw). */
  private readonly foundOnChain: { withdrawalId: string; hash: Hex }[] = [];
  private checkedStoredHashes = false;
  private inFlight: Promise<ScanResult> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private chainDown = false;

  constructor(private readonly deps: DepositWatcherDeps) {}

  /** One pass up to the current head. A call while a pass runs joins it instead of starting another. */
  scanOnce(): Promise<ScanResult> {
    this.inFlight ??= this.scan().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /** Scans every pollMs until stop(); the timer does not keep the process alive. */
  start(pollMs: number): void {
    if (this.running) return;
    this.running = true;
    const tick = async () => {
      try {
        await this.scanOnce();
        if (this.chainDown) this.deps.log.info('deposit watcher: the Ethereum node answers again');
        this.chainDown = false;
      } catch (e) {
        if (e instanceof ApiError && e.code === 'CHAIN_UNAVAILABLE') {
          if (!this.chainDown) this.deps.log.warn({ reason: e.message }, 'deposit watcher: waiting for the node');
          this.chainDown = true;
        } else this.deps.log.error({ err: e }, 'deposit watcher: scan failed');
      }
      if (this.running) this.timer = setTimeout(tick, pollMs).unref();
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight?.catch(() => undefined);
  }

  /** A wallet's deposits, newest first, with confirmations counted against `headBlock`. */
  depositsOf(walletId: string, headBlock: number): Promise<DepositView[]> {
    return listDeposits(this.deps.store, walletId, headBlock, this.deps.confirmations);
  }

  private async scan(): Promise<ScanResult> {
    const { store, chain, log } = this.deps;
    const head = await chain.blockNumber();
    const saved = await readCursor(store, DEPOSITS_CURSOR);
    let cursor: number;
    if (saved !== undefined) cursor = saved;
    else {
      cursor = Math.max(0, head - (this.deps.initialWindow ?? INITIAL_WINDOW));
      await writeCursor(store, DEPOSITS_CURSOR, cursor);
      log.info({ block: cursor, head }, 'deposit watcher: first run, starting near the head');
    }

    let orphaned = 0;
    const { fork, rescanFrom } = await this.findFork(Math.min(cursor, head), cursor);
    if (fork < cursor) {
      const at = fork;
      orphaned = await store.transaction(async () => {
        const n = await deleteDepositsAbove(store, at);
        await writeCursor(store, DEPOSITS_CURSOR, at);
        return n;
      });
      for (const k of this.seen.keys()) if (k > at) this.seen.delete(k);
      log.warn({ fork: at, from: cursor, orphaned }, 'deposit watcher: reorg, rescanning from the fork');
      cursor = at;
    }
    if (rescanFrom < cursor) {
      // Deposits already stored there stay as they are (upserts); only new ones are added.
      await writeCursor(store, DEPOSITS_CURSOR, rescanFrom);
      log.warn({ from: rescanFrom, cursor }, 'deposit watcher: the cursor block changed while stopped, rescanning');
      cursor = rescanFrom;
    }

    const from = cursor + 1;
    let recorded = 0;
    const wallets = await activeWalletsByAddress(store);
    walk: while (cursor < head) {
      const next = cursor + 1;
      const heights = Array.from({ length: Math.min(FETCH_BATCH, head - cursor) }, (_, i) => next + i);
      const blocks = await Promise.all(heights.map((n) => chain.block(n, true)));
      for (const b of blocks) {
        // The head went back, or the chain changed under us: the next pass finds the fork.
        if (!b) break walk;
        const parent = this.seen.get(b.number - 1);
        if (parent !== undefined && parent !== b.parentHash) break walk;
        recorded += await this.record(b, wallets);
        cursor = b.number;
        await this.storeFoundRaw();
      }
    }
    return { from, to: cursor, recorded, orphaned };
  }

  /** Records one block's deposits and our wallets' sends, and moves the cursor to it, atomically. */
  private async record(b: ChainBlock, wallets: Map<string, WatchedWallet>): Promise<number> {
    const { store, log, now } = this.deps;
    const found = b.transactions.flatMap((t) => {
      const w = t.to && t.value > 0n ? wallets.get(t.to.toLowerCase()) : undefined;
      return w ? [{ t, w }] : [];
    });
    const sent = b.transactions.flatMap((t) => {
      const w = wallets.get(t.from.toLowerCase());
      return w ? [{ t, w }] : [];
    });
    // Withdrawals found paid in this block: queued for storeFoundRaw once the block has committed.
    const paid: { withdrawalId: string; hash: Hex }[] = [];
    const added = await store.transaction(async () => {
      paid.length = 0;
      for (const { t, w } of sent) {
        const r = await recordSent(store, this.deps, w.id, t, b);
        if (r?.outcome === 'found') paid.push({ withdrawalId: r.withdrawalId!, hash: t.hash });
      }
      let n = 0;
      for (const { t, w } of found) {
        const r = await upsertDeposit(store, {
          txHash: t.hash,
          walletId: w.id,
          from: getAddress(t.from),
          amountWei: t.value,
          blockNumber: b.number,
          blockHash: b.hash,
          seenAtMs: now(),
        });
        if (r === 'new') {
          n++;
          log.info({ walletId: w.id, txHash: t.hash, amountWei: t.value.toString(), block: b.number }, 'deposit');
        }
      }
      await writeCursor(store, DEPOSITS_CURSOR, b.number, b.hash);
      return n;
    });
    this.foundOnChain.push(...paid);
    this.remember(b.number, b.hash);
    return added;
  }

  /**
   * A withdrawal found paid on chain gets the signed transaction as the chain has it (checked
   * against its hash), so its record is whole and the broadcaster could send it again after a reorg.
   * A node that does not serve raw transactions leaves it without; nothing else depends on it.
   */
  private async storeFoundRaw(): Promise<void> {
    for (const f of this.foundOnChain.splice(0)) {
      const raw = await this.deps.chain.rawTransaction(f.hash).catch(() => undefined);
      if (!raw || keccak256(raw) !== f.hash) continue;
      await this.deps.store.run(
        'UPDATE withdrawals SET raw_signed = ? WHERE id = ? AND tx_hash = ? AND raw_signed IS NULL',
        raw,
        f.withdrawalId,
        f.hash,
      );
    }
  }

  private remember(n: number, hash: Hex): void {
    this.seen.set(n, hash);
    this.seen.delete(n - REORG_DEPTH);
  }

  /**
   * `fork`: the highest block ≤ top that is still as we saw it (top itself when nothing changed or
   * nothing is known to compare with); deposits above it are orphaned. `rescanFrom`: where to
   * scan again from, lower than the fork when a reorg is known to have happened but not where.
   */
  private async findFork(top: number, cursor: number): Promise<{ fork: number; rescanFrom: number }> {
    const { store, chain } = this.deps;
    const floor = Math.max(0, top - REORG_DEPTH);
    let fork = top;
    let rescanFrom = top;
    if (!this.checkedStoredHashes) {
      // After a restart: the cursor block's hash and the deposits we stored are the only hashes we
      // still know. A changed cursor block says a reorg happened, not where: rescan the whole window.
      const cursorHash = await readCursorHash(store, DEPOSITS_CURSOR);
      if (cursorHash !== undefined && top === cursor && (await chain.block(top))?.hash !== cursorHash)
        rescanFrom = floor;
      for (const d of await depositBlocks(store, floor, top)) {
        const b = await chain.block(d.blockNumber);
        if (b?.hash !== d.blockHash) {
          fork = d.blockNumber - 1;
          break;
        }
      }
      this.checkedStoredHashes = true;
    }
    const stored = new Map((await depositBlocks(store, floor, fork)).map((d) => [d.blockNumber, d.blockHash]));
    while (fork > floor) {
      const known = this.seen.get(fork) ?? stored.get(fork);
      if (known === undefined) break;
      const b = await chain.block(fork);
      if (b?.hash === known) break;
      fork--;
    }
    return { fork, rescanFrom: Math.min(fork, rescanFrom) };
  }
}

/** The on-chain balance of an address, whatever the watcher has seen so far. */
export async function balanceOf(chain: ChainClient, address: string): Promise<bigint> {
  if (!isAddress(address)) throw new ApiError('BAD_REQUEST', 'address: not an Ethereum address');
  return chain.balance(getAddress(address));
}
