import { useState, type FormEvent } from 'react';
import type { Role } from '../../../src/main/views.ts';
import { useAction } from '../app/hooks.ts';
import { Dialog } from '../components/Dialog.tsx';
import { DialogActions } from '../components/DialogActions.tsx';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { CheckboxField, PasswordField, TextField } from '../components/Field.tsx';
import { ROLE_NAME, ROLES } from '../lib/labels.ts';

const MIN_PASSWORD = 12;

export function AddUserDialog(props: { onClose(): void; onAdded(): void }) {
  const action = useAction();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState<Role[]>([]);
  const [tried, setTried] = useState(false);

  const passwordProblem = password.length < MIN_PASSWORD ? `Use at least ${MIN_PASSWORD} characters.` : undefined;
  const rolesProblem = roles.length === 0 ? 'Choose at least one role.' : undefined;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (!username.trim() || passwordProblem || rolesProblem) return;
    const result = await action.run('users.create', { username: username.trim(), password, roles });
    if (result) {
      props.onAdded();
      props.onClose();
    }
  };

  const toggle = (role: Role, on: boolean) =>
    setRoles((current) => ROLES.filter((r) => (r === role ? on : current.includes(r))));

  return (
    <Dialog title="Add user" onClose={props.onClose} busy={action.busy}>
      <form onSubmit={(e) => void submit(e)}>
        <TextField
          label="Username"
          value={username}
          onChange={setUsername}
          autoComplete="off"
          spellCheck={false}
          maxLength={100}
          problem={tried && !username.trim() ? 'Enter a username.' : undefined}
          disabled={action.busy}
          autoFocus
        />
        <PasswordField
          label="Initial password"
          value={password}
          onChange={setPassword}
          isNew
          hint="Give it to the user through a separate channel."
          problem={tried ? passwordProblem : undefined}
          disabled={action.busy}
        />
        <fieldset className="field" aria-describedby={tried && rolesProblem ? 'roles-problem' : undefined}>
          <legend>Roles</legend>
          {ROLES.map((r) => (
            <CheckboxField key={r} label={ROLE_NAME[r]} checked={roles.includes(r)} onChange={(on) => toggle(r, on)} />
          ))}
          {tried && rolesProblem ? (
            <p id="roles-problem" className="problem">
              {rolesProblem}
            </p>
          ) : null}
        </fieldset>
        <ErrorBanner error={action.error} />
        <DialogActions busy={action.busy} onCancel={props.onClose} submitLabel="Add user" busyLabel="Adding…" />
      </form>
    </Dialog>
  );
}
