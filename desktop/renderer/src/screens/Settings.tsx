// Settings this workstation keeps; IT may lock some machine-wide (settings.managed), and those are shown but cannot be
// changed here. The signer key and chain id are pinned at install time and only shown.

import { useState, type FormEvent } from 'react';
import type { RequestOf } from '../../../src/main/channels.ts';
import { useApp } from '../app/context.ts';
import { useAction } from '../app/hooks.ts';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { FormActions, TextField } from '../components/Field.tsx';
import { groupHex } from '../lib/format.ts';

const MANAGED_NOTE = 'Set by your IT department';

export function SettingsScreen(props: { onBack?: () => void }) {
  const { state, setState } = useApp();
  const settings = state.settings;
  const managed = new Set(settings.managed);
  const action = useAction();
  const [url, setUrl] = useState(settings.coordinatorUrl);
  const [minutes, setMinutes] = useState(String(settings.idleLockMinutes));
  const [saved, setSaved] = useState(false);

  const urlProblem = managed.has('coordinatorUrl') ? undefined : checkUrl(url);
  const minutesValue = Number(minutes);
  const minutesProblem =
    managed.has('idleLockMinutes') || (/^\d+$/.test(minutes) && minutesValue >= 1 && minutesValue <= 240)
      ? undefined
      : 'Enter whole minutes from 1 to 240.';

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (urlProblem || minutesProblem) return;
    const request: RequestOf<'settings.update'> = {};
    if (!managed.has('coordinatorUrl') && url.trim() !== settings.coordinatorUrl) request.coordinatorUrl = url.trim();
    if (!managed.has('idleLockMinutes') && minutesValue !== settings.idleLockMinutes)
      request.idleLockMinutes = minutesValue;
    setSaved(false);
    const next = await action.run('settings.update', request);
    if (next) {
      setState(next);
      setSaved(true);
    }
  };

  return (
    <section aria-labelledby="settings-title">
      <div className="page-head">
        <h1 id="settings-title">Settings</h1>
        {props.onBack ? (
          <button type="button" className="secondary" onClick={props.onBack}>
            Back to sign in
          </button>
        ) : null}
      </div>
      <form onSubmit={(e) => void save(e)} className="panel">
        <TextField
          label="Coordinator URL"
          type="url"
          value={url}
          onChange={(v) => {
            setUrl(v);
            setSaved(false);
          }}
          disabled={managed.has('coordinatorUrl')}
          lockedNote={managed.has('coordinatorUrl') ? MANAGED_NOTE : undefined}
          problem={urlProblem}
          hint="The bank's Tandem server this workstation talks to."
          spellCheck={false}
        />
        <TextField
          label="Lock after (minutes)"
          type="number"
          min={1}
          max={240}
          step={1}
          value={minutes}
          onChange={(v) => {
            setMinutes(v);
            setSaved(false);
          }}
          disabled={managed.has('idleLockMinutes')}
          lockedNote={managed.has('idleLockMinutes') ? MANAGED_NOTE : undefined}
          problem={minutesProblem}
          hint="Tandem locks itself when nobody has used it for this long."
        />
        <ErrorBanner error={action.error} />
        {saved ? (
          <p className="banner success" role="status">
            Settings saved.
          </p>
        ) : null}
        <FormActions>
          <button
            type="submit"
            disabled={
              action.busy ||
              Boolean(urlProblem || minutesProblem) ||
              (managed.has('coordinatorUrl') && managed.has('idleLockMinutes'))
            }
          >
            {action.busy ? 'Saving…' : 'Save settings'}
          </button>
        </FormActions>
      </form>
      <section className="panel" aria-labelledby="pinned-title">
        <h2 id="pinned-title">Fixed at installation</h2>
        <dl className="details">
          <dt>Signer public key</dt>
          <dd>
            <code className="mono">{groupHex(settings.signerPublicKey)}</code>
            {managed.has('signerPublicKey') ? <p className="hint locked">{MANAGED_NOTE}</p> : null}
          </dd>
          <dt>Network</dt>
          <dd>Chain {settings.chainId}</dd>
          {settings.updateUrl ? (
            <>
              <dt>Update server</dt>
              <dd>
                <code className="mono">{settings.updateUrl}</code>
                {managed.has('updateUrl') ? <p className="hint locked">{MANAGED_NOTE}</p> : null}
              </dd>
            </>
          ) : null}
        </dl>
        <p className="hint">
          The signer key is how this workstation recognises the bank&apos;s signer; compare it with the one your IT
          department published.
        </p>
      </section>
    </section>
  );
}

function checkUrl(text: string): string | undefined {
  try {
    const u = new URL(text.trim());
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'Enter an https:// address.';
    return undefined;
  } catch {
    return 'Enter the full address, for example https://tandem.example.com.';
  }
}
