// The chain plumbing against a real anvil: start/stop, reads, idempotent broadcast, receipts,
// a withdrawal-shaped tx built by buildEip1559 and signed through tecdsa's digest and
// serialization, and nonce allocation.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { generatePrivateKey, privateKeyToAccount, sign } from 'viem/accounts';
import { hexToBigInt, toHex, type Hex } from 'viem';
import { serializeSigned, txDigest, txFromJson, txToJson } from '@tandem/tecdsa/txDigest';
import { ApiError } from '../src/errors.ts';
import { ANVIL_FUNDER, freePort, startAnvil, type RunningAnvil } from '../src/chain/anvil.ts';
import { makeChain, type ChainClient } from '../src/chain/client.ts';
import { broadcast, followReceipt, txHashOf } from '../src/chain/broadcast.ts';
import { buildEip1559 } from '../src/chain/buildTx.ts';
import { allocateNonce, releaseNonce } from '../src/chain/nonces.ts';
import { type Store } from '../src/db/store.ts';
import {
  funder,
  insertUser,
  insertWallet,
  mine,
  randomAddress,
  setAutomine,
  tempStore,
  type Funder,
} from './anvilHarness.ts';

let anvil: RunningAnvil;
let chain: ChainClient;
let fund: Funder;

before(async () => {
  anvil = await startAnvil();
  chain = makeChain(anvil.rpcUrl, 31337);
  fund = funder(anvil.rpcUrl);
});
after(async () => {
  await anvil?.stop();
});

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A transfer from the funder, signed by viem (stands in for any raw tx from outside). */
async function signedTransfer(opts: { value: bigint; nonce?: number }): Promise<Hex> {
  const req = await fund.wallet.prepareTransactionRequest({
    to: randomAddress(),
    value: opts.value,
    nonce: opts.nonce,
  });
  return fund.wallet.signTransaction(req);
}

/**
 * A JSON-RPC front for anvil that answers one method as a node that does not serve it
 * (-32601) and passes every other request through.
 */
async function refusingProxy(rpcUrl: string, method: string) {
  let refused = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const msg = JSON.parse(body) as { id: number; method: string };
      res.setHeader('content-type', 'application/json');
      if (msg.method === method) {
        refused++;
        res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'method not found' } }));
        return;
      }
      void fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        .then(async (r) => res.end(await r.text()))
        .catch(() => res.destroy());
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    refused: () => refused,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

describe('anvil', () => {
  it('starts on a free port, answers, and is gone after stop()', async () => {
    const a = await startAnvil({ chainId: 31337 });
    assert.ok(pidAlive(a.pid));
    assert.equal(a.rpcUrl, `http://127.0.0.1:${a.port}`);
    assert.equal(await makeChain(a.rpcUrl, 31337).blockNumber(), 0);
    await a.stop();
    assert.equal(pidAlive(a.pid), false);
    await a.stop(); // a second stop is a no-op
  });

  it('fails with a clear error when the binary is missing or dies at start', async () => {
    const saved = process.env.TANDEM_ANVIL_BIN;
    try {
      process.env.TANDEM_ANVIL_BIN = '/nonexistent/anvil';
      await assert.rejects(startAnvil(), /TANDEM_ANVIL_BIN: no file at \/nonexistent\/anvil/);
      process.env.TANDEM_ANVIL_BIN = '/bin/false';
      await assert.rejects(startAnvil(), /anvil exited during start-up \(port \d+\): code 1/);
    } finally {
      if (saved === undefined) delete process.env.TANDEM_ANVIL_BIN;
      else process.env.TANDEM_ANVIL_BIN = saved;
    }
    await assert.rejects(startAnvil({ blockTimeSec: -1 }), /blockTimeSec must be an integer from 1/);
  });

  it('fails with a clear error when the port is taken', async () => {
    await assert.rejects(startAnvil({ port: anvil.port, startTimeoutMs: 5_000 }), (e: Error) => {
      assert.equal(e.name, 'AnvilError');
      assert.match(e.message, new RegExp(`port ${anvil.port} on 127.0.0.1 is in use`));
      return true;
    });
  });
});

