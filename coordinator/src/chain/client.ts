// The coordinator's view of the Ethereum node: the handful of JSON-RPC calls that deposits,
// nonces, transaction building and broadcast need, over viem's PublicClient. Callers get plain
// numbers and bigints, and two kinds of failure: ApiError CHAIN_UNAVAILABLE when the node
// could not be reached (safe to retry later), and NodeRejectedError when it answered with a
// JSON-RPC error. Neither message carries the RPC URL (a hosted node's URL often embeds an
// API key), a request body or a stack: viem puts all three into its own messages.

import {
  BaseError,
  HttpRequestError,
  TimeoutError,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  createPublicClient,
  defineChain,
  http,
  keccak256,
  serializeTransaction,
  type Address,
  type Hex,
} from 'viem';
import { ApiError } from '../errors.ts';

export interface ChainTx {
  hash: Hex;
  from: Address;
  /** null: contract creation. */
  to: Address | null;
  value: bigint;
  nonce: number;
}

export interface ChainBlock {
  number: number;
  hash: Hex;
  parentHash: Hex;
  timestamp: number;
  /** Filled only when the block was read with withTxs. */
  transactions: ChainTx[];
}

export interface ChainReceipt {
  status: 'success' | 'reverted';
  blockNumber: number;
  blockHash: Hex;
  gasUsed: bigint;
  effectiveGasPrice: bigint;
}

export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface ChainClient {
  /** The configured chain id: the one every transaction is built and signed for. */
  readonly chainId: number;
  /** Throws CHAIN_UNAVAILABLE if the node serves another chain (call it at start-up). */
  verifyChainId(): Promise<void>;
  blockNumber(): Promise<number>;
  balance(address: Address): Promise<bigint>;
  /** The account's nonce counting transactions in the node's mempool. */
  pendingNonce(address: Address): Promise<number>;
  fees(): Promise<Fees>;
  /** eth_sendRawTransaction; returns the node's tx hash. Prefer broadcast() (idempotent). */
  sendRaw(raw: Hex): Promise<Hex>;
  /** undefined until the tx is mined (or after a reorg dropped it). */
  receipt(hash: Hex): Promise<ChainReceipt | undefined>;
  /** undefined if the node has never heard of it; blockNumber null while pending. */
  transaction(hash: Hex): Promise<{ hash: Hex; blockNumber: number | null } | undefined>;
  /** undefined if the block does not exist (yet). */
  block(n: number, withTxs?: boolean): Promise<ChainBlock | undefined>;
  /**
   * The signed transaction as sent: eth_getRawTransactionByHash, or, from a node that does not
   * serve it, an EIP-1559 transaction rebuilt from eth_getTransactionByHash (kept only if it hashes
   * back to `hash`). undefined if the node does not know it or it cannot be rebuilt.
   */
  rawTransaction(hash: Hex): Promise<Hex | undefined>;
}

/** The node answered with a JSON-RPC error (e.g. "nonce too low"); its own words, trimmed. */
export class NodeRejectedError extends Error {
  override readonly name = 'NodeRejectedError';
  constructor(
    readonly rpcCode: number | undefined,
    readonly nodeMessage: string,
  ) {
    super(`the Ethereum node refused the request: ${nodeMessage}`);
  }
}

export interface ChainClientOptions {
  /** viem's polling for its own watchers; default 100 ms on the local anvil chain, else 4 s. */
  pollingIntervalMs?: number;
  timeoutMs?: number;
  /** Retries after a network failure (viem backs off exponentially from 150 ms). */
  retryCount?: number;
}

const LOCAL_CHAIN_ID = 31337;

function unavailable(what: string): ApiError {
  return new ApiError('CHAIN_UNAVAILABLE', `the Ethereum node did not answer (${what})`);
}

/** Maps anything viem throws to our two failures; anything else is a bug and passes through. */
function toChainError(e: unknown, what: string): Error {
  if (e instanceof ApiError || e instanceof NodeRejectedError) return e;
  if (!(e instanceof BaseError)) return e instanceof Error ? e : new Error(String(e));
  if (e.walk((x) => x instanceof HttpRequestError || x instanceof TimeoutError) !== null) return unavailable(what);
  const rpc = e.walk((x) => typeof (x as { code?: unknown }).code === 'number') as
    (BaseError & { code: number }) | null;
  if (rpc) return new NodeRejectedError(rpc.code, (rpc.details || rpc.shortMessage).slice(0, 300));
  return unavailable(`${what}: unexpected answer`);
}

