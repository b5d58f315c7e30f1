// Every failure the user sees goes through here: what happened, and what to do next. Codes whose wording matters for
// safety (signing) have fixed texts; others show main's message with a next step where the code tells us one.

import type { UiError } from '../../../src/main/channels.ts';
import { sentence } from './format.ts';

export interface ErrorText {
  message: string;
  next?: string;
}

export const DISCONNECTED_MESSAGE = 'Tandem lost its connection to the app. Reload the page.';

const FIXED: Record<string, ErrorText> = {
  DISPLAY_MISMATCH: {
    message:
      'Signing stopped: what the coordinator sent does not match what this computer computed. Nothing was signed.',
    next: 'Report this to your security team.',
  },
  SIGNER_UNAVAILABLE: { message: "The bank's signer is not reachable. Nothing was signed; try again later." },
  KEYCHAIN_UNAVAILABLE: {
    message: "Tandem cannot use this computer's keychain: it is locked, or no keychain service is running.",
    next: 'Unlock the keychain (or sign out of the computer and back in), then try again. If it keeps happening, contact IT.',
  },
  SHARE_CORRUPTED: {
    message: 'A key file on this computer is damaged or belongs to another wallet, so Tandem will not use it.',
    next: 'Nothing was deleted. Restore the wallet from its backup file, or contact support.',
  },
  DISCONNECTED: { message: 'Tandem lost its connection to the app.', next: 'Reload the page.' },
};

const NEXT: Record<string, string> = {
  LOGIN_FAILED: 'Check the username and password, then try again.',
  ACCOUNT_LOCKED: 'Wait a few minutes, or ask an administrator to unlock your account.',
  TOKEN_EXPIRED: 'Sign in again.',
  UNAUTHENTICATED: 'Sign in again.',
  DEVICE_NOT_APPROVED: 'Ask an administrator to approve this workstation.',
  POLICY_VIOLATION: "Change the amount or the recipient, or ask an administrator about the wallet's policy.",
  ROLE_REQUIRED: 'Ask an administrator if you need this.',
  FORBIDDEN: 'Ask an administrator if you need this.',
  SELF_APPROVAL: 'Another person has to approve it.',
  ALREADY_APPROVED: 'Nothing more is needed from you.',
  INVALID_STATE: 'Check its current state in the list, and try again if it still applies.',
  CONFLICT: 'Check the list and try again.',
  NOT_FOUND: 'It may have been removed: check the list.',
  CHAIN_UNAVAILABLE: 'Try again in a few minutes. If it keeps happening, contact IT.',
  WALLET_OUT_OF_SYNC:
    'Nothing was signed. Try again in a minute; if it keeps happening, tell an administrator: the wallet may have been used outside Tandem.',
  CONNECTION_FAILED: "Check this computer's network connection and the coordinator URL in Settings, then try again.",
  CONNECTION_LOST: "Check this computer's network connection, then try again.",
  TIMEOUT: 'Try again. If it keeps happening, contact IT.',
  COORDINATOR_UNAVAILABLE: "Check this computer's network connection and the coordinator URL in Settings.",
  INTERNAL: 'Try again. If it keeps happening, contact support.',
  REVIEW_FIRST: 'Open the review again, check it, then sign.',
};

/** `secondsLeft` is the live countdown for WRONG_PASSWORD's retryAfterMs (see useRetryCountdown). */
export function describeError(error: UiError, secondsLeft = 0): ErrorText {
  if (error.code === 'WRONG_PASSWORD') {
    return {
      message: 'The password is not correct.',
      next: secondsLeft > 0 ? `Try again in ${secondsLeft} s.` : 'Try again.',
    };
  }
  const fixed = FIXED[error.code];
  if (fixed) return fixed;
  const next =
    NEXT[error.code] ??
    (error.code === 'BAD_REQUEST' && error.field ? `Check the field "${error.field}" and try again.` : undefined);
  return next ? { message: sentence(error.message), next } : { message: sentence(error.message) };
}

/** For places that only have room for one line. */
export function errorLine(error: UiError, secondsLeft = 0): string {
  const t = describeError(error, secondsLeft);
  return t.next ? `${t.message} ${t.next}` : t.message;
}

/** The UiError for a call that threw instead of answering (a bug in main or the preload, never a user's doing). */
export function unexpectedError(): UiError {
  return { code: 'INTERNAL', message: 'Something went wrong inside Tandem' };
}
