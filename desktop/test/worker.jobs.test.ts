// The worker's edge and lifecycle without a coordinator: parseJob refuses malformed jobs with BAD_JOB naming the field
// (never echoing a value, which may be the password); runJob answers every job exactly once and wipes the identity
// seed it was given; startP2Job cancels by terminating the worker, and reports a worker that dies as WORKER_FAILED.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { P2Error } from '../src/p2/errors.ts';
import { type WorkerMessage, parseJob } from '../src/worker/jobs.ts';
import { runJob } from '../src/worker/runJob.ts';
import { startP2Job } from '../src/worker/client.ts';
import { Vault } from '../src/vault/vault.ts';

const PASSWORD = 'jobs test password 2026';
const dir = mkdtempSync(path.join(tmpdir(), 'tandem-jobs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const signJob = () => ({
  job: 'sign',
  id: 'job-1',
  password: PASSWORD,
  vault: { dir: path.join(dir, 'vault'), profileId: `jobs-${randomBytes(4).toString('hex')}` },
  coordinator: { url: 'https://localhost:1', token: 't' },
  device: { identitySeed: randomBytes(32), signerPublicKey: 'ab'.repeat(32) },
  wallet: { id: 'w1', dkgWalletId: 'cd'.repeat(32) },
  withdrawalId: 'wd1',
  approved: { to: '0x' + '11'.repeat(20), amountWei: '1', chainId: 31337 },
  prepared: { tx: {}, digest: '00'.repeat(32) },
});

function badJob(job: unknown, field: string): void {
  assert.throws(
    () => parseJob(job),
    (e: unknown) => {
      assert.ok(e instanceof P2Error);
      assert.equal(e.code, 'BAD_JOB');
      assert.equal(e.field, field);
      assert.ok(!e.message.includes(PASSWORD));
      return true;
    },
  );
}

test('parseJob accepts the three jobs and refuses anything else, naming the field', () => {
  assert.equal(parseJob(signJob()).job, 'sign');
  const sign = signJob();
  const rest = {
    id: sign.id,
    password: PASSWORD,
    vault: sign.vault,
    coordinator: sign.coordinator,
    device: sign.device,
    wallet: sign.wallet,
  };
  assert.equal(parseJob({ ...rest, job: 'dkg' }).job, 'dkg');
  assert.equal(parseJob({ job: 'setup', id: 'x', password: PASSWORD, vault: rest.vault }).job, 'setup');

  badJob({ ...signJob(), job: 'export' }, 'job.job');
  badJob({ ...signJob(), extra: PASSWORD }, 'job.extra');
  badJob({ ...signJob(), profile: 'full' }, 'job.profile');
  badJob({ ...signJob(), password: 7 }, 'job.password');
  badJob({ ...signJob(), id: 'a b' }, 'job.id');
  badJob({ ...signJob(), wallet: { id: 'w1', dkgWalletId: 'cd'.repeat(32), name: PASSWORD } }, 'wallet.name');
  badJob({ ...signJob(), wallet: { id: 'w1', dkgWalletId: 'xyz' } }, 'wallet.dkgWalletId');
  badJob(
    { ...signJob(), device: { identitySeed: randomBytes(31), signerPublicKey: 'ab'.repeat(32) } },
    'device.identitySeed',
  );
  badJob({ ...signJob(), device: { identitySeed: 'seed', signerPublicKey: 'ab'.repeat(32) } }, 'device.identitySeed');
  badJob({ ...signJob(), device: { identitySeed: randomBytes(32), signerPublicKey: 'ab' } }, 'device.signerPublicKey');
  badJob({ ...signJob(), coordinator: { url: 'https://x' } }, 'coordinator.token');
  badJob({ ...signJob(), approved: { to: 'x', amountWei: '1' } }, 'approved.chainId');
  badJob({ ...rest, job: 'dkg', wallet: { ...rest.wallet, address: '0x' + '11'.repeat(20) } }, 'wallet.address');
  badJob(null, 'job');
});

test('runJob answers once with the error, and wipes the identity seed whatever happens', async () => {
  const posted: WorkerMessage[] = [];
  const malformed = { ...signJob(), extra: 1 };
  await runJob(malformed, (m) => posted.push(m));
  assert.deepEqual(posted, [
    {
      id: 'job-1',
      error: {
        code: 'BAD_JOB',
        message: "Tandem's key worker was given a malformed job (job.extra).",
        source: 'desktop',
        field: 'job.extra',
      },
    },
  ]);
  assert.ok(
    malformed.device.identitySeed.every((b) => b === 0),
    'the seed of a refused job is wiped too',
  );

  // A prepared tx that does not parse: refused at the review, before the vault is touched.
  posted.length = 0;
  const job = signJob();
  await runJob(job, (m) => posted.push(m));
  assert.deepEqual(posted[0], { id: 'job-1', progress: { step: 'checking the transaction' } });
  assert.equal(posted.length, 2);
  const last = posted[1] as { error: { code: string; field: string } };
  assert.equal(last.error.code, 'DISPLAY_MISMATCH');
  assert.equal(last.error.field, 'tx');
  assert.ok(job.device.identitySeed.every((b) => b === 0));
});

test('startP2Job: aborting terminates the worker mid-job with CANCELLED, and nothing is stored', async () => {
  const vault = { dir: path.join(dir, 'cancel'), profileId: `jobs-cancel-${randomBytes(4).toString('hex')}` };
  const abort = new AbortController();
  const steps: string[] = [];
  await assert.rejects(
    startP2Job(
      { job: 'setup', vault, password: PASSWORD },
      {
        signal: abort.signal,
        onProgress: (p) => {
          steps.push(p.step);
          if (p.step === 'generating the device setup') abort.abort();
        },
      },
    ),
    (e: P2Error) => e.code === 'CANCELLED',
  );
  assert.deepEqual(steps, ['generating the device setup']);
  assert.equal(await new Vault(vault.dir, vault.profileId).hasSetup(), false);
});

test('startP2Job: a worker that dies is WORKER_FAILED', async () => {
  const broken = path.join(dir, 'broken.mjs');
  writeFileSync(broken, "throw new Error('the worker module failed to load');\n");
  await assert.rejects(
    startP2Job(
      { job: 'setup', vault: { dir, profileId: 'x' }, password: PASSWORD },
      { workerUrl: pathToFileURL(broken) },
    ),
    (e: P2Error) => e.code === 'WORKER_FAILED' && !e.message.includes(PASSWORD),
  );
});
