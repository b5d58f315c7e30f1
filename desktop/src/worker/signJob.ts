// The desktop's half of one withdrawal's signature: review the prepared transaction again (the digest signed is the
// one this worker computes from the fields main showed), unlock the wallet's share with the password, and only then
// connect and run the signing session. A wrong password or a mismatch therefore never starts an MPC session and
// never makes the coordinator issue a permit.

import { identityFromSeed } from '@tandem/tecdsa/envelope';
import { type Vault } from '../vault/vault.ts';
import { CoordinatorSocket } from '../p2/coordinatorSocket.ts';
import { reviewWithdrawal } from '../p2/review.ts';
import { runSigning } from '../p2/sessions.ts';
import { mpcUrl } from '../p2/trust.ts';
import { type OnProgress } from '../p2/progress.ts';
import { type SignJob, type SignResult } from './jobs.ts';

const hex32 = (x: bigint) => `0x${x.toString(16).padStart(64, '0')}` as const;

export async function runSignJob(job: SignJob, vault: Vault, progress: OnProgress): Promise<SignResult> {
  progress({ step: 'checking the transaction' });
  const review = reviewWithdrawal(job.approved, job.prepared);

  progress({ step: 'unlocking the key share' });
  const shareBlob = await vault.openShare(job.wallet.id, job.wallet.dkgWalletId, job.password);
  try {
    progress({ step: 'connecting' });
    const socket = await CoordinatorSocket.connect({
      url: mpcUrl(job.coordinator.url),
      token: job.coordinator.token,
      caFile: job.coordinator.caFile,
    });
    try {
      const { txHash, signature } = await runSigning({
        socket,
        identity: identityFromSeed(job.device.identitySeed),
        signerPublicKey: Buffer.from(job.device.signerPublicKey, 'hex'),
        shareBlob,
        withdrawalId: job.withdrawalId,
        digest: review.digest,
        tx: review.tx,
        expect: { dkgWalletId: job.wallet.dkgWalletId, address: job.wallet.address },
        onProgress: progress,
      });
      return {
        withdrawalId: job.withdrawalId,
        txHash,
        signature: { r: hex32(signature.r), s: hex32(signature.s), recid: signature.recid },
      };
    } finally {
      await socket.close();
    }
  } finally {
    shareBlob.fill(0);
  }
}
