// A new wallet's key, the desktop's part: unlock the device setup, run the DKG with the bank signer over the
// coordinator, store the new share in the vault (and read it back, so a share that cannot be opened is never
// announced), then tell the coordinator with share-stored so the wallet becomes ACTIVE at the address this share
// gives. The job succeeds only when both shares are stored.
//
// The worker, not main, calls share-stored: the address comes from the share that was just stored, and a DKG job
// that returns means an ACTIVE wallet. If only that last call fails, the error is SHARE_NOT_CONFIRMED carrying the
// (public) address, and main confirms again with confirmShareStored (p2/coordinatorRest.ts) without a new DKG.

import { timingSafeEqual } from 'node:crypto';
import { identityFromSeed } from '@tandem/tecdsa/envelope';
import { parseRingPedersenSecret } from '@tandem/tecdsa/shares';
import { type RingPedersenSecret } from '@tandem/tecdsa/ringPedersen';
import { assertNewPassword } from '../vault/encryptedShare.ts';
import { VaultError } from '../vault/errors.ts';
import { type Vault } from '../vault/vault.ts';
import { P2Error, toP2Error } from '../p2/errors.ts';
import { CoordinatorSocket } from '../p2/coordinatorSocket.ts';
import { confirmShareStored } from '../p2/coordinatorRest.ts';
import { runDkg } from '../p2/sessions.ts';
import { mpcUrl } from '../p2/trust.ts';
import { p2ModPow } from '../p2/modPow.ts';
import { type OnProgress } from '../p2/progress.ts';
import { type DkgJob, type DkgResult } from './jobs.ts';

async function unlockSetup(vault: Vault, password: string): Promise<RingPedersenSecret> {
  if (!(await vault.hasSetup()))
    throw new P2Error(
      'SETUP_MISSING',
      "This workstation has not finished its one-time setup, so it cannot create a wallet's key yet. Run the setup first.",
    );
  const blob = await vault.openSetup(password);
  try {
    return parseRingPedersenSecret(blob, p2ModPow());
  } catch (e) {
    throw new VaultError('SHARE_CORRUPTED', {
      message:
        "This workstation's setup file is damaged, so Tandem will not use it. Nothing was deleted. Contact support.",
      cause: e,
    });
  } finally {
    blob.fill(0);
  }
}

/** Stores the new share, then opens it again and compares: what the coordinator is told about must be readable. */
async function storeShare(vault: Vault, job: DkgJob, blob: Uint8Array): Promise<void> {
  await vault.storeShare(job.wallet.id, job.wallet.dkgWalletId, blob, job.password);
  const back = await vault.openShare(job.wallet.id, job.wallet.dkgWalletId, job.password);
  try {
    if (back.length !== blob.length || !timingSafeEqual(back, blob))
      throw new VaultError('SHARE_CORRUPTED', { detail: 'the stored share does not read back' });
  } finally {
    back.fill(0);
  }
}

export async function runDkgJob(job: DkgJob, vault: Vault, progress: OnProgress): Promise<DkgResult> {
  // Checked before any MPC: a DKG whose share cannot then be stored leaves an unusable wallet behind.
  assertNewPassword(job.password);
  if (await vault.hasShare(job.wallet.id)) throw new VaultError('SHARE_EXISTS');
  progress({ step: 'unlocking the device setup' });
  const ringPedersen = await unlockSetup(vault, job.password);

  progress({ step: 'connecting' });
  const socket = await CoordinatorSocket.connect({
    url: mpcUrl(job.coordinator.url),
    token: job.coordinator.token,
    caFile: job.coordinator.caFile,
  });
  let outcome;
  try {
    outcome = await runDkg({
      socket,
      identity: identityFromSeed(job.device.identitySeed),
      signerPublicKey: Buffer.from(job.device.signerPublicKey, 'hex'),
      ringPedersen,
      wallet: job.wallet,
      onProgress: progress,
    });
  } finally {
    await socket.close();
  }

  progress({ step: 'storing the key share' });
  try {
    await storeShare(vault, job, outcome.shareBlob);
  } finally {
    outcome.shareBlob.fill(0);
  }

  progress({ step: 'confirming with the coordinator' });
  try {
    await confirmShareStored(job.coordinator, job.wallet.id, outcome.address);
  } catch (e) {
    const why = toP2Error(e);
    throw new P2Error(
      'SHARE_NOT_CONFIRMED',
      `Your key share is stored on this computer, but the coordinator did not confirm it (${why.code}: ${why.message}). ` +
        'Confirm again; no new key is needed.',
      { address: outcome.address, cause: e },
    );
  }
  progress({ step: 'done' });
  return { walletId: job.wallet.id, address: outcome.address, publicKey: outcome.publicKey };
}
