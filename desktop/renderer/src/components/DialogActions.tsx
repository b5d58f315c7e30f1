import { FormActions } from './Field.tsx';

/**
 * A form's Cancel and submit buttons. While the action runs both are disabled, so a second click cannot send it
 * twice or close the dialog halfway; busyLabel says what is happening meanwhile.
 */
export function DialogActions(props: {
  busy: boolean;
  onCancel(): void;
  submitLabel: string;
  busyLabel?: string;
  cancelLabel?: string;
  /** The form is not ready to send yet (on top of being busy). */
  submitDisabled?: boolean;
}) {
  return (
    <FormActions>
      <button type="button" className="secondary" onClick={props.onCancel} disabled={props.busy}>
        {props.cancelLabel ?? 'Cancel'}
      </button>
      <button type="submit" disabled={props.busy || props.submitDisabled}>
        {props.busy && props.busyLabel ? props.busyLabel : props.submitLabel}
      </button>
    </FormActions>
  );
}

/** The one button left once a dialog's job is done; focused, so Enter closes it. */
export function CloseActions(props: { onClose(): void }) {
  return (
    <FormActions>
      <button type="button" onClick={props.onClose} data-autofocus="">
        Close
      </button>
    </FormActions>
  );
}
