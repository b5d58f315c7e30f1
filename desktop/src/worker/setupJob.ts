// The device's one-time P2 setup (PROTOCOL.md §4.2): ring-Pedersen parameters from two fresh safe primes, made in
// the worker (it takes seconds and is secret) and stored in the vault under the user's password. Every DKG on this
// workstation then uses them.

import { generateRingPedersen } from '@tandem/tecdsa/ringPedersen';
import { encodeRingPedersenSecret } from '@tandem/tecdsa/shares';
import { systemRng } from '@tandem/tecdsa/rng';
import { FULL, TEST } from '@tandem/tecdsa/params';
import { assertNewPassword } from '../vault/encryptedShare.ts';
import { VaultError } from '../vault/errors.ts';
import { type Vault } from '../vault/vault.ts';
import { p2ModPow } from '../p2/modPow.ts';
import { type OnProgress } from '../p2/progress.ts';
import { type SetupJob, type SetupResult } from './jobs.ts';

export async function runSetupJob(job: SetupJob, vault: Vault, progress: OnProgress): Promise<SetupResult> {
  assertNewPassword(job.password);
  if (await vault.hasSetup()) throw new VaultError('SHARE_EXISTS', { message: 'This workstation is already set up.' });
  progress({ step: 'generating the device setup' });
  const profile = job.profile === 'test' ? TEST : FULL;
  const blob = encodeRingPedersenSecret(generateRingPedersen(p2ModPow(), systemRng, profile.nHatBits));
  try {
    progress({ step: 'storing the device setup' });
    await vault.storeSetup(blob, job.password);
  } finally {
    blob.fill(0);
  }
  progress({ step: 'done' });
  return { stored: true };
}
