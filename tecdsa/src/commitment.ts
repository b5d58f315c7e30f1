// Hash commitments (PROTOCOL.md §3.4): Com = TH("com", [sid, label, role, payload…, salt], 256).

import { TecdsaError } from './errors.ts';
import { equalBytes, utf8 } from './bytes.ts';
import { th } from './hash.ts';

export function commit(
  sid: Uint8Array,
  label: string,
  role: string,
  payload: Uint8Array[],
  salt: Uint8Array,
): Uint8Array {
  return th('com', [sid, utf8(label), utf8(role), ...payload, salt], 256);
}

/** Recomputes the commitment from its opening; E_COMMITMENT if it differs. */
export function checkOpening(
  C: Uint8Array,
  sid: Uint8Array,
  label: string,
  role: string,
  payload: Uint8Array[],
  salt: Uint8Array,
): void {
  if (!equalBytes(commit(sid, label, role, payload, salt), C))
    throw new TecdsaError('E_COMMITMENT', `commitment to ${label} does not open`);
}