describe('chain client', () => {
  it('reads fees, balances and the pending nonce', async () => {
    await chain.verifyChainId();
    const fees = await chain.fees();
    assert.ok(fees.maxPriorityFeePerGas > 0n);
    assert.ok(fees.maxFeePerGas > fees.maxPriorityFeePerGas, 'maxFee covers the base fee plus the tip');
    assert.equal(await chain.pendingNonce(randomAddress()), 0);
    assert.equal(await chain.balance(ANVIL_FUNDER.address), await fund.reader.getBalance(ANVIL_FUNDER));

    const before = await chain.pendingNonce(ANVIL_FUNDER.address);
    await setAutomine(anvil.rpcUrl, false);
    try {
      await broadcast(chain, await signedTransfer({ value: 1n }));
      assert.equal(await chain.pendingNonce(ANVIL_FUNDER.address), before + 1, 'counts the mempool');
    } finally {
      await setAutomine(anvil.rpcUrl, true);
      await mine(anvil.rpcUrl);
    }
  });

  it('reads blocks with their transactions, and undefined beyond the head', async () => {
    const hash = await fund.send(randomAddress(), 5n);
    const head = await chain.blockNumber();
    const b = await chain.block(head, true);
    assert.ok(b);
    assert.equal(b.number, head);
    assert.equal(b.parentHash, (await chain.block(head - 1))!.hash);
    assert.deepEqual(
      b.transactions.map((t) => t.hash),
      [hash],
    );
    assert.equal(b.transactions[0]!.value, 5n);
    assert.equal(await chain.block(head + 100), undefined);
    assert.equal(await chain.receipt(`0x${'11'.repeat(32)}`), undefined);
    assert.equal(await chain.transaction(`0x${'11'.repeat(32)}`), undefined);
  });

  it('gives a sent transaction as signed, also from a node without eth_getRawTransactionByHash', async () => {
    const raw = await signedTransfer({ value: 4242n });
    const { hash } = await broadcast(chain, raw);
    await followReceipt(chain, hash, { confirmations: 1, pollMs: 50 });
    assert.equal(await chain.rawTransaction(hash), raw);
    const proxy = await refusingProxy(anvil.rpcUrl, 'eth_getRawTransactionByHash');
    try {
      const limited = makeChain(proxy.url, 31337);
      assert.equal(await limited.rawTransaction(hash), raw, 'rebuilt from its fields, the same bytes');
      assert.equal(await limited.rawTransaction(`0x${'11'.repeat(32)}`), undefined, 'unknown to the node');
      assert.equal(proxy.refused(), 2, 'both answers came from the fallback');
    } finally {
      await proxy.close();
    }
  });

  it('maps an unreachable node to CHAIN_UNAVAILABLE without the URL, and a wrong chain id too', async () => {
    const dead = makeChain(`http://127.0.0.1:${await freePort()}/v3/secret-api-key`, 31337, { retryCount: 0 });
    await assert.rejects(dead.blockNumber(), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.code, 'CHAIN_UNAVAILABLE');
      assert.equal(e.status, 503);
      assert.doesNotMatch(e.message, /secret-api-key|127\.0\.0\.1|URL|at /);
      return true;
    });
    await assert.rejects(makeChain(anvil.rpcUrl, 1).verifyChainId(), /serves chain 31337, not chain 1/);
  });
});

