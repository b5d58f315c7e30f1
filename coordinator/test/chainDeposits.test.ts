// The deposit watcher against a real anvil: transfers into ACTIVE wallets are recorded once with
// growing confirmations, everything else is ignored, and reorgs (evm_snapshot / evm_revert)
// take orphaned deposits away again, also across a restart of the watcher.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type Address } from 'viem';
import { startAnvil, ANVIL_FUNDER, type RunningAnvil } from '../src/chain/anvil.ts';
import { makeChain, type ChainClient } from '../src/chain/client.ts';
import { DepositWatcher, DEPOSITS_CURSOR, balanceOf } from '../src/chain/deposits.ts';
import { readCursor, writeCursor } from '../src/chain/depositStore.ts';
import { AuditTrail } from '../src/audit/auditTrail.ts';
import { type Store } from '../src/db/store.ts';
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
  type Funder,
} from './anvilHarness.ts';

const ETH = 10n ** 18n;

let anvil: RunningAnvil;
let chain: ChainClient;
let fund: Funder;
let store: Store;
let watcher: DepositWatcher;
let userId: string;
let walletA: string;
const addressA = randomAddress(); // ACTIVE
const addressPending = randomAddress(); // PENDING_DKG: has an address, not watched yet

const newWatcher = () =>
  new DepositWatcher({
    store,
    chain,
    log: silentLog,
    audit: new AuditTrail(store, Date.now),
    confirmations: 3,
    now: () => 1_700_000_000_000,
    initialWindow: 5,
  });
const count = async () => (await store.get<{ n: number }>('SELECT count(*) AS n FROM deposits'))!.n;
const depositsOfA = async () => watcher.depositsOf(walletA, await chain.blockNumber());

before(async () => {
  anvil = await startAnvil();
  chain = makeChain(anvil.rpcUrl, 31337);
  fund = funder(anvil.rpcUrl);
  store = tempStore();
  userId = await insertUser(store);
  // Stored lowercase on purpose: the watcher must compare case-insensitively.
  walletA = await insertWallet(store, userId, addressA.toLowerCase());
  await insertWallet(store, userId, addressPending, 'PENDING_DKG');
  watcher = newWatcher();
});
after(async () => {
  await watcher?.stop();
  await anvil?.stop();
});

