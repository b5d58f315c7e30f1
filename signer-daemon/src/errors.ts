// The signer's typed errors. Every failure a caller can see has a stable code (sent in the
// `tandem-error-code` trailer, see proto/mpc.proto) and a gRPC status. Messages are for people
// and never carry secret material: no share, key, permit key, nonce or decrypted value.

import { status } from '@grpc/grpc-js';
import { TecdsaError } from '@tandem/tecdsa/errors';

const CODES = {
  BAD_REQUEST: status.INVALID_ARGUMENT,
  MESSAGE_TOO_LARGE: status.INVALID_ARGUMENT,
  TX_INVALID: status.INVALID_ARGUMENT,
  PEER_NOT_ALLOWED: status.PERMISSION_DENIED,
  PERMIT_INVALID: status.PERMISSION_DENIED,
  PERMIT_KEY_UNKNOWN: status.PERMISSION_DENIED,
  PERMIT_EXPIRED: status.PERMISSION_DENIED,
  PERMIT_NOT_YET_VALID: status.PERMISSION_DENIED,
  PERMIT_TTL_TOO_LONG: status.PERMISSION_DENIED,
  PERMIT_REPLAYED: status.PERMISSION_DENIED,
  PERMIT_KEYSET_MISMATCH: status.PERMISSION_DENIED,
  PERMIT_HASH_MISMATCH: status.PERMISSION_DENIED,
  KEYSET_NOT_FOUND: status.NOT_FOUND,
  KEYSET_EXISTS: status.ALREADY_EXISTS,
  KEYSET_FROZEN: status.FAILED_PRECONDITION,
  KEYSET_RETIRED: status.FAILED_PRECONDITION,
  SESSION_NOT_FOUND: status.NOT_FOUND,
  SESSION_LIMIT: status.RESOURCE_EXHAUSTED,
  RATE_LIMITED: status.RESOURCE_EXHAUSTED,
  SHARE_CORRUPTED: status.DATA_LOSS,
  SHUTTING_DOWN: status.UNAVAILABLE,
  INTERNAL: status.INTERNAL,
} as const;

export type SignerErrorCode = keyof typeof CODES;

export class SignerError extends Error {
  override readonly name = 'SignerError';
  constructor(
    readonly code: SignerErrorCode,
    message: string,
  ) {
    super(message);
  }
  get grpcStatus(): status {
    return CODES[this.code];
  }
}

/** Protocol errors keep their E_* code; this picks the gRPC status a client should act on. */
export function protocolStatus(e: TecdsaError): status {
  switch (e.code) {
    case 'E_TIMEOUT':
      return status.DEADLINE_EXCEEDED;
    case 'E_KEY_FROZEN':
      return status.FAILED_PRECONDITION;
    case 'E_SIGNING_FAILED':
    case 'E_ABORTED':
      return status.ABORTED;
    case 'E_INTERNAL':
      return status.INTERNAL;
    default:
      return status.INVALID_ARGUMENT;
  }
}