describe('broadcast', () => {
  it('is idempotent: the same raw tx twice gives the same hash and no error', async () => {
    const raw = await signedTransfer({ value: 7n });
    const first = await broadcast(chain, raw);
    assert.deepEqual(first, { hash: txHashOf(raw), alreadyKnown: false });
    const again = await broadcast(chain, raw); // mined already (automine): the node says "nonce too low"
    assert.deepEqual(again, { hash: first.hash, alreadyKnown: true });
    assert.equal((await chain.receipt(first.hash))?.status, 'success');
  });

  it('is idempotent while the tx waits in the mempool', async () => {
    await setAutomine(anvil.rpcUrl, false);
    try {
      const raw = await signedTransfer({ value: 8n });
      const first = await broadcast(chain, raw);
      assert.equal((await broadcast(chain, raw)).alreadyKnown, true); // "transaction already imported"
      assert.deepEqual(await chain.transaction(first.hash), { hash: first.hash, blockNumber: null });
    } finally {
      await setAutomine(anvil.rpcUrl, true);
      await mine(anvil.rpcUrl);
    }
  });

  it("refuses another tx with a used nonce, in the node's words", async () => {
    const used = (await chain.pendingNonce(ANVIL_FUNDER.address)) - 1;
    const raw = await signedTransfer({ value: 9n, nonce: used });
    await assert.rejects(broadcast(chain, raw), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.code, 'BROADCAST_REJECTED');
      assert.match(e.message, /nonce too low/);
      assert.doesNotMatch(e.message, /URL|Request body|127\.0\.0\.1/);
      assert.equal(e.details.txHash, txHashOf(raw));
      return true;
    });
  });

  it('followReceipt waits for the confirmations, and stops on abort', async () => {
    const { hash } = await broadcast(chain, await signedTransfer({ value: 10n }));
    const followed = followReceipt(chain, hash, { confirmations: 3, pollMs: 50 });
    let settled = false;
    void followed.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(settled, false, 'one confirmation is not three');
    await mine(anvil.rpcUrl, 2);
    const r = await followed;
    assert.equal(r.status, 'success');
    assert.equal(r.confirmations, 3);

    const ac = new AbortController();
    const never = followReceipt(chain, `0x${'22'.repeat(32)}`, { confirmations: 1, pollMs: 50, signal: ac.signal });
    setTimeout(() => ac.abort(), 150);
    await assert.rejects(never, { name: 'AbortError' });
  });
});

describe('a withdrawal-shaped tx: buildEip1559 → txDigest → serializeSigned → broadcast', () => {
  let store: Store;
  let walletId: string;
  const devKey = generatePrivateKey(); // test-only stand-in for the 2-party key
  const devAddress = privateKeyToAccount(devKey).address;

  before(async () => {
    store = tempStore();
    walletId = await insertWallet(store, await insertUser(store), devAddress);
    await fund.send(devAddress, 10n ** 18n);
  });

  it('is accepted, mined with status success, and moves exactly the value', async () => {
    const recipient = randomAddress();
    const value = 123_456_789n;
    const chainNonce = await chain.pendingNonce(devAddress);
    const nonce = await store.transaction(() => allocateNonce(store, walletId, devAddress, chainNonce));
    assert.equal(nonce, 0);

    const tx = await buildEip1559(chain, { to: recipient.toLowerCase(), valueWei: value, nonce });
    assert.equal(tx.chainId, 31337n);
    assert.equal(tx.gas, 21_000n);
    assert.equal(tx.to, recipient, 'EIP-55 in the tx');
    assert.deepEqual(txFromJson(JSON.parse(JSON.stringify(txToJson(tx)))), tx, 'survives withdrawals.tx_json');

    const sig = await sign({ hash: toHex(txDigest(tx)), privateKey: devKey });
    const raw = serializeSigned(tx, hexToBigInt(sig.r), hexToBigInt(sig.s), sig.yParity as 0 | 1);
    const { hash } = await broadcast(chain, raw);
    const receipt = await followReceipt(chain, hash, { confirmations: 1, pollMs: 50 });
    assert.equal(receipt.status, 'success');
    assert.equal(await chain.balance(recipient), value);
    const spent = 10n ** 18n - (await chain.balance(devAddress));
    assert.equal(spent, value + receipt.gasUsed * receipt.effectiveGasPrice, 'the sender paid value + fee');
  });

  it('refuses a bad recipient, a negative value, a bad nonce and data without gas for it', async () => {
    const bad = (p: Promise<unknown>, re: RegExp) =>
      assert.rejects(p, (e: unknown) => e instanceof ApiError && e.code === 'BAD_REQUEST' && re.test(e.message));
    await bad(buildEip1559(chain, { to: '0x1234', valueWei: 1n, nonce: 0 }), /^to:/);
    const wrongChecksum = ANVIL_FUNDER.address.replace('f39F', 'F39f');
    await bad(buildEip1559(chain, { to: wrongChecksum, valueWei: 1n, nonce: 0 }), /checksum/);
    await bad(buildEip1559(chain, { to: randomAddress(), valueWei: -1n, nonce: 0 }), /^valueWei:/);
    await bad(buildEip1559(chain, { to: randomAddress(), valueWei: 1n, nonce: 1.5 }), /^nonce:/);
    await bad(buildEip1559(chain, { to: randomAddress(), valueWei: 0n, nonce: 0, data: '0xa9059cbb' }), /^gas:/);
    const call = await buildEip1559(
      chain,
      { to: randomAddress(), valueWei: 0n, nonce: 0, data: '0xA9059CBB' },
      50_000n,
    );
    assert.equal(call.data, '0xa9059cbb');
  });
});

