// Runs one job the worker received and reports on it: progress as it goes, then one result or one error. This is
// the worker's whole behaviour apart from its transport (port.ts), so tests can drive it in-process as well.
//
// Secrets: the job's identity seed is wiped when the job ends, whatever the outcome (the password is a string and
// cannot be). Errors are P2Errors whose messages are written without secrets; as a last guard, an error whose text
// would contain the password or the seed is sent with its code and a fixed message instead.

import { Vault } from '../vault/vault.ts';
import { P2Error, toP2Error, toWire } from '../p2/errors.ts';
import { type OnProgress } from '../p2/progress.ts';
import { type WorkerMessage, type P2Job, jobIdOf, parseJob } from './jobs.ts';
import { runSetupJob } from './setupJob.ts';
import { runDkgJob } from './dkgJob.ts';
import { runSignJob } from './signJob.ts';

function openVault(job: P2Job): Vault {
  try {
    return new Vault(job.vault.dir, job.vault.profileId);
  } catch (e) {
    throw new P2Error('BAD_JOB', "Tandem's key worker was given a malformed vault location.", {
      field: 'vault',
      cause: e,
    });
  }
}

function run(job: P2Job, vault: Vault, post: (m: WorkerMessage) => void) {
  const progress: OnProgress = (p) => post({ id: job.id, progress: { step: p.step } });
  switch (job.job) {
    case 'setup':
      return runSetupJob(job, vault, progress);
    case 'dkg':
      return runDkgJob(job, vault, progress);
    case 'sign':
      return runSignJob(job, vault, progress);
  }
}

/** The seed wherever it sits in the raw message, even if the job did not parse. */
function seedOf(msg: unknown): Uint8Array | undefined {
  const device = typeof msg === 'object' && msg !== null ? (msg as { device?: unknown }).device : undefined;
  const seed =
    typeof device === 'object' && device !== null ? (device as { identitySeed?: unknown }).identitySeed : undefined;
  return seed instanceof Uint8Array ? seed : undefined;
}

/** Text that must never leave the worker. Very short passwords are skipped: they would match ordinary words. */
function secretsOf(msg: unknown): string[] {
  const out: string[] = [];
  const password = typeof msg === 'object' && msg !== null ? (msg as { password?: unknown }).password : undefined;
  if (typeof password === 'string' && password.length >= 6) out.push(password);
  const seed = seedOf(msg);
  if (seed) out.push(Buffer.from(seed).toString('hex'), Buffer.from(seed).toString('base64'));
  return out;
}

function scrubbed(e: P2Error, secrets: string[]): P2Error {
  const text = `${e.message}\u0000${e.field ?? ''}`;
  if (!secrets.some((s) => text.includes(s))) return e;
  return new P2Error(e.code, 'The operation failed. Try again; if it keeps happening, contact support.', {
    source: e.source,
    retryAfterMs: e.retryAfterMs,
  });
}

export async function runJob(msg: unknown, post: (m: WorkerMessage) => void): Promise<void> {
  const id = jobIdOf(msg);
  try {
    const job = parseJob(msg);
    const result = await run(job, openVault(job), post);
    post({ id, result });
  } catch (e) {
    post({ id, error: toWire(scrubbed(toP2Error(e), secretsOf(msg))) });
  } finally {
    seedOf(msg)?.fill(0);
  }
}
