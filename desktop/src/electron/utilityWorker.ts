// The P2 worker as an Electron utilityProcess in the app: a separate OS process per job (its memory, and the secrets
// the job decrypted, end with it), presented to startP2Job as the worker_threads Worker it expects. The worker side
// is the same module (p2Worker.ts finds process.parentPort). Plain code around an injected `fork`, so it is tested
// without Electron; main.ts passes electron's utilityProcess.fork.

import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { type WorkerLike } from '../worker/client.ts';

/** The parts of Electron's UtilityProcess used here. */
export interface UtilityProcessLike {
  on(event: 'spawn', listener: () => void): unknown;
  on(event: 'message', listener: (msg: unknown) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  postMessage(msg: unknown): void;
  kill(): boolean;
}

export type Fork = (modulePath: string, args: string[], options: { serviceName: string }) => UtilityProcessLike;

export function utilityWorker(fork: Fork): (url: URL) => WorkerLike {
  return (url) => {
    const child = fork(fileURLToPath(url), [], { serviceName: 'Tandem key worker' });
    const events = new EventEmitter();
    // Messages wait for the process to exist; the job is the first and only one.
    let queue: unknown[] | null = [];
    let exited: Promise<void> | null = null;
    const exit = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    child.on('spawn', () => {
      for (const m of queue ?? []) child.postMessage(m);
      queue = null;
    });
    child.on('message', (m) => events.emit('message', m));
    child.on('exit', (code) => events.emit('exit', code));
    const worker: WorkerLike = {
      on: ((event: string, listener: (...a: unknown[]) => void) => events.on(event, listener)) as WorkerLike['on'],
      postMessage: (m) => (queue ? queue.push(m) : child.postMessage(m)),
      terminate: () => {
        exited ??= (child.kill(), exit);
        return exited;
      },
    };
    return worker;
  };
}
