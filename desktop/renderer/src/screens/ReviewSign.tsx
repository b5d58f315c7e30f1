// The last look before signing. Everything shown comes from main's own decoding and hashing of the transaction the
// coordinator prepared (SigningReview), not from the coordinator's description of it: the digest here is what the
// signature will be over. After signing, the withdrawal's state is followed live until it is confirmed.

import { useState, type FormEvent } from 'react';
import type { SigningReview } from '../../../src/main/views.ts';
import { useApp } from '../app/context.ts';
import { useAction, useChannel, useProgress, useRetryCountdown } from '../app/hooks.ts';
import { Address } from '../components/Address.tsx';
import { Badge } from '../components/Badge.tsx';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { FormActions, PasswordField } from '../components/Field.tsx';
import { Loading } from '../components/Loading.tsx';
import { Money } from '../components/Money.tsx';
import { ProgressSteps } from '../components/ProgressSteps.tsx';
import { formatGwei } from '../lib/format.ts';
import { WITHDRAWAL_STATE, WITHDRAWAL_TONE } from '../lib/labels.ts';
import { SIGN_STEPS } from '../lib/steps.ts';

/** After these, signing again cannot help: the user must report or start over, not retry. */
const STOPPING = new Set(['DISPLAY_MISMATCH', 'KEY_MISMATCH', 'WRONG_SHARE', 'SHARE_CORRUPTED']);

export function ReviewSign(props: { withdrawalId: string }) {
  const { navigate } = useApp();
  const review = useChannel('withdrawals.review', { withdrawalId: props.withdrawalId });
  const [signing, setSigning] = useState(false);

  return (
    <section aria-labelledby="review-title">
      <div className="page-head">
        <h1 id="review-title">Review the transaction</h1>
        <button
          type="button"
          className="secondary"
          disabled={signing}
          onClick={() => navigate({ name: 'withdrawals' })}
        >
          Back to withdrawals
        </button>
      </div>
      {review.loading && !review.data ? <Loading label="Preparing the transaction…" /> : null}
      <ErrorBanner error={review.error} onRetry={review.reload} />
      {review.data ? <ReviewBody review={review.data} onSigning={setSigning} /> : null}
    </section>
  );
}

function ReviewBody(props: { review: SigningReview; onSigning(busy: boolean): void }) {
  const r = props.review;
  const action = useAction();
  const progress = useProgress('sign', r.withdrawalId);
  const [password, setPassword] = useState('');
  const [txHash, setTxHash] = useState<string | null>(null);
  const wait = useRetryCountdown(action.error);
  const stopped = action.error !== undefined && STOPPING.has(action.error.code);

  const sign = async (e: FormEvent) => {
    e.preventDefault();
    progress.reset();
    props.onSigning(true);
    const result = await action.run('withdrawals.sign', { withdrawalId: r.withdrawalId, password });
    props.onSigning(false);
    setPassword('');
    if (result) setTxHash(result.txHash);
  };

  return (
    <>
      <div className="panel review">
        <p>These values were decoded and hashed by this computer.</p>
        <dl className="details review-list">
          <dt>From wallet</dt>
          <dd>{r.walletName}</dd>
          <dt>Recipient</dt>
          <dd>
            {r.toName ? (
              <strong>{r.toName}</strong>
            ) : (
              <p className="warning" role="note">
                New address: not in the address book
              </p>
            )}
            <Address value={r.to} />
          </dd>
          <dt>Amount</dt>
          <dd className="amount">
            <Money wei={r.valueWei} />
          </dd>
          <dt>Network</dt>
          <dd>Chain {r.chainId}</dd>
          <dt>Nonce</dt>
          <dd>{r.nonce}</dd>
          <dt>Max network fee</dt>
          <dd>
            <Money wei={r.maxFeeWei} />
            <p className="hint">
              Gas limit {r.gas}, at most {formatGwei(r.maxFeePerGasWei)} gwei per gas (priority fee{' '}
              {formatGwei(r.maxPriorityFeePerGasWei)} gwei).
            </p>
          </dd>
          <dt>Transaction digest</dt>
          <dd>
            <code className="mono digest">{r.digest}</code>
          </dd>
        </dl>
      </div>

      {txHash ? (
        <SignedStatus withdrawalId={r.withdrawalId} txHash={txHash} />
      ) : (
        <div className="panel">
          {action.busy ? (
            <>
              <h2>Signing</h2>
              <p>This computer and the bank&apos;s signer are signing together. Keep Tandem open.</p>
              <ProgressSteps label="Signing" steps={SIGN_STEPS} current={progress.step} />
            </>
          ) : stopped ? null : (
            <form onSubmit={(e) => void sign(e)}>
              <PasswordField
                value={password}
                onChange={setPassword}
                hint="Your workstation password unlocks this wallet's key share for this one signature."
                autoFocus
              />
              <FormActions>
                <button type="submit" disabled={!password || wait > 0}>
                  Sign withdrawal
                </button>
              </FormActions>
            </form>
          )}
          <ErrorBanner error={action.error} />
        </div>
      )}
    </>
  );
}

function SignedStatus(props: { withdrawalId: string; txHash: string }) {
  const list = useChannel('withdrawals.list', {}, { reloadOn: ['withdrawals'] });
  const w = list.data?.withdrawals.find((x) => x.id === props.withdrawalId);
  return (
    <div className="panel">
      <p className="banner success" role="status">
        Signed. Transaction <code className="mono">{props.txHash}</code>
      </p>
      <div aria-live="polite">
        {w ? (
          <p>
            <Badge tone={WITHDRAWAL_TONE[w.state]}>{WITHDRAWAL_STATE[w.state] ?? w.state}</Badge>{' '}
            {w.state === 'confirmed' && w.blockNumber !== null
              ? `Confirmed in block ${w.blockNumber}`
              : w.state === 'failed'
                ? (w.failure ?? 'The transaction failed.')
                : w.state === 'broadcast'
                  ? 'Sent to the network; waiting for confirmation…'
                  : 'Waiting for the coordinator to send it…'}
          </p>
        ) : (
          <Loading label="Following the transaction…" />
        )}
      </div>
      <ErrorBanner error={list.error} onRetry={list.reload} />
    </div>
  );
}
