// This workstation's enrolment, shown above every screen until an administrator has approved it: the one-time setup
// (which creates the keys that protect wallet shares on this computer), then the public key to be approved.

import { useEffect, useState, type FormEvent } from 'react';
import { useApp } from '../app/context.ts';
import { useAction, useProgress } from '../app/hooks.ts';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { FormActions, PasswordField, TextField } from '../components/Field.tsx';
import { NewPasswordFields, useNewPassword } from '../components/NewPasswordFields.tsx';
import { ProgressSteps } from '../components/ProgressSteps.tsx';
import { groupHex } from '../lib/format.ts';
import { SETUP_STEPS } from '../lib/steps.ts';

export function DevicePanel() {
  const { state } = useApp();
  const device = state.device;

  // Only signers hold key shares; everyone else works without enrolling this computer.
  if (!state.user?.roles.includes('signer') && device.status === 'none') return null;
  if (device.status === 'APPROVED') return null;

  if (device.status === 'setup_needed') return <FinishSetupForm />;

  if (device.status === 'REVOKED') {
    return (
      <div className="banner error" role="alert">
        <p>
          This workstation was revoked by an administrator, so it cannot generate keys or sign.{' '}
          <strong>Contact your administrator; do not use this computer for Tandem until they have checked it.</strong>
        </p>
      </div>
    );
  }

  if (device.status === 'PENDING') return <PendingApproval />;

  if (device.status === 'setting_up') {
    return (
      <section className="panel notice" aria-labelledby="device-setup-title">
        <h2 id="device-setup-title">Setting up this workstation</h2>
        <SetupProgress />
        {device.publicKey ? (
          <>
            <p>
              <strong>Ask an administrator to approve this workstation.</strong> They can do so while the setup runs,
              after comparing this public key with the one in their Administration screen.
            </p>
            <dl className="details">
              <dt>Public key</dt>
              <dd>
                <code className="mono key">{groupHex(device.publicKey)}</code>
              </dd>
            </dl>
          </>
        ) : null}
      </section>
    );
  }

  return <EnrolForm />;
}

/** Waiting for an administrator: asks main every few seconds, so the approval shows without a new sign-in. */
function PendingApproval() {
  const { state, call, setState } = useApp();
  const device = state.device;
  useEffect(() => {
    const timer = setInterval(() => {
      void call('app.state', {}).then((r) => {
        if (r.ok) setState(r.value);
      });
    }, 5_000);
    return () => clearInterval(timer);
  }, [call, setState]);
  return (
    <section className="panel notice" aria-labelledby="device-pending-title">
      <h2 id="device-pending-title">This workstation is waiting for approval</h2>
      <p>
        <strong>Ask an administrator to approve this workstation.</strong> They should compare this public key with the
        one shown in their Administration screen before approving.
      </p>
      <dl className="details">
        {device.name ? (
          <>
            <dt>Workstation</dt>
            <dd>{device.name}</dd>
          </>
        ) : null}
        <dt>Public key</dt>
        <dd>
          <code className="mono key">{device.publicKey ? groupHex(device.publicKey) : 'Not available yet'}</code>
        </dd>
      </dl>
    </section>
  );
}

function SetupProgress() {
  const { state } = useApp();
  const progress = useProgress('setup', null);
  return (
    <>
      <p>This takes a few minutes. You can keep using Tandem meanwhile.</p>
      <ProgressSteps
        label="Workstation setup"
        steps={SETUP_STEPS}
        current={progress.step}
        percent={progress.percent ?? state.device.setupPercent}
      />
    </>
  );
}

/** Enrolled, but the one-time setup never finished (the app was closed, or it failed): run it again. */
function FinishSetupForm() {
  const { state, setState } = useApp();
  const action = useAction();
  const [password, setPassword] = useState('');

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const next = await action.run('device.enroll', { deviceName: state.device.name ?? 'workstation', password });
    if (next) {
      setPassword('');
      setState(next);
    }
  };

  return (
    <section className="panel notice" aria-labelledby="device-finish-title">
      <h2 id="device-finish-title">Finish setting up this workstation</h2>
      <p>The one-time setup of this computer did not finish. Enter your password to run it again.</p>
      <form onSubmit={(e) => void submit(e)}>
        <PasswordField value={password} onChange={setPassword} disabled={action.busy} />
        <ErrorBanner error={action.error} />
        <FormActions>
          <button type="submit" className="primary" disabled={action.busy}>
            Finish setup
          </button>
        </FormActions>
      </form>
    </section>
  );
}

function EnrolForm() {
  const { setState } = useApp();
  const action = useAction();
  const [name, setName] = useState('');
  const password = useNewPassword();
  const [tried, setTried] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (!name.trim() || password.tooShort || password.differs) return;
    const next = await action.run('device.enroll', { deviceName: name.trim(), password: password.value });
    if (next) {
      password.clear();
      setState(next);
    }
  };

  return (
    <section className="panel notice" aria-labelledby="device-enrol-title">
      <h2 id="device-enrol-title">Set up this workstation</h2>
      <p>
        Before this computer can hold wallet keys or sign, it needs a one-time setup, and then an administrator&apos;s
        approval.
      </p>
      <form onSubmit={(e) => void submit(e)}>
        <TextField
          label="Device name"
          value={name}
          onChange={setName}
          maxLength={100}
          hint="A name your administrator recognises, for example “Treasury desk 2”."
          problem={tried && !name.trim() ? 'Enter a name.' : undefined}
          disabled={action.busy}
          required
        />
        <NewPasswordFields
          password={password}
          confirmLabel="Confirm password"
          hint="The password protects the key shares on this computer. You need it each time you sign; nobody can reset it."
          mismatch="The two passwords differ."
          showProblems={tried}
          disabled={action.busy}
        />
        <ErrorBanner error={action.error} />
        {action.busy ? (
          <SetupProgress />
        ) : (
          <FormActions>
            <button type="submit">Set up this workstation</button>
          </FormActions>
        )}
      </form>
    </section>
  );
}
