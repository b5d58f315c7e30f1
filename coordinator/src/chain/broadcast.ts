// Sending a signed withdrawal to the network, and following it until it is final enough.
// broadcast() is idempotent so the withdrawal flow can simply call it again after a crash, a
// timeout or a restart: a transaction's hash is keccak256 of its signed bytes, so the hash is
// known before sending, and "the node already has a tx with exactly this hash" is success.

import { setTimeout as sleep } from 'node:timers/promises';
import { keccak256, type Hex } from 'viem';
import { ApiError } from '../errors.ts';
import { NodeRejectedError, type ChainClient, type ChainReceipt } from './client.ts';

export interface Broadcasted {
  hash: Hex;
  /** The node had it already (in its mempool or mined): a repeat of an earlier broadcast. */
  alreadyKnown: boolean;
}

/** The hash a signed transaction will have on chain: keccak256 of its raw bytes. */
export function txHashOf(raw: Hex): Hex {
  return keccak256(raw);
}

/**
 * Sends a signed raw transaction. Resolves with its hash when the node accepted it now or knew
 * it already; throws ApiError BROADCAST_REJECTED with the node's reason otherwise (e.g. the
 * nonce was used by a different tx, insufficient funds), and CHAIN_UNAVAILABLE when the node
 * could not be reached (retry later: that is safe).
 */
export async function broadcast(chain: ChainClient, raw: Hex): Promise<Broadcasted> {
  if (!/^0x(?:[0-9a-fA-F]{2})+$/.test(raw)) throw new ApiError('BAD_REQUEST', 'raw: expected 0x-prefixed bytes');
  const hash = txHashOf(raw);
  try {
    const sent = await chain.sendRaw(raw);
    if (sent.toLowerCase() !== hash)
      throw new ApiError('INTERNAL', 'the Ethereum node reported another hash for the transaction');
    return { hash, alreadyKnown: false };
  } catch (e) {
    if (!(e instanceof NodeRejectedError)) throw e;
    // Geth says "already known" / "nonce too low", anvil "transaction already imported" /
    // "nonce too low", others other words: rather than parse messages, ask for the hash itself.
    // If the node knows it, this exact tx is pending or mined, which is what we wanted.
    if (await chain.transaction(hash)) return { hash, alreadyKnown: true };
    throw new ApiError('BROADCAST_REJECTED', `the Ethereum node refused the transaction: ${e.nodeMessage}`, {
      txHash: hash,
      reason: e.nodeMessage,
    });
  }
}

export interface FollowOptions {
  /** 1 = mined in the head block. */
  confirmations: number;
  signal?: AbortSignal;
  pollMs?: number;
}

export interface FollowedReceipt extends ChainReceipt {
  confirmations: number;
}

/**
 * Resolves once the tx is mined with at least `confirmations` blocks (its own included), reverted
 * or not: the caller decides what a revert means. Keeps polling through node outages and
 * through reorgs that un-mine the tx; stops only when `signal` aborts (rejecting with its reason).
 */
export async function followReceipt(chain: ChainClient, hash: Hex, opts: FollowOptions): Promise<FollowedReceipt> {
  const { confirmations, signal, pollMs = 500 } = opts;
  if (!Number.isInteger(confirmations) || confirmations < 1) throw new RangeError('confirmations: at least 1');
  for (;;) {
    signal?.throwIfAborted();
    try {
      const r = await chain.receipt(hash);
      if (r) {
        const head = await chain.blockNumber();
        const have = head - r.blockNumber + 1;
        if (have >= confirmations) return { ...r, confirmations: have };
      }
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 'CHAIN_UNAVAILABLE')) throw e;
    }
    await sleep(pollMs, undefined, signal ? { signal } : {}).catch((e: unknown) => {
      throw signal?.reason ?? e;
    });
  }
}
