import { useState, type FormEvent } from 'react';
import { useApp } from '../app/context.ts';
import { useAction } from '../app/hooks.ts';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { FormActions, PasswordField, TextField } from '../components/Field.tsx';

export function SignIn(props: { onOpenSettings(): void }) {
  const { state, setState } = useApp();
  const action = useAction();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const next = await action.run('session.signIn', { username: username.trim(), password });
    setPassword('');
    if (next) setState(next);
  };

  return (
    <div className="center-page">
      <div className="card narrow">
        <h1 className="brand">Tandem</h1>
        <h2>Sign in</h2>
        <form onSubmit={(e) => void submit(e)}>
          <TextField
            label="Username"
            value={username}
            onChange={setUsername}
            autoComplete="username"
            spellCheck={false}
            required
            autoFocus
          />
          <PasswordField value={password} onChange={setPassword} />
          <ErrorBanner error={action.error} />
          <FormActions>
            <button type="submit" disabled={action.busy || !username.trim() || !password}>
              {action.busy ? 'Signing in…' : 'Sign in'}
            </button>
          </FormActions>
        </form>
        <p className="muted small-text">
          Coordinator: <code className="mono">{state.settings.coordinatorUrl}</code>.{' '}
          <a
            href="#settings"
            onClick={(e) => {
              e.preventDefault();
              props.onOpenSettings();
            }}
          >
            Settings
          </a>
        </p>
      </div>
    </div>
  );
}
