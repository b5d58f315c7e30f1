// How the P2 worker talks to main, kept behind one tiny interface so the same worker module runs as a worker_thread
// (development and tests) and as an Electron utilityProcess (the packaged app), without importing electron.

import { parentPort } from 'node:worker_threads';
import { type WorkerMessage } from './jobs.ts';

export interface Port {
  onMessage(handler: (msg: unknown) => void): void;
  post(msg: WorkerMessage): void;
}

/** worker_threads: `parentPort` messages. */
export function workerThreadPort(): Port | undefined {
  const port = parentPort;
  if (!port) return undefined;
  return {
    onMessage: (handler) => port.on('message', handler),
    post: (msg) => port.postMessage(msg),
  };
}

/** The shape of Electron's `process.parentPort` in a utilityProcess (typed here so this file needs no electron). */
interface UtilityParentPort {
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

/** Electron utilityProcess: `process.parentPort`, whose message events carry the payload in `data`. */
export function utilityProcessPort(): Port | undefined {
  const port = (process as unknown as { parentPort?: UtilityParentPort }).parentPort;
  if (!port) return undefined;
  return {
    onMessage: (handler) => port.on('message', (e) => handler(e.data)),
    post: (msg) => port.postMessage(msg),
  };
}
