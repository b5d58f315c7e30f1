import { useId, useState, type FormEvent } from 'react';
import { useAction } from '../app/hooks.ts';
import { Dialog } from '../components/Dialog.tsx';
import { CloseActions, DialogActions } from '../components/DialogActions.tsx';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { PasswordField } from '../components/Field.tsx';

const MAX_FILE_CHARS = 1_000_000;

export function RestoreDialog(props: { walletId: string; walletName: string; onClose(): void }) {
  const action = useAction();
  const fileId = useId();
  const [file, setFile] = useState<File | null>(null);
  const [backupPassword, setBackupPassword] = useState('');
  const [password, setPassword] = useState('');
  const [fileProblem, setFileProblem] = useState<string>();
  const [restored, setRestored] = useState<{ onThisWorkstation: boolean } | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return setFileProblem('Choose the backup file.');
    const text = await file.text().catch(() => null);
    if (text === null) return setFileProblem('The file could not be read. Choose it again.');
    if (text.length < 2 || text.length > MAX_FILE_CHARS) return setFileProblem('This is not a Tandem backup file.');
    setFileProblem(undefined);
    const result = await action.run('wallets.restoreBackup', {
      walletId: props.walletId,
      file: text,
      backupPassword,
      password,
    });
    setBackupPassword('');
    setPassword('');
    if (result) setRestored({ onThisWorkstation: result.wallet.onThisWorkstation });
  };

  return (
    <Dialog title="Restore key share" onClose={props.onClose} busy={action.busy}>
      {restored ? (
        <>
          <p className="banner success" role="status">
            The key share of {props.walletName} was restored on this computer. It opens with this workstation&apos;s
            password.
          </p>
          {restored.onThisWorkstation ? null : (
            <p>
              To sign with it here, choose &ldquo;Move wallet to this workstation&rdquo; on the wallet: an administrator
              approves the move, and the bank signer then accepts this workstation for this wallet.
            </p>
          )}
          <CloseActions onClose={props.onClose} />
        </>
      ) : (
        <form onSubmit={(e) => void submit(e)}>
          <p>
            Restores this wallet&apos;s key share on this computer from a backup file made with &ldquo;Back up key
            share&rdquo;.
          </p>
          <div className="field">
            <label htmlFor={fileId}>Backup file</label>
            <input
              id={fileId}
              type="file"
              onChange={(e) => {
                setFile(e.target.files?.[0] ?? null);
                setFileProblem(undefined);
              }}
              aria-invalid={fileProblem ? true : undefined}
              aria-describedby={fileProblem ? `${fileId}-problem` : undefined}
              disabled={action.busy}
              required
              data-autofocus=""
            />
            {fileProblem ? (
              <p id={`${fileId}-problem`} className="problem">
                {fileProblem}
              </p>
            ) : null}
          </div>
          <PasswordField
            label="Backup password"
            value={backupPassword}
            onChange={setBackupPassword}
            hint="The password chosen when the backup was made."
            disabled={action.busy}
          />
          <PasswordField
            label="Workstation password"
            value={password}
            onChange={setPassword}
            hint="This workstation's password: the restored key share will open with it."
            disabled={action.busy}
          />
          <ErrorBanner error={action.error} />
          <DialogActions
            busy={action.busy}
            onCancel={props.onClose}
            submitLabel="Restore key share"
            busyLabel="Restoring…"
            submitDisabled={!file || !backupPassword || !password}
          />
        </form>
      )}
    </Dialog>
  );
}
