// Test fixtures for the chain code: a real anvil, a real SQLite database with the coordinator's
// schema, wallet rows to watch, and a funder that signs with viem (test-only: the coordinator
// itself never holds a key).

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { pino } from 'pino';
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  http,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { openStore, type SqliteStore } from '../src/db/sqliteStore.ts';
import { type Store } from '../src/db/store.ts';
import { ANVIL_FUNDER } from '../src/chain/anvil.ts';

// Defined here rather than imported from viem/chains: that barrel of every chain takes ~3 s to load.
const localChain = defineChain({
  id: 31337,
  name: 'anvil',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: ['http://127.0.0.1:8545'] } },
});

export const silentLog = pino({ level: 'silent' });

export function tempStore(): SqliteStore {
  return openStore(join(mkdtempSync(join(tmpdir(), 'tandem-chain-')), 'coordinator.db'));
}

export async function insertUser(store: Store): Promise<string> {
  const id = randomUUID();
  await store.run(
    `INSERT INTO users (id, username, password_hash, roles, created_at_ms, updated_at_ms)
     VALUES (?, ?, 'x', '["signer"]', 0, 0)`,
    id,
    `user-${id}`,
  );
  return id;
}

export async function insertWallet(
  store: Store,
  userId: string,
  address: string,
  status: 'ACTIVE' | 'PENDING_DKG' | 'FAILED' = 'ACTIVE',
): Promise<string> {
  const id = randomUUID();
  await store.run(
    `INSERT INTO wallets (id, name, signer_user_id, status, keyset_id, wallet_id_bytes, address, created_by,
       created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0)`,
    id,
    `wallet ${id}`,
    userId,
    status,
    randomUUID(),
    randomBytes(32),
    address,
    userId,
  );
  return id;
}

export function randomAddress(): Address {
  return getAddress(`0x${randomBytes(20).toString('hex')}`);
}

export async function rpc<T = unknown>(rpcUrl: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

export const mine = (rpcUrl: string, blocks = 1) => rpc(rpcUrl, 'anvil_mine', [`0x${blocks.toString(16)}`]);
export const snapshot = (rpcUrl: string) => rpc<Hex>(rpcUrl, 'evm_snapshot');
export const revert = (rpcUrl: string, id: Hex) => rpc<boolean>(rpcUrl, 'evm_revert', [id]);
export const setAutomine = (rpcUrl: string, on: boolean) => rpc(rpcUrl, 'evm_setAutomine', [on]);

export interface Funder {
  wallet: WalletClient<ReturnType<typeof http>, typeof localChain, ReturnType<typeof privateKeyToAccount>>;
  reader: PublicClient;
  /** Sends ETH from anvil's dev account 0 and waits until it is mined. */
  send(to: Address, value: bigint): Promise<Hex>;
}

export function funder(rpcUrl: string, privateKey: Hex = ANVIL_FUNDER.privateKey): Funder {
  const account = privateKeyToAccount(privateKey);
  const wallet = createWalletClient({ account, chain: localChain, transport: http(rpcUrl), pollingInterval: 100 });
  const reader = createPublicClient({ chain: localChain, transport: http(rpcUrl), pollingInterval: 100 });
  return {
    wallet,
    reader,
    async send(to, value) {
      const hash = await wallet.sendTransaction({ to, value });
      await reader.waitForTransactionReceipt({ hash, pollingInterval: 100 });
      return hash;
    },
  };
}