describe('DepositWatcher', () => {
  it('starts a small window below the head on its first run', async () => {
    await mine(anvil.rpcUrl, 20);
    const r = await watcher.scanOnce();
    assert.equal(await readCursor(store, DEPOSITS_CURSOR), 20);
    assert.deepEqual(r, { from: 16, to: 20, recorded: 0, orphaned: 0 });
  });

  it('records a transfer into an ACTIVE wallet, with confirmations growing as blocks are mined', async () => {
    const hash = await fund.send(addressA, (3n * ETH) / 2n);
    const r = await watcher.scanOnce();
    assert.equal(r.recorded, 1);
    const [d, ...rest] = await depositsOfA();
    assert.equal(rest.length, 0);
    const block = (await chain.block(d!.blockNumber))!;
    assert.deepEqual(d, {
      txHash: hash,
      walletId: walletA,
      from: ANVIL_FUNDER.address, // EIP-55
      amountWei: '1500000000000000000',
      blockNumber: block.number,
      blockHash: block.hash,
      seenAtMs: 1_700_000_000_000,
      confirmations: 1,
      confirmed: false,
    });
    await mine(anvil.rpcUrl, 1);
    assert.equal((await depositsOfA())[0]!.confirmations, 2);
    await mine(anvil.rpcUrl, 1);
    const now = (await depositsOfA())[0]!;
    assert.equal(now.confirmations, 3);
    assert.equal(now.confirmed, true, 'three confirmations are required');
    assert.equal((await watcher.depositsOf(walletA, d!.blockNumber - 1))[0]!.confirmations, 0, 'never negative');
  });

  it('ignores transfers to other addresses, to non-ACTIVE wallets and zero-value ones', async () => {
    const before = await count();
    await fund.send(randomAddress(), ETH);
    await fund.send(addressPending, ETH);
    await fund.send(addressA, 0n);
    assert.equal((await watcher.scanOnce()).recorded, 0);
    assert.equal(await count(), before);
  });

  it('records nothing twice: scanning again, rescanning old blocks, concurrent scans', async () => {
    const before = await count();
    assert.equal((await watcher.scanOnce()).recorded, 0);
    const cursor = (await readCursor(store, DEPOSITS_CURSOR))!;
    await writeCursor(store, DEPOSITS_CURSOR, cursor - 8); // as after a crash between blocks
    const again = await watcher.scanOnce();
    assert.equal(again.to, cursor);
    assert.equal(again.recorded, 0);
    assert.equal(await count(), before);

    await fund.send(addressA, 2n);
    const [a, b] = [watcher.scanOnce(), watcher.scanOnce()];
    assert.equal(a, b, 'a scan in progress is joined, not run twice');
    assert.equal((await a).recorded, 1);
    assert.equal(await count(), before + 1);
  });

  it('removes a deposit whose block a reorg orphaned (longer new chain)', async () => {
    const snap = await snapshot(anvil.rpcUrl);
    const keep = (await depositsOfA()).length;
    const hash = await fund.send(addressA, 5n);
    assert.equal((await watcher.scanOnce()).recorded, 1);
    assert.ok((await depositsOfA()).some((d) => d.txHash === hash));
    const cursor = (await readCursor(store, DEPOSITS_CURSOR))!;

    await revert(anvil.rpcUrl, snap); // the tx's block is gone and the tx with it
    await mine(anvil.rpcUrl, 3); // a longer chain without it
    const r = await watcher.scanOnce();
    assert.equal(r.orphaned, 1);
    assert.equal(r.from, cursor, 'rescanned from the fork');
    assert.equal(r.to, await chain.blockNumber());
    const left = await depositsOfA();
    assert.equal(left.length, keep);
    assert.ok(!left.some((d) => d.txHash === hash));
  });

  it('removes it too when the chain got shorter, and when the watcher restarted in between', async () => {
    const snap = await snapshot(anvil.rpcUrl);
    const head = await chain.blockNumber();
    await fund.send(addressA, 6n);
    assert.equal((await watcher.scanOnce()).recorded, 1);
    await revert(anvil.rpcUrl, snap); // head drops below the cursor
    const r = await watcher.scanOnce();
    assert.deepEqual([r.orphaned, await readCursor(store, DEPOSITS_CURSOR)], [1, head]);

    // A fresh watcher (a restarted coordinator) only has the stored block hash to go by.
    const snap2 = await snapshot(anvil.rpcUrl);
    await fund.send(addressA, 7n);
    assert.equal((await watcher.scanOnce()).recorded, 1);
    await revert(anvil.rpcUrl, snap2);
    await mine(anvil.rpcUrl, 2);
    await fund.send(addressA, 8n); // a new deposit after the fork is still found
    watcher = newWatcher();
    const r2 = await watcher.scanOnce();
    assert.deepEqual([r2.orphaned, r2.recorded], [1, 1]);
    assert.deepEqual(
      (await depositsOfA()).map((d) => d.amountWei),
      ['8', '2', '1500000000000000000'],
    );
  });

  it('finds a deposit that a reorg put into a height it had already scanned empty', async () => {
    const snap = await snapshot(anvil.rpcUrl);
    await mine(anvil.rpcUrl, 1);
    assert.equal((await watcher.scanOnce()).recorded, 0);
    const cursor = (await readCursor(store, DEPOSITS_CURSOR))!;
    await revert(anvil.rpcUrl, snap);
    const hash = await fund.send(addressA, 4n); // mined at the same height as the empty block
    assert.equal((await chain.receipt(hash))!.blockNumber, cursor);
    const r = await watcher.scanOnce();
    assert.deepEqual([r.orphaned, r.recorded, r.from], [0, 1, cursor]);
  });

  it('after a restart too: the hash stored with the cursor shows the reorg, and the window is rescanned', async () => {
    const snap = await snapshot(anvil.rpcUrl);
    await mine(anvil.rpcUrl, 2);
    assert.equal((await watcher.scanOnce()).recorded, 0);
    const cursor = (await readCursor(store, DEPOSITS_CURSOR))!;
    await watcher.stop();
    await revert(anvil.rpcUrl, snap); // while the coordinator was down…
    await mine(anvil.rpcUrl, 1);
    const hash = await fund.send(addressA, 3n); // …a deposit landed at the height it had scanned empty
    assert.equal((await chain.receipt(hash))!.blockNumber, cursor);
    watcher = newWatcher();
    const r = await watcher.scanOnce();
    assert.equal(r.recorded, 1);
    assert.ok(r.from < cursor, 'rescanned from below the cursor');
    assert.ok((await depositsOfA()).some((d) => d.txHash === hash));
    assert.equal((await watcher.scanOnce()).recorded, 0, 'and the next pass finds nothing new');
  });

  it('runs on a timer until stopped, and agrees with the on-chain balance', async () => {
    watcher.start(50);
    const hash = await fund.send(addressA, ETH);
    const deadline = Date.now() + 5_000;
    while (!(await depositsOfA()).some((d) => d.txHash === hash)) {
      assert.ok(Date.now() < deadline, 'the timer picked up the deposit');
      await new Promise((r) => setTimeout(r, 50));
    }
    await watcher.stop();
    await fund.send(addressA, 9n);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!(await depositsOfA()).some((d) => d.amountWei === '9'), 'stopped means stopped');

    const recorded = (await depositsOfA()).reduce((sum, d) => sum + BigInt(d.amountWei), 0n);
    assert.equal(await balanceOf(chain, addressA.toLowerCase()), recorded + 9n);
    await assert.rejects(balanceOf(chain, '0xnope' as Address), { code: 'BAD_REQUEST' });
  });
});
