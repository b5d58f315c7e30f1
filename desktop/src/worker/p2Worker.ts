// The P2 worker's entry: the only place where a user's key share is decrypted. Main starts one per job
// (client.ts: a worker_thread; the packaged app: an Electron utilityProcess running this same module), sends it the
// job, receives progress and one result or error, and ends it, so whatever secrets the job touched die with it.

import { type Port, utilityProcessPort, workerThreadPort } from './port.ts';
import { runJob } from './runJob.ts';
import { jobIdOf } from './jobs.ts';

const port: Port | undefined = workerThreadPort() ?? utilityProcessPort();
if (!port) throw new Error('p2Worker runs as a worker_thread or an Electron utilityProcess, not on its own');

let busy = false;
port.onMessage((msg) => {
  if (busy) {
    // One job per worker: a second one would share the first one's memory.
    port.post({
      id: jobIdOf(msg),
      error: { code: 'BAD_JOB', message: 'This worker already ran a job; start a new one.', source: 'desktop' },
    });
    return;
  }
  busy = true;
  void runJob(msg, (m) => port.post(m));
});
