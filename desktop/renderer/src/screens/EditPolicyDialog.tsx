import { useState, type FormEvent } from 'react';
import type { Policy } from '../../../src/main/views.ts';
import { useAction } from '../app/hooks.ts';
import { Dialog } from '../components/Dialog.tsx';
import { DialogActions } from '../components/DialogActions.tsx';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { CheckboxField, TextField } from '../components/Field.tsx';
import { parseEth, weiToInput } from '../lib/format.ts';

export function EditPolicyDialog(props: { walletId: string; policy: Policy | null; onClose(): void; onSaved(): void }) {
  const action = useAction();
  const p = props.policy;
  const [perWithdrawal, setPerWithdrawal] = useState(p ? weiToInput(p.perWithdrawalLimitWei) : '');
  const [daily, setDaily] = useState(p ? weiToInput(p.dailyLimitWei) : '');
  const [whitelistOnly, setWhitelistOnly] = useState(p?.whitelistOnly ?? true);
  const [quorum, setQuorum] = useState(String(p?.quorum ?? 2));
  const [tried, setTried] = useState(false);

  const perParsed = parseEth(perWithdrawal);
  const dailyParsed = parseEth(daily);
  const quorumOk = /^\d+$/.test(quorum) && Number(quorum) >= 1 && Number(quorum) <= 20;
  const dailyBelow = perParsed.ok && dailyParsed.ok && BigInt(dailyParsed.wei) < BigInt(perParsed.wei);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (!perParsed.ok || !dailyParsed.ok || !quorumOk || dailyBelow) return;
    const result = await action.run('policy.set', {
      walletId: props.walletId,
      perWithdrawalLimitWei: perParsed.wei,
      dailyLimitWei: dailyParsed.wei,
      whitelistOnly,
      quorum: Number(quorum),
    });
    if (result) {
      props.onSaved();
      props.onClose();
    }
  };

  return (
    <Dialog title="Edit policy" onClose={props.onClose} busy={action.busy}>
      <form onSubmit={(e) => void submit(e)}>
        <TextField
          label="Per-withdrawal limit (ETH)"
          inputMode="decimal"
          value={perWithdrawal}
          onChange={setPerWithdrawal}
          problem={tried && !perParsed.ok ? perParsed.reason : undefined}
          hint="The most one withdrawal may send."
          autoFocus
          disabled={action.busy}
        />
        <TextField
          label="Daily limit (ETH)"
          inputMode="decimal"
          value={daily}
          onChange={setDaily}
          problem={
            tried && !dailyParsed.ok
              ? dailyParsed.reason
              : tried && dailyBelow
                ? 'The daily limit must be at least the per-withdrawal limit.'
                : undefined
          }
          hint="The most all withdrawals from this wallet may send in 24 hours."
          disabled={action.busy}
        />
        <CheckboxField
          label="Only address-book destinations"
          checked={whitelistOnly}
          onChange={setWhitelistOnly}
          hint="Withdrawals may only go to approved address-book entries."
        />
        <TextField
          label="Approvals required"
          type="number"
          min={1}
          max={20}
          step={1}
          value={quorum}
          onChange={setQuorum}
          problem={tried && !quorumOk ? 'Enter a whole number from 1 to 20.' : undefined}
          hint="How many approvers must approve each withdrawal before it can be signed."
          disabled={action.busy}
        />
        <ErrorBanner error={action.error} />
        <DialogActions busy={action.busy} onCancel={props.onClose} submitLabel="Save policy" busyLabel="Saving…" />
      </form>
    </Dialog>
  );
}
