// A new password typed twice. Typed once, a slip would lock away what it protects: neither the workstation password
// nor a backup password can be recovered.

import { useState, type ReactNode } from 'react';
import { PasswordField } from './Field.tsx';

const MIN_LENGTH = 12;

export interface NewPassword {
  value: string;
  confirm: string;
  setValue(value: string): void;
  setConfirm(value: string): void;
  tooShort: boolean;
  differs: boolean;
  clear(): void;
}

export function useNewPassword(): NewPassword {
  const [value, setValue] = useState('');
  const [confirm, setConfirm] = useState('');
  return {
    value,
    confirm,
    setValue,
    setConfirm,
    // In characters, not UTF-16 units: an emoji must not count twice towards the minimum.
    tooShort: [...value].length < MIN_LENGTH,
    differs: confirm !== value,
    clear: () => {
      setValue('');
      setConfirm('');
    },
  };
}

export function NewPasswordFields(props: {
  password: NewPassword;
  label?: string;
  confirmLabel: string;
  hint: ReactNode;
  /** Shown when the two entries differ. */
  mismatch: string;
  /** Problems show only after a first attempt to submit, not while the user is still typing. */
  showProblems: boolean;
  disabled: boolean;
}) {
  const p = props.password;
  return (
    <>
      <PasswordField
        label={props.label}
        value={p.value}
        onChange={p.setValue}
        isNew
        hint={props.hint}
        problem={props.showProblems && p.tooShort ? `Use at least ${MIN_LENGTH} characters.` : undefined}
        disabled={props.disabled}
      />
      <PasswordField
        label={props.confirmLabel}
        value={p.confirm}
        onChange={p.setConfirm}
        isNew
        problem={props.showProblems && p.differs ? props.mismatch : undefined}
        disabled={props.disabled}
      />
    </>
  );
}
