// Main's errors: the desktop's one error class (P2Error: a stable code, a message for people, the field it is about)
// and the form every failure takes on its way to the renderer. Unknown errors become INTERNAL with a fixed sentence:
// their text was not written with secrets in mind.

import { P2Error, toP2Error } from '../p2/errors.ts';
import { type UiError } from './channels.ts';

export { P2Error as DesktopError };

export function toUiError(e: unknown): UiError {
  const p = toP2Error(e);
  return {
    code: p.code,
    message: p.message,
    ...(p.field === undefined ? {} : { field: p.field }),
    ...(p.retryAfterMs === undefined ? {} : { retryAfterMs: p.retryAfterMs }),
  };
}
