import { Dialog } from '../components/Dialog.tsx';
import { BackupForm } from './BackupForm.tsx';

export function BackupDialog(props: { walletId: string; walletName: string; onClose(): void }) {
  return (
    <Dialog title="Back up key share" onClose={props.onClose}>
      <p>
        Saves this computer&apos;s key share of <strong>{props.walletName}</strong> as a file encrypted with a backup
        password.
      </p>
      <BackupForm walletId={props.walletId} onClose={props.onClose} />
    </Dialog>
  );
}
