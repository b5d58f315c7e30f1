// The wallet's key is made by this computer and the bank's signer together (DKG): neither ever holds the whole key.
// The share made here is stored protected by the workstation password; right after, the user is asked to back it up,
// since until then this computer's disk is its only copy.

import { useState, type FormEvent } from 'react';
import type { Wallet } from '../../../src/main/views.ts';
import { useAction, useProgress, useRetryCountdown } from '../app/hooks.ts';
import { Address } from '../components/Address.tsx';
import { Dialog } from '../components/Dialog.tsx';
import { DialogActions } from '../components/DialogActions.tsx';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { PasswordField } from '../components/Field.tsx';
import { ProgressSteps } from '../components/ProgressSteps.tsx';
import { DKG_STEPS } from '../lib/steps.ts';
import { BackupForm } from './BackupForm.tsx';

export function GenerateKeyDialog(props: { wallet: Wallet; onClose(): void }) {
  const action = useAction();
  const progress = useProgress('dkg', props.wallet.id);
  const [password, setPassword] = useState('');
  const [address, setAddress] = useState<string | null>(null);
  const wait = useRetryCountdown(action.error);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    progress.reset();
    const result = await action.run('wallets.generateKey', { walletId: props.wallet.id, password });
    setPassword('');
    if (result) setAddress(result.address);
  };

  return (
    <Dialog title={`Generate key: ${props.wallet.name}`} onClose={props.onClose} busy={action.busy} wide>
      {address ? (
        <>
          <p className="banner success" role="status">
            The key was generated. Deposit address:
          </p>
          <p>
            <Address value={address} copy />
          </p>
          <h3>Back up this wallet&apos;s key share now</h3>
          <p>
            Until it is backed up, this computer holds the only copy of your half of the key. If the computer is lost,
            so are the funds.
          </p>
          <BackupForm walletId={props.wallet.id} onClose={props.onClose} closeLabel="Later" />
        </>
      ) : action.busy ? (
        <>
          <p>This computer and the bank&apos;s signer are creating the key together. Keep Tandem open.</p>
          <ProgressSteps label="Key generation" steps={DKG_STEPS} current={progress.step} />
        </>
      ) : (
        <form onSubmit={(e) => void submit(e)}>
          <p>
            Tandem will create this wallet&apos;s key together with the bank&apos;s signer. Your share is stored on this
            computer, protected by your workstation password.
          </p>
          <PasswordField
            value={password}
            onChange={setPassword}
            hint="The password you chose when this workstation was set up."
            autoFocus
          />
          <ErrorBanner error={action.error} />
          <DialogActions
            busy={action.busy}
            onCancel={props.onClose}
            submitLabel="Generate key"
            submitDisabled={!password || wait > 0}
          />
        </form>
      )}
    </Dialog>
  );
}
