// Parallel batches of modular exponentiations on worker threads, behind the synchronous
// ModPow interface: the caller's thread computes its share of a batch while the workers
// compute theirs, then blocks (Atomics.wait) until they are done and collects their
// results with receiveMessageOnPort. Protocol code stays synchronous and pure; only the
// backend knows about threads. Node and Electron's utility process allow Atomics.wait on
// their main thread; a browser renderer does not (use the plain backends there).
//
// The worker is a small self-contained script (it cannot load TypeScript modules in every
// runtime), computing with the same OpenSSL path as modpowNative.ts; the pool checks each
// worker's answers against the reference before first use.

import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { type ModPow, modPowBigInt } from './arith.ts';
import { nativeModPow } from './modpowNative.ts';

export type PowTask = readonly [base: bigint, exp: bigint, mod: bigint];

const WORKER_SOURCE = `
const { createDiffieHellman } = require('node:crypto');
const { workerData } = require('node:worker_threads');
const { port, flag } = workerData;
const hex = (x) => { const h = x.toString(16); return Buffer.from(h.length % 2 ? '0' + h : h, 'hex'); };
function pow(b, e, m) {
  b %= m;
  if (e === 0n) return 1n;
  if (b < 2n || e === 1n) return b;
  const m3 = m % 3n === 0n ? m : 3n * m;
  const dh = createDiffieHellman(hex(m3), hex(b));
  dh.setPrivateKey(hex(e));
  return BigInt('0x' + (dh.generateKeys().toString('hex') || '0')) % m;
}
port.on('message', (tasks) => {
  let out;
  try { out = { ok: tasks.map(([b, e, m]) => pow(b, e, m)) }; } catch (err) { out = { error: String(err) }; }
  port.postMessage(out);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
`;

interface Lane {
  worker: Worker;
  port: MessagePort;
  flag: Int32Array;
}

/** Exponentiations a worker may take: those the native path handles (odd moduli ≥ 512 bits). */
const offloadable = ([, , m]: PowTask) => (m & 1n) === 1n && m >= 1n << 511n;

export class ModPowPool implements ModPow {
  readonly name: string;
  private lanes: Lane[] | undefined;
  private readonly base: ModPow;

  /** `threads`: worker threads besides the caller's (default: cores − 1). */
  constructor(private readonly threads = Math.max(0, availableParallelism() - 1)) {
    const native = nativeModPow();
    if (!native) throw new Error('ModPowPool needs the native backend');
    this.base = native;
    this.name = `openssl+${threads} worker${threads === 1 ? '' : 's'}`;
  }

  pow(b: bigint, e: bigint, m: bigint): bigint {
    return this.base.pow(b, e, m);
  }

  private start(): Lane[] {
    if (this.lanes) return this.lanes;
    this.lanes = Array.from({ length: this.threads }, () => {
      const { port1, port2 } = new MessageChannel();
      const flag = new Int32Array(new SharedArrayBuffer(4));
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { port: port2, flag },
        transferList: [port2],
      });
      worker.unref();
      port1.unref();
      return { worker, port: port1, flag };
    });
    // Known answers through every lane before any real work.
    const probe: PowTask[] = [[3n, (1n << 700n) + 5n, (1n << 1023n) + 1155n]];
    for (const lane of this.lanes) {
      const [got] = this.runOnLane(lane, probe);
      if (got !== modPowBigInt(...probe[0]!)) throw new Error('modpow worker disagrees with the reference');
    }
    return this.lanes;
  }

  private runOnLane(lane: Lane, tasks: PowTask[]): bigint[] {
    this.post(lane, tasks);
    return this.collect(lane);
  }

  private post(lane: Lane, tasks: PowTask[]): void {
    Atomics.store(lane.flag, 0, 0);
    lane.port.postMessage(tasks);
  }

  private collect(lane: Lane): bigint[] {
    while (Atomics.load(lane.flag, 0) === 0) Atomics.wait(lane.flag, 0, 0, 60_000);
    const msg = receiveMessageOnPort(lane.port)?.message as { ok?: bigint[]; error?: string } | undefined;
    if (!msg?.ok) throw new Error(`modpow worker failed: ${msg?.error ?? 'no reply'}`);
    return msg.ok;
  }

  /** All of `tasks`, split across the caller's thread and the workers; results in order. */
  powMany(tasks: readonly PowTask[]): bigint[] {
    const lanes = this.threads > 0 && tasks.length > 1 ? this.start() : [];
    const out = new Array<bigint>(tasks.length);
    const idx = tasks.map((_, i) => i).filter((i) => offloadable(tasks[i]!));
    const shares = lanes.length + 1;
    const perLane = Math.floor(idx.length / shares);
    const assigned = lanes.map((_, k) => idx.slice(k * perLane, (k + 1) * perLane));
    const mine = new Set(tasks.map((_, i) => i));
    assigned.forEach((ids, k) => {
      ids.forEach((i) => mine.delete(i));
      if (ids.length)
        this.post(
          lanes[k]!,
          ids.map((i) => tasks[i]!),
        );
    });
    for (const i of mine) out[i] = this.base.pow(...tasks[i]!);
    assigned.forEach((ids, k) => {
      if (!ids.length) return;
      this.collect(lanes[k]!).forEach((v, j) => (out[ids[j]!] = v));
    });
    return out;
  }

  /** Stops the workers (they are unref'd, so a process may also just exit). */
  close(): void {
    for (const l of this.lanes ?? []) void l.worker.terminate();
    this.lanes = undefined;
  }
}
