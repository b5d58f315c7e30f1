// Typed errors with the stable codes of PROTOCOL.md §11 (plus three local ones).
// One base class; messages name fields and expectations, never secret values.

export const PROTOCOL_ERROR_CODES = [
  'E_AUTH',
  'E_DECODE',
  'E_SESSION',
  'E_UNEXPECTED',
  'E_EQUIVOCATION',
  'E_TIMEOUT',
  'E_REPLAY',
  'E_ENROLMENT',
  'E_POINT',
  'E_SCALAR_RANGE',
  'E_COMMITMENT',
  'E_PROOF_SCH',
  'E_RP_PARAMS',
  'E_PROOF_PRM',
  'E_PAILLIER_MODULUS',
  'E_PROOF_MOD',
  'E_PROOF_FAC',
  'E_CIPHERTEXT',
  'E_PROOF_LOGSTAR',
  'E_TRANSCRIPT_MISMATCH',
  'E_UNKNOWN_KEY',
  'E_KEY_FROZEN',
  'E_MSG_MISMATCH',
  'E_POLICY',
  'E_BUSY',
  'E_R_OVERFLOW',
  'E_SIGNING_FAILED',
  'E_BAD_SIGNATURE',
] as const;

/**
 * Local codes, never sent to a peer:
 * - E_INPUT: a caller of this library passed a bad argument (wrong type, bad share blob, bad options);
 * - E_ABORTED: the peer sent an abort envelope (the peer's code is in `details.peerCode`);
 * - E_INTERNAL: a local invariant failed (a bug); the session is closed.
 */
export const LOCAL_ERROR_CODES = ['E_INPUT', 'E_ABORTED', 'E_INTERNAL'] as const;

export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];
export type ErrorCode = ProtocolErrorCode | (typeof LOCAL_ERROR_CODES)[number];

const protocolCodes: ReadonlySet<string> = new Set(PROTOCOL_ERROR_CODES);

export function isProtocolErrorCode(code: string): code is ProtocolErrorCode {
  return protocolCodes.has(code);
}

export type ErrorDetails = Readonly<Record<string, string | number | boolean>>;

export class TecdsaError extends Error {
  override readonly name = 'TecdsaError';
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  /**
   * True only for a Class B failure at P1 (PROTOCOL.md §9.2): the caller MUST durably freeze
   * the key before anything is sent back.
   */
  readonly freezeKey: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { details?: ErrorDetails; cause?: unknown; freezeKey?: boolean } = {},
  ) {
    super(`${code}: ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.details = opts.details ?? {};
    this.freezeKey = opts.freezeKey ?? false;
  }
}

/** Throw a TecdsaError with `code` unless `cond` holds. */
export function check(cond: boolean, code: ErrorCode, message: string): asserts cond {
  if (!cond) throw new TecdsaError(code, message);
}

/** Maps anything thrown to a TecdsaError, so callers only ever see ours. */
export function toTecdsaError(e: unknown, fallback: ErrorCode = 'E_INTERNAL'): TecdsaError {
  if (e instanceof TecdsaError) return e;
  return new TecdsaError(fallback, 'unexpected failure', { cause: e });
}
