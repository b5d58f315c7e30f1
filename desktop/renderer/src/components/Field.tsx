// Labelled form controls: every input has a visible label (so getByLabel finds it), and its hint or problem is tied
// to it with aria-describedby, so a screen reader reads them with the field.

import { useId, type InputHTMLAttributes, type ReactNode } from 'react';

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'onChange' | 'value'>;

export function TextField(
  props: InputProps & {
    label: string;
    value: string;
    onChange(value: string): void;
    hint?: ReactNode;
    problem?: string | undefined;
    /** Why the field cannot be changed (for example, IT manages it). */
    lockedNote?: string | undefined;
    autoFocus?: boolean;
  },
) {
  const { label, value, onChange, hint, problem, lockedNote, autoFocus, ...rest } = props;
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const problemId = problem ? `${id}-problem` : undefined;
  const lockedId = lockedNote ? `${id}-locked` : undefined;
  const describedBy = [hintId, lockedId, problemId].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        {...rest}
        id={id}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={problem ? true : undefined}
        aria-describedby={describedBy}
        data-autofocus={autoFocus ? '' : undefined}
      />
      {lockedNote ? (
        <p id={lockedId} className="hint locked">
          {lockedNote}
        </p>
      ) : null}
      {hint ? (
        <p id={hintId} className="hint">
          {hint}
        </p>
      ) : null}
      {problem ? (
        <p id={problemId} className="problem">
          {problem}
        </p>
      ) : null}
    </div>
  );
}

export function PasswordField(props: {
  label?: string;
  value: string;
  onChange(value: string): void;
  hint?: ReactNode;
  problem?: string | undefined;
  isNew?: boolean;
  disabled?: boolean;
  autoFocus?: boolean;
}) {
  return (
    <TextField
      type="password"
      label={props.label ?? 'Password'}
      value={props.value}
      onChange={props.onChange}
      hint={props.hint}
      problem={props.problem}
      disabled={props.disabled}
      autoFocus={props.autoFocus}
      autoComplete={props.isNew ? 'new-password' : 'current-password'}
      spellCheck={false}
      required
    />
  );
}

export function SelectField(props: {
  label: string;
  value: string;
  onChange(value: string): void;
  options: Array<{ value: string; label: string }>;
  placeholder?: string;
  hint?: ReactNode;
  disabled?: boolean;
}) {
  const id = useId();
  const hintId = props.hint ? `${id}-hint` : undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <select
        id={id}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        aria-describedby={hintId}
        disabled={props.disabled}
        required
      >
        {props.placeholder ? (
          <option value="" disabled>
            {props.placeholder}
          </option>
        ) : null}
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {props.hint ? (
        <p id={hintId} className="hint">
          {props.hint}
        </p>
      ) : null}
    </div>
  );
}

export function CheckboxField(props: {
  label: string;
  checked: boolean;
  onChange(checked: boolean): void;
  hint?: string;
}) {
  const id = useId();
  return (
    <div className="field checkbox">
      <input
        id={id}
        type="checkbox"
        checked={props.checked}
        onChange={(e) => props.onChange(e.target.checked)}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
      />
      <label htmlFor={id}>{props.label}</label>
      {props.hint ? (
        <p id={`${id}-hint`} className="hint">
          {props.hint}
        </p>
      ) : null}
    </div>
  );
}

/** The row of buttons closing a form: the main action last, as desktop dialogs do. */
export function FormActions(props: { children: ReactNode }) {
  return <div className="form-actions">{props.children}</div>;
}