describe('allocateNonce', () => {
  let store: Store;
  let userId: string;
  before(async () => {
    store = tempStore();
    userId = await insertUser(store);
  });
  const alloc = (walletId: string, address: string, chainNonce: number) =>
    store.transaction(() => allocateNonce(store, walletId, address as Hex, chainNonce));
  const allocEach = async (n: number, walletId: string, address: string, chainNonce: number) => {
    const got: number[] = [];
    for (let i = 0; i < n; i++) got.push(await alloc(walletId, address, chainNonce));
    return got;
  };

  it('gives 0, 1, 2 to a fresh wallet while the chain is still at 0', async () => {
    const address = randomAddress();
    const w = await insertWallet(store, userId, address.toLowerCase());
    assert.deepEqual(await allocEach(3, w, address, 0), [0, 1, 2]);
  });

  it("jumps to the chain's nonce when another tool sent from the address", async () => {
    const w = await insertWallet(store, userId, ANVIL_FUNDER.address);
    assert.equal(await alloc(w, ANVIL_FUNDER.address, 0), 0);
    const chainNonce = await chain.pendingNonce(ANVIL_FUNDER.address);
    assert.ok(chainNonce > 1, 'the funder has sent transactions in this file');
    assert.equal(await alloc(w, ANVIL_FUNDER.address, chainNonce), chainNonce);
    assert.equal(
      await alloc(w, ANVIL_FUNDER.address, chainNonce),
      chainNonce + 1,
      'a stale chain read does not go back',
    );
  });

  it("joins the caller's transaction (a rollback hands nothing out) and refuses another address", async () => {
    const address = randomAddress();
    const w = await insertWallet(store, userId, address);
    await assert.rejects(
      store.transaction(async () => {
        assert.equal(await allocateNonce(store, w, address, 0), 0);
        throw new Error('the caller failed after allocating');
      }),
      /the caller failed/,
    );
    assert.equal(await alloc(w, address, 0), 0, 'the rolled-back nonce was never handed out');
    await assert.rejects(alloc(w, randomAddress(), 0), /not this wallet/);
    await assert.rejects(alloc('no-such-wallet', address, 0), { code: 'WALLET_NOT_FOUND' });
  });

  it('concurrent allocations for one wallet never share a nonce', async () => {
    const address = randomAddress();
    const w = await insertWallet(store, userId, address);
    const got = await Promise.all(Array.from({ length: 20 }, () => alloc(w, address, 0)));
    assert.deepEqual(
      [...got].sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  const release = (w: string, nonce: number) => store.transaction(() => releaseNonce(store, w, nonce));

  it('releaseNonce lowers the top for the newest nonce and keeps an older one as a hole the next withdrawal fills', async () => {
    const address = randomAddress();
    const w = await insertWallet(store, userId, address);
    assert.deepEqual(await allocEach(3, w, address, 0), [0, 1, 2]);
    // Nonce 2 is out (its transaction may wait in the mempool): giving back 0 leaves a hole.
    assert.equal(await release(w, 0), false);
    assert.equal(await alloc(w, address, 0), 0, 'the hole first, so the later transaction can go through');
    assert.equal(await alloc(w, address, 0), 3);
    // Holes right below a released top fold into it.
    assert.equal(await release(w, 1), false);
    assert.equal(await release(w, 2), false);
    assert.equal(await release(w, 3), true);
    assert.equal(await alloc(w, address, 0), 1, 'next_nonce came down past the holes at 2 and 1');
    assert.equal(await alloc(w, address, 0), 2);
  });

  it('a hole the chain has moved past is dropped, not reused', async () => {
    const address = randomAddress();
    const w = await insertWallet(store, userId, address);
    assert.deepEqual(await allocEach(2, w, address, 0), [0, 1]);
    assert.equal(await release(w, 0), false);
    // Another tool sent nonce 0 and 1 from this address meanwhile: the chain's next is 2.
    assert.equal(await alloc(w, address, 2), 2);
    assert.equal(await alloc(w, address, 2), 3);
  });
});
