// The coordinator's API errors: a stable code the desktop can switch on, an HTTP status, and a
// message a person can read (the UI may show it). Never a secret or a stack in either.

export const API_ERRORS = {
  BAD_REQUEST: 400,
  MALFORMED_JSON: 400,
  BODY_TOO_LARGE: 413,
  UNAUTHENTICATED: 401,
  TOKEN_EXPIRED: 401,
  FORBIDDEN: 403,
  ROLE_REQUIRED: 403,
  NOT_FOUND: 404,
  WALLET_NOT_FOUND: 404,
  WITHDRAWAL_NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  CONFLICT: 409,
  USERNAME_TAKEN: 409,
  INVALID_STATE: 409,
  WALLET_OUT_OF_SYNC: 409,
  SELF_APPROVAL: 403,
  ALREADY_APPROVED: 409,
  POLICY_VIOLATION: 422,
  DEVICE_NOT_APPROVED: 403,
  RATE_LIMITED: 429,
  LOGIN_FAILED: 401,
  ACCOUNT_LOCKED: 423,
  SIGNER_UNAVAILABLE: 503,
  SIGNER_REFUSED: 502,
  CHAIN_UNAVAILABLE: 503,
  BROADCAST_REJECTED: 502,
  INTERNAL: 500,
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    /** Extra fields the client may use (e.g. which policy rule refused). No secrets. */
    readonly details: Readonly<Record<string, string | number | boolean | null>> = {},
  ) {
    super(message);
  }
  get status(): number {
    return API_ERRORS[this.code];
  }
  toJSON() {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(Object.keys(this.details).length ? { details: this.details } : {}),
      },
    };
  }
}
