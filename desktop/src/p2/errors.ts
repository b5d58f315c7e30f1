// The P2 side's one error type. Whatever goes wrong while the desktop runs its half of a DKG or a signature ends up
// as a P2Error with a stable code the UI maps to a screen, and a message a treasury user can act on:
//
// - source 'coordinator': an error frame or REST error from the coordinator, with the coordinator's own code
//   (SIGNER_UNAVAILABLE, POLICY_VIOLATION, INVALID_STATE, …), passed through unchanged;
// - source 'protocol': tecdsa refused a message or the session (TecdsaError), with its E_* code;
// - source 'vault': the share store (WRONG_PASSWORD, KEYCHAIN_UNAVAILABLE, SHARE_CORRUPTED, …);
// - source 'desktop': the desktop's own checks (DISPLAY_MISMATCH, KEY_MISMATCH, CONNECTION_LOST, …).
//
// Messages and fields never carry a password, a key share or any other secret, so a P2Error may cross from the worker
// to main and on to the renderer as it is (see toWire / fromWire).

import { TecdsaError } from '@tandem/tecdsa/errors';
import { VaultError } from '../vault/errors.ts';

export type P2ErrorSource = 'coordinator' | 'protocol' | 'vault' | 'desktop';

/** Codes the desktop raises itself (the other sources bring their own). */
export type DesktopErrorCode =
  /** What the coordinator sent differs from what the desktop shows or computes; `field` names the difference. */
  | 'DISPLAY_MISMATCH'
  /** The coordinator's key, address or signed transaction differs from what this desktop's share gives. */
  | 'KEY_MISMATCH'
  /** The share this desktop holds for the wallet belongs to another wallet. */
  | 'WRONG_SHARE'
  /** This workstation has no device setup yet (ring-Pedersen parameters, made once at enrolment). */
  | 'SETUP_MISSING'
  /** The share is stored but the coordinator was not told: confirm again (confirmShareStored). */
  | 'SHARE_NOT_CONFIRMED'
  | 'CONNECTION_FAILED'
  | 'CONNECTION_LOST'
  | 'UNAUTHENTICATED'
  | 'TIMEOUT'
  /** The coordinator sent a frame that is not part of the protocol. */
  | 'BAD_FRAME'
  /** Main sent the worker a job it cannot run (a bug in main, never the user's doing). */
  | 'BAD_JOB'
  | 'WORKER_FAILED'
  | 'CANCELLED'
  | 'INTERNAL';

export interface P2ErrorFields {
  source?: P2ErrorSource;
  /** DISPLAY_MISMATCH and BAD_JOB: which field differs or is malformed. */
  field?: string;
  /** WRONG_PASSWORD: how long the next attempt will wait. */
  retryAfterMs?: number;
  /** SHARE_NOT_CONFIRMED: the address to confirm again. Public. */
  address?: string;
  cause?: unknown;
}

/** The plain-object form that crosses the worker boundary (structured clone drops class identity). */
export interface WireError {
  code: string;
  message: string;
  source: P2ErrorSource;
  field?: string;
  retryAfterMs?: number;
  address?: string;
}

export class P2Error extends Error {
  override readonly name = 'P2Error';
  readonly code: string;
  readonly source: P2ErrorSource;
  readonly field: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly address: string | undefined;

  constructor(code: DesktopErrorCode | (string & {}), message: string, fields: P2ErrorFields = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.code = code;
    this.source = fields.source ?? 'desktop';
    this.field = fields.field;
    this.retryAfterMs = fields.retryAfterMs;
    this.address = fields.address;
  }
}

export const isP2Error = (e: unknown, code?: string): e is P2Error =>
  e instanceof P2Error && (code === undefined || e.code === code);

const PROTOCOL_MESSAGE =
  'The session with the bank signer stopped because a protocol message did not check out. ' +
  'Try again; if it happens again, contact support with the code shown.';

/**
 * Any error as a P2Error. TecdsaError messages name fields and rounds, never values, but we still show a fixed
 * sentence and keep tecdsa's text as the cause; unknown errors become INTERNAL with a fixed message, because their
 * text was not written with secrets in mind.
 */
export function toP2Error(e: unknown): P2Error {
  if (e instanceof P2Error) return e;
  if (e instanceof VaultError)
    return new P2Error(e.code, e.message, { source: 'vault', retryAfterMs: e.retryAfterMs, cause: e });
  if (e instanceof TecdsaError) {
    const peer = e.code === 'E_ABORTED' ? e.details['peerCode'] : undefined;
    const detail = typeof peer === 'string' ? ` (the bank signer stopped with ${peer})` : '';
    return new P2Error(e.code, PROTOCOL_MESSAGE + detail, { source: 'protocol', cause: e });
  }
  return new P2Error(
    'INTERNAL',
    'Something went wrong inside Tandem. Try again; if it keeps happening, contact support.',
    { cause: e },
  );
}

export function toWire(e: P2Error): WireError {
  return {
    code: e.code,
    message: e.message,
    source: e.source,
    ...(e.field === undefined ? {} : { field: e.field }),
    ...(e.retryAfterMs === undefined ? {} : { retryAfterMs: e.retryAfterMs }),
    ...(e.address === undefined ? {} : { address: e.address }),
  };
}

export const fromWire = (w: WireError): P2Error => new P2Error(w.code, w.message, w);
