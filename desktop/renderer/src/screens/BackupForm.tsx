// Exports this computer's share of a wallet, encrypted with a backup password, as a file the user keeps offline.
// Without a backup, losing this computer means losing the wallet's key.

import { useState, type FormEvent } from 'react';
import { useAction } from '../app/hooks.ts';
import { CloseActions, DialogActions } from '../components/DialogActions.tsx';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { PasswordField } from '../components/Field.tsx';
import { NewPasswordFields, useNewPassword } from '../components/NewPasswordFields.tsx';
import { downloadText } from '../lib/download.ts';

export function BackupForm(props: { walletId: string; onClose(): void; closeLabel?: string }) {
  const action = useAction();
  const [password, setPassword] = useState('');
  const backupPassword = useNewPassword();
  const [tried, setTried] = useState(false);
  const [savedAs, setSavedAs] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (!password || backupPassword.tooShort || backupPassword.differs) return;
    const result = await action.run('wallets.exportBackup', {
      walletId: props.walletId,
      password,
      backupPassword: backupPassword.value,
    });
    setPassword('');
    if (!result) return;
    backupPassword.clear();
    downloadText(result.fileName, result.file);
    setSavedAs(result.fileName);
  };

  if (savedAs) {
    return (
      <>
        <p className="banner success" role="status">
          Backup saved as <code className="mono">{savedAs}</code>
        </p>
        <p>
          Move the file to the bank&apos;s offline backup storage, and keep the backup password separately. Either one
          alone cannot restore the key.
        </p>
        <CloseActions onClose={props.onClose} />
      </>
    );
  }

  return (
    <form onSubmit={(e) => void submit(e)}>
      <PasswordField
        value={password}
        onChange={setPassword}
        hint="This workstation's password, to unlock the key share."
        disabled={action.busy}
        autoFocus
      />
      <NewPasswordFields
        password={backupPassword}
        label="Backup password"
        confirmLabel="Confirm backup password"
        hint="A new password that encrypts the backup file. You need it to restore; nobody can recover it."
        mismatch="The two backup passwords differ."
        showProblems={tried}
        disabled={action.busy}
      />
      <ErrorBanner error={action.error} />
      <DialogActions
        busy={action.busy}
        onCancel={props.onClose}
        cancelLabel={props.closeLabel}
        submitLabel="Save backup"
        busyLabel="Saving backup…"
      />
    </form>
  );
}
