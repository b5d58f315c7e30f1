// What a wallet sent, as the chain shows it (sentTxs.ts through the deposit watcher): a payment the
// coordinator lost its record of (restored from an older backup) is found and recorded as
// broadcast instead of being signed and paid again; a payment that is none of ours raises an alert;
// and no new transaction is fixed while the chain counts sends we have not matched.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { keccak256, type Hex } from 'viem';
import { Metrics } from '@tandem/common/metrics';
import { AuditTrail } from '../src/audit/auditTrail.ts';
import { type Store } from '../src/db/store.ts';
import { makeChain, type ChainClient } from '../src/chain/client.ts';
import { startAnvil, type RunningAnvil } from '../src/chain/anvil.ts';
import { DepositWatcher } from '../src/chain/deposits.ts';
import { assertInSync, knownNextNonce, unknownSendCounts } from '../src/chain/sentTxs.ts';
import {
  funder,
  insertUser,
  insertWallet,
  mine,
  randomAddress,
  revert,
  silentLog,
  snapshot,
  tempStore,
} from './anvilHarness.ts';

// anvil's dev account 1 plays the wallet: the test holds its key, so it can "sign" as the MPC would.
const WALLET_KEY: Hex = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
const WALLET_ADDRESS = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

let anvil: RunningAnvil;
let chain: ChainClient;
let store: Store;
let audit: AuditTrail;
const metrics = new Metrics();
let watcher: DepositWatcher;
let userId: string;
let walletId: string;

const state = async (id: string) =>
  (await store.get<{ state: string; tx_hash: string | null; nonce: number | null }>(
    'SELECT state, tx_hash, nonce FROM withdrawals WHERE id = ?',
    id,
  ))!;

async function withdrawal(to: string, amountWei: bigint, s = 'approved', nonce: number | null = null): Promise<string> {
  const id = randomUUID();
  await store.run(
    `INSERT INTO withdrawals (id, wallet_id, to_address, amount_wei, state, created_by, nonce, created_at_ms,
       updated_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    id,
    walletId,
    to,
    amountWei.toString(),
    s,
    userId,
    nonce,
    Date.now(),
    Date.now(),
    Date.now() + 3_600_000,
  );
  return id;
}

const pay = (to: string, value: bigint) => funder(anvil.rpcUrl, WALLET_KEY).send(to as Hex, value);

before(async () => {
  anvil = await startAnvil();
  chain = makeChain(anvil.rpcUrl, 31337);
  store = tempStore();
  audit = new AuditTrail(store, Date.now);
  userId = await insertUser(store);
  walletId = await insertWallet(store, userId, WALLET_ADDRESS);
  watcher = new DepositWatcher({
    store,
    chain,
    log: silentLog,
    audit,
    metrics,
    confirmations: 1,
    now: Date.now,
    initialWindow: 0,
  });
  await watcher.scanOnce();
});
after(async () => {
  await watcher?.stop();
  await anvil?.stop();
});

describe('sends from a wallet', () => {
  it('a payment the coordinator shows as unpaid is found on chain and recorded as broadcast, never paid twice', async () => {
    const to = randomAddress();
    const lost = await withdrawal(to, 1234n); // approved in the restored database, paid after the backup
    const other = await withdrawal(to, 999n); // same recipient, another amount: untouched
    const hash = await pay(to, 1234n);
    await assert.rejects(assertInSync(store, walletId, 1), { code: 'WALLET_OUT_OF_SYNC' }, 'not matched yet');
    await watcher.scanOnce();
    assert.deepEqual(await state(lost), { state: 'broadcast', tx_hash: hash, nonce: 0 });
    const { raw_signed: raw } = (await store.get<{ raw_signed: string }>(
      'SELECT raw_signed FROM withdrawals WHERE id = ?',
      lost,
    ))!;
    assert.equal(keccak256(raw as Hex), hash, 'the signed transaction as the chain has it');
    assert.equal((await state(other)).state, 'approved');
    assert.equal(await knownNextNonce(store, walletId), 1);
    await assert.doesNotReject(assertInSync(store, walletId, 1));
    const entry = (await audit.entries()).find((e) => e.action === 'withdrawal.found_on_chain' && e.subject === lost);
    assert.ok(entry, 'audited');
    assert.equal(metrics.value('coordinator_withdrawals_found_on_chain_total'), 1);
    assert.equal((await watcher.scanOnce()).recorded, 0);
    assert.equal(
      (await audit.entries()).filter((e) => e.action === 'withdrawal.found_on_chain').length,
      1,
      'a rescan adds nothing',
    );
  });

  it('a payment of ours (its hash stored) is only noted; one that is none of ours is an alert', async () => {
    const to = randomAddress();
    const hash = await pay(to, 5n);
    const id = await withdrawal(to, 5n, 'broadcast', 1);
    await store.run('UPDATE withdrawals SET tx_hash = ? WHERE id = ?', hash, id);
    const stranger = await pay(randomAddress(), 7n);
    await watcher.scanOnce();
    assert.equal((await state(id)).state, 'broadcast', 'the broadcaster follows it as before');
    const alerts = (await audit.entries()).filter((e) => e.action === 'wallet.unknown_transaction');
    assert.equal(alerts.length, 1);
    assert.equal((alerts[0]!.details as { txHash: string }).txHash, stranger);
    assert.equal(metrics.value('coordinator_wallet_unknown_transactions_total'), 1, 'for the alert rule');
    assert.deepEqual([...(await unknownSendCounts(store))], [[walletId, 1]], 'shown on the wallet');
    assert.deepEqual([...(await unknownSendCounts(store, walletId))], [[walletId, 1]]);
    assert.equal((await unknownSendCounts(store, randomUUID())).size, 0);
    assert.equal(await knownNextNonce(store, walletId), 3);
  });

  it('signing waits while the chain is ahead of what we know, and a reorg takes orphaned sends back', async () => {
    const snap = await snapshot(anvil.rpcUrl);
    const to = randomAddress();
    const id = await withdrawal(to, 42n);
    await pay(to, 42n);
    const chainNonce = await chain.pendingNonce(WALLET_ADDRESS);
    await assert.rejects(assertInSync(store, walletId, chainNonce), {
      code: 'WALLET_OUT_OF_SYNC',
    });
    await watcher.scanOnce();
    assert.equal((await state(id)).state, 'broadcast');
    assert.equal(await knownNextNonce(store, walletId), 4);
    await revert(anvil.rpcUrl, snap);
    await mine(anvil.rpcUrl, 2);
    await watcher.scanOnce();
    assert.equal(
      (await store.get<{ n: number }>('SELECT count(*) AS n FROM wallet_sent WHERE nonce = 3'))!.n,
      0,
      'the orphaned send is gone',
    );
  });
});
