// What a wallet sent, as the chain shows it (sentTxs.ts through the deposit watcher): a payment the
// coordinator lost its record of (restored from an older backup) is found and recorded as
// broadcast instead of being signed and paid again; a payment that is none of ours raises an alert;
// and no new transaction is fixed while the chain counts sends we have not matched.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { keccak256, type Hex } from 'viem';
import { AuditLog } from '@tandem/common/auditLog';
import { Metrics } from '@tandem/common/metrics';
import { type Db } from '../src/db/db.ts';
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
  tempDb,
} from './anvilHarness.ts';

// anvil's dev account 1 plays the wallet: the test holds its key, so it can "sign" as the MPC would.
const WALLET_KEY: Hex = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
const WALLET_ADDRESS = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

let anvil: RunningAnvil;
let chain: ChainClient;
let db: Db;
let audit: AuditLog;
const metrics = new Metrics();
let watcher: DepositWatcher;
let userId: string;
let walletId: string;

const state = (id: string) =>
  db.prepare('SELECT state, tx_hash, nonce FROM withdrawals WHERE id = ?').get(id) as {
    state: string;
    tx_hash: string | null;
    nonce: number | null;
  };

function withdrawal(to: string, amountWei: bigint, s = 'approved', nonce: number | null = null): string {
  const id = randomUUID();
  db.prepare(
    `INSERT INTO withdrawals (id, wallet_id, to_address, amount_wei, state, created_by, nonce, created_at_ms,
       updated_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(id, walletId, to, amountWei.toString(), s, userId, nonce, Date.now(), Date.now(), Date.now() + 3_600_000);
  return id;
}

const pay = (to: string, value: bigint) => funder(anvil.rpcUrl, WALLET_KEY).send(to as Hex, value);

before(async () => {
  anvil = await startAnvil();
  chain = makeChain(anvil.rpcUrl, 31337);
  db = tempDb();
  audit = new AuditLog(db, Date.now);
  userId = insertUser(db);
  walletId = insertWallet(db, userId, WALLET_ADDRESS);
  watcher = new DepositWatcher({
    db,
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
    const lost = withdrawal(to, 1234n); // approved in the restored database, paid after the backup
    const other = withdrawal(to, 999n); // same recipient, another amount: untouched
    const hash = await pay(to, 1234n);
    assert.throws(() => assertInSync(db, walletId, 1), { code: 'WALLET_OUT_OF_SYNC' }, 'not matched yet');
    await watcher.scanOnce();
    assert.deepEqual(state(lost), { state: 'broadcast', tx_hash: hash, nonce: 0 });
    const { raw_signed: raw } = db.prepare('SELECT raw_signed FROM withdrawals WHERE id = ?').get(lost) as {
      raw_signed: string;
    };
    assert.equal(keccak256(raw as Hex), hash, 'the signed transaction as the chain has it');
    assert.equal(state(other).state, 'approved');
    assert.equal(knownNextNonce(db, walletId), 1);
    assert.doesNotThrow(() => assertInSync(db, walletId, 1));
    const entry = audit.entries().find((e) => e.action === 'withdrawal.found_on_chain' && e.subject === lost);
    assert.ok(entry, 'audited');
    assert.equal(metrics.value('coordinator_withdrawals_found_on_chain_total'), 1);
    assert.equal((await watcher.scanOnce()).recorded, 0);
    assert.equal(
      audit.entries().filter((e) => e.action === 'withdrawal.found_on_chain').length,
      1,
      'a rescan adds nothing',
    );
  });

  it('a payment of ours (its hash stored) is only noted; one that is none of ours is an alert', async () => {
    const to = randomAddress();
    const hash = await pay(to, 5n);
    const id = withdrawal(to, 5n, 'broadcast', 1);
    db.prepare('UPDATE withdrawals SET tx_hash = ? WHERE id = ?').run(hash, id);
    const stranger = await pay(randomAddress(), 7n);
    await watcher.scanOnce();
    assert.equal(state(id).state, 'broadcast', 'the broadcaster follows it as before');
    const alerts = audit.entries().filter((e) => e.action === 'wallet.unknown_transaction');
    assert.equal(alerts.length, 1);
    assert.equal((alerts[0]!.details as { txHash: string }).txHash, stranger);
    assert.equal(metrics.value('coordinator_wallet_unknown_transactions_total'), 1, 'for the alert rule');
    assert.deepEqual([...unknownSendCounts(db)], [[walletId, 1]], 'shown on the wallet');
    assert.equal(unknownSendCounts(db, randomUUID()).size, 0);
    assert.equal(knownNextNonce(db, walletId), 3);
  });

  it('signing waits while the chain is ahead of what we know, and a reorg takes orphaned sends back', async () => {
    const snap = await snapshot(anvil.rpcUrl);
    const to = randomAddress();
    const id = withdrawal(to, 42n);
    await pay(to, 42n);
    const chainNonce = await chain.pendingNonce(WALLET_ADDRESS);
    assert.throws(() => assertInSync(db, walletId, chainNonce), {
      code: 'WALLET_OUT_OF_SYNC',
    });
    await watcher.scanOnce();
    assert.equal(state(id).state, 'broadcast');
    assert.equal(knownNextNonce(db, walletId), 4);
    await revert(anvil.rpcUrl, snap);
    await mine(anvil.rpcUrl, 2);
    await watcher.scanOnce();
    assert.equal(
      (db.prepare('SELECT count(*) AS n FROM wallet_sent WHERE nonce = 3').get() as { n: number }).n,
      0,
      'the orphaned send is gone',
    );
  });
});
