import { useState, type FormEvent } from 'react';
import { useApp } from '../app/context.ts';
import { useAction, useRetryCountdown } from '../app/hooks.ts';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { FormActions, PasswordField } from '../components/Field.tsx';

export function Locked(props: { username: string }) {
  const { setState } = useApp();
  const action = useAction();
  const [password, setPassword] = useState('');
  const wait = useRetryCountdown(action.error);

  const unlock = async (e: FormEvent) => {
    e.preventDefault();
    const next = await action.run('session.signIn', { username: props.username, password });
    setPassword('');
    if (next) setState(next);
  };

  const signOut = async () => {
    const next = await action.run('session.signOut', {});
    if (next) setState(next);
  };

  return (
    <div className="center-page">
      <div className="card narrow">
        <h1 className="brand">Tandem</h1>
        <h2>Locked</h2>
        <p>
          Tandem is locked. Sign in again as <strong>{props.username}</strong>.
        </p>
        <form onSubmit={(e) => void unlock(e)}>
          <PasswordField value={password} onChange={setPassword} autoFocus />
          <ErrorBanner error={action.error} />
          <FormActions>
            <button type="button" className="secondary" disabled={action.busy} onClick={() => void signOut()}>
              Sign in as someone else
            </button>
            <button type="submit" disabled={action.busy || !password || wait > 0}>
              {action.busy ? 'Unlocking…' : 'Unlock'}
            </button>
          </FormActions>
        </form>
      </div>
    </div>
  );
}