export function makeChain(rpcUrl: string, chainId: number, opts: ChainClientOptions = {}): ChainClient {
  const chain = defineChain({
    id: chainId,
    name: chainId === LOCAL_CHAIN_ID ? 'Tandem local anvil' : `chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
    // maxFeePerGas = 2 × base fee + tip (viem's default is 1.2×). A withdrawal's fees are fixed
    // when MPC signing starts and a stuck tx needs new approvals and a new signature, so leave
    // room for ~6 full blocks of base-fee growth (+12.5% each); unused headroom is refunded.
    fees: { baseFeeMultiplier: 2 },
  });
  const client = createPublicClient({
    chain,
    transport: http(rpcUrl, { timeout: opts.timeoutMs ?? 10_000, retryCount: opts.retryCount ?? 2 }),
    pollingInterval: opts.pollingIntervalMs ?? (chainId === LOCAL_CHAIN_ID ? 100 : 4_000),
    // viem caches eth_blockNumber for one polling interval by default; a cursor must see the
    // head as it is now (e.g. right after a reorg), so no caching.
    cacheTime: 0,
  });

  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      throw toChainError(e, what);
    }
  };
  // Reads treat a JSON-RPC error like an outage: the caller can only retry later.
  const read = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await call(what, fn);
    } catch (e) {
      if (e instanceof NodeRejectedError) throw unavailable(`${what}: ${e.nodeMessage}`);
      throw e;
    }
  };

  return {
    chainId,
    async verifyChainId() {
      const actual = await read('eth_chainId', () => client.getChainId());
      if (actual !== chainId)
        throw new ApiError('CHAIN_UNAVAILABLE', `the Ethereum node serves chain ${actual}, not chain ${chainId}`);
    },
    blockNumber: () => read('eth_blockNumber', async () => Number(await client.getBlockNumber({ cacheTime: 0 }))),
    balance: (address) => read('eth_getBalance', () => client.getBalance({ address })),
    pendingNonce: (address) =>
      read('eth_getTransactionCount', () => client.getTransactionCount({ address, blockTag: 'pending' })),
    fees: () =>
      read('fees', async () => {
        const f = await client.estimateFeesPerGas({ type: 'eip1559' });
        return { maxFeePerGas: f.maxFeePerGas, maxPriorityFeePerGas: f.maxPriorityFeePerGas };
      }),
    sendRaw: (raw) =>
      call('eth_sendRawTransaction', () => client.request({ method: 'eth_sendRawTransaction', params: [raw] })),
    receipt: (hash) =>
      read('eth_getTransactionReceipt', async () => {
        try {
          const r = await client.getTransactionReceipt({ hash });
          return {
            status: r.status,
            blockNumber: Number(r.blockNumber),
            blockHash: r.blockHash,
            gasUsed: r.gasUsed,
            effectiveGasPrice: r.effectiveGasPrice,
          };
        } catch (e) {
          if (e instanceof TransactionReceiptNotFoundError) return undefined;
          throw e;
        }
      }),
    transaction: (hash) =>
      read('eth_getTransactionByHash', async () => {
        try {
          const t = await client.getTransaction({ hash });
          return { hash: t.hash, blockNumber: t.blockNumber === null ? null : Number(t.blockNumber) };
        } catch (e) {
          if (e instanceof TransactionNotFoundError) return undefined;
          throw e;
        }
      }),
    rawTransaction: async (hash) => {
      try {
        const raw = (await call('eth_getRawTransactionByHash', () =>
          client.request({ method: 'eth_getRawTransactionByHash' as 'eth_chainId', params: [hash] as never }),
        )) as Hex | null;
        return raw && raw !== '0x' ? raw : undefined;
      } catch (e) {
        if (!(e instanceof NodeRejectedError)) throw e;
        // A node that does not serve the method: the fields it does serve, signature included.
        return read('eth_getTransactionByHash', async () => {
          let t;
          try {
            t = await client.getTransaction({ hash });
          } catch (x) {
            if (x instanceof TransactionNotFoundError) return undefined;
            throw x;
          }
          if (t.type !== 'eip1559' || t.yParity === undefined) return undefined; // our wallets send only these
          const rebuilt = serializeTransaction(
            {
              type: 'eip1559',
              chainId: t.chainId,
              nonce: t.nonce,
              maxPriorityFeePerGas: t.maxPriorityFeePerGas,
              maxFeePerGas: t.maxFeePerGas,
              gas: t.gas,
              to: t.to,
              value: t.value,
              data: t.input,
              accessList: t.accessList,
            },
            { r: t.r, s: t.s, yParity: t.yParity },
          );
          return keccak256(rebuilt) === hash.toLowerCase() ? rebuilt : undefined;
        });
      }
    },
    block: (n, withTxs = false) =>
      read('eth_getBlockByNumber', async () => {
        // Raw request: viem's getBlock throws BlockNotFoundError for a future block, and formats
        // fields we do not need.
        const b = await client.request({
          method: 'eth_getBlockByNumber',
          params: [`0x${n.toString(16)}`, withTxs],
        });
        if (!b || !b.hash || b.number === null) return undefined;
        const txs = withTxs ? (b.transactions as unknown as RawTx[]) : [];
        return {
          number: Number(b.number),
          hash: b.hash,
          parentHash: b.parentHash,
          timestamp: Number(b.timestamp),
          transactions: txs.map((t) => ({
            hash: t.hash,
            from: t.from,
            to: t.to ?? null,
            value: BigInt(t.value),
            nonce: Number(t.nonce),
          })),
        };
      }),
  };
}

interface RawTx {
  hash: Hex;
  from: Address;
  to: Address | null;
  value: Hex;
  nonce: Hex;
}
