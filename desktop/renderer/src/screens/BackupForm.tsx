// Exports this computer's share of a wallet, encrypted with a backup password, as a file the user keeps offline.
// Without a backup, losing this computer means losing the wallet's key.

import { useState, type FormEvent } from 'react';
import { useAction } from '../app/hooks.ts';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { FormActions, PasswordField } from '../components/Field.tsx';
import { downloadText } from '../lib/download.ts';

const MIN_BACKUP_PASSWORD = 12;

export function BackupForm(props: { walletId: string; onClose(): void; closeLabel?: string }) {
  const action = useAction();
  const [password, setPassword] = useState('');
  const [backupPassword, setBackupPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [tried, setTried] = useState(false);
  const [savedAs, setSavedAs] = useState<string | null>(null);

  const backupProblem =
    [...backupPassword].length < MIN_BACKUP_PASSWORD ? `Use at least ${MIN_BACKUP_PASSWORD} characters.` : undefined;
  const confirmProblem = confirm !== backupPassword ? 'The two backup passwords differ.' : undefined;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (!password || backupProblem || confirmProblem) return;
    const result = await action.run('wallets.exportBackup', { walletId: props.walletId, password, backupPassword });
    setPassword('');
    if (!result) return;
    setBackupPassword('');
    setConfirm('');
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
        <FormActions>
          <button type="button" onClick={props.onClose} data-autofocus="">
            Close
          </button>
        </FormActions>
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
      <PasswordField
        label="Backup password"
        value={backupPassword}
        onChange={setBackupPassword}
        isNew
        hint="A new password that encrypts the backup file. You need it to restore; nobody can recover it."
        problem={tried ? backupProblem : undefined}
        disabled={action.busy}
      />
      <PasswordField
        label="Confirm backup password"
        value={confirm}
        onChange={setConfirm}
        isNew
        problem={tried ? confirmProblem : undefined}
        disabled={action.busy}
      />
      <ErrorBanner error={action.error} />
      <FormActions>
        <button type="button" className="secondary" onClick={props.onClose} disabled={action.busy}>
          {props.closeLabel ?? 'Cancel'}
        </button>
        <button type="submit" disabled={action.busy}>
          {action.busy ? 'Saving backup…' : 'Save backup'}
        </button>
      </FormActions>
    </form>
  );
}
