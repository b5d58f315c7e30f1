// Main's side of the P2 worker: startP2Job spawns one worker_thread for one job, forwards its progress, resolves with
// its result or rejects with its P2Error (the code the worker chose, e.g. WRONG_PASSWORD, DISPLAY_MISMATCH,
// SIGNER_UNAVAILABLE), and terminates the worker before settling, so the secrets the job decrypted die with it.
//
// From source (development, tests) the worker is the .ts module, loaded through tsx's loader registered inside the
// worker; a packaged build passes the bundled .js file (or, in Electron, starts p2Worker as a utilityProcess).

import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { P2Error, type WireError, fromWire } from '../p2/errors.ts';
import { P2_STEPS, type OnProgress, type P2Step } from '../p2/progress.ts';
import { type P2Job, type ResultOf } from './jobs.ts';

/** A job as main writes it: the id is the client's to assign. */
export type P2JobInput = P2Job extends infer J ? (J extends P2Job ? Omit<J, 'id'> : never) : never;

export interface StartOptions {
  onProgress?: OnProgress;
  /** Aborting terminates the worker at once and rejects with CANCELLED. */
  signal?: AbortSignal;
  /** The worker module; p2Worker.ts beside this file by default. */
  workerUrl?: URL;
  /** Sees every raw message the worker posts (tests use it to prove no secret ever leaves the worker). */
  onMessage?: (msg: unknown) => void;
  /** Starts the worker: a worker_thread by default; the Electron app passes a utilityProcess (utilityWorker.ts). */
  spawn?: (url: URL) => WorkerLike;
}

/** The part of worker_threads' Worker that startP2Job uses, so a utilityProcess can stand in for it. */
export interface WorkerLike {
  on(event: 'message', listener: (msg: unknown) => void): unknown;
  on(event: 'error', listener: (e: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  postMessage(msg: unknown): void;
  terminate(): Promise<unknown>;
}

const DEFAULT_WORKER = new URL('./p2Worker.ts', import.meta.url);
const STEPS: ReadonlySet<string> = new Set(P2_STEPS);

function spawn(url: URL): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url);
  // Node 20 does not apply the parent's --import loaders to a worker's entry: register tsx inside the worker.
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true, execArgv: [] });
}

const workerFailed = (why: string, cause?: unknown) =>
  new P2Error('WORKER_FAILED', `Tandem's key worker stopped unexpectedly (${why}). Try again.`, { cause });

const SOURCES: ReadonlySet<string> = new Set(['coordinator', 'protocol', 'vault', 'desktop']);

/** The worker's WireError as a P2Error; anything that does not look like one is WORKER_FAILED. */
function errorFromWorker(e: unknown): P2Error {
  const w = (typeof e === 'object' && e !== null ? e : {}) as Partial<Record<keyof WireError, unknown>>;
  if (typeof w.code !== 'string' || typeof w.message !== 'string') return workerFailed('an unreadable error');
  return fromWire({
    code: w.code,
    message: w.message,
    source: typeof w.source === 'string' && SOURCES.has(w.source) ? (w.source as WireError['source']) : 'desktop',
    ...(typeof w.field === 'string' ? { field: w.field } : {}),
    ...(typeof w.retryAfterMs === 'number' ? { retryAfterMs: w.retryAfterMs } : {}),
    ...(typeof w.address === 'string' ? { address: w.address } : {}),
  });
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: P2Error };

/** Runs one job in a fresh worker. */
export function startP2Job<J extends P2JobInput>(job: J, opts: StartOptions = {}): Promise<ResultOf[J['job']]> {
  const id = randomUUID();
  if (opts.signal?.aborted) return Promise.reject(new P2Error('CANCELLED', 'Cancelled.'));
  const worker: WorkerLike = (opts.spawn ?? spawn)(opts.workerUrl ?? DEFAULT_WORKER);
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (o: Outcome<ResultOf[J['job']]>) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      void worker.terminate().finally(() => (o.ok ? resolve(o.value) : reject(o.error)));
    };
    const onAbort = () => finish({ ok: false, error: new P2Error('CANCELLED', 'Cancelled.') });
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    worker.on('message', (msg: unknown) => {
      opts.onMessage?.(msg);
      const m = msg as { id?: unknown; progress?: { step?: unknown }; result?: unknown; error?: unknown };
      if (typeof m !== 'object' || m === null || m.id !== id) return;
      if (m.progress !== undefined) {
        const step = m.progress?.step;
        if (typeof step === 'string' && STEPS.has(step) && !settled) opts.onProgress?.({ step: step as P2Step });
      } else if (m.result !== undefined) {
        finish({ ok: true, value: m.result as ResultOf[J['job']] });
      } else if (m.error !== undefined) {
        finish({ ok: false, error: errorFromWorker(m.error) });
      }
    });
    worker.on('error', (e) => finish({ ok: false, error: workerFailed('an uncaught error', e) }));
    worker.on('exit', (code) => finish({ ok: false, error: workerFailed(`exit code ${code}`) }));
    worker.postMessage({ ...job, id });
  });
}
