// The vault's typed errors: one class with a stable code the UI maps to a screen, and a message a treasury user can
// act on (what happened, what to do next). Messages and details never carry a password, a key or a share: callers may
// show or log them as they are. Mistakes in how the code calls the vault (a malformed wallet id, a non-string
// password) are TypeErrors instead: they are bugs, not something a user can fix.

export type VaultErrorCode =
  'WRONG_PASSWORD' | 'KEYCHAIN_UNAVAILABLE' | 'SHARE_CORRUPTED' | 'SHARE_NOT_FOUND' | 'SHARE_EXISTS' | 'BAD_PASSWORD';

const MESSAGES: Record<VaultErrorCode, string> = {
  WRONG_PASSWORD: 'The password is not correct. Check it (and the keyboard layout) and try again.',
  KEYCHAIN_UNAVAILABLE:
    "Tandem cannot use this computer's keychain: it is locked, or no keychain service is running. " +
    'Unlock the keychain (or sign out of the computer and back in), then try again. If it keeps happening, contact IT.',
  SHARE_CORRUPTED:
    'The key share file for this wallet is damaged or belongs to another wallet, so Tandem will not use it. ' +
    'Nothing was deleted. Restore the wallet from its backup file, or contact support.',
  SHARE_NOT_FOUND:
    'This computer holds no key share for this wallet. Restore it from its backup file, or use the workstation ' +
    'where the wallet was created.',
  SHARE_EXISTS:
    'A key share for this wallet is already stored on this computer. It was kept as it is and nothing was replaced.',
  BAD_PASSWORD: 'Choose a password of at least 12 characters. A longer phrase that only you know is best.',
};

export class VaultError extends Error {
  override readonly name = 'VaultError';
  readonly code: VaultErrorCode;
  /** For support, never shown as the message: which check failed (field names and limits, no values). */
  readonly detail: string | undefined;
  /** WRONG_PASSWORD only: how long the next attempt on this wallet will wait. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: VaultErrorCode,
    opts: { message?: string; detail?: string; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(opts.message ?? MESSAGES[code], opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.detail = opts.detail;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

export function isVaultError(e: unknown, code?: VaultErrorCode): e is VaultError {
  return e instanceof VaultError && (code === undefined || e.code === code);
}

/** SHARE_CORRUPTED naming the failed check for support. */
export function corrupted(detail: string): VaultError {
  return new VaultError('SHARE_CORRUPTED', { detail });
}
