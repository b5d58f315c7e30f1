// Checks on request fields that are not protocol messages (those are tecdsa's job).

import { MAX_ENVELOPE_BYTES } from '@tandem/tecdsa/encoding';
import { type Envelope, parseEnvelope } from '@tandem/tecdsa/envelope';
import { SignerError } from '../errors.ts';

const KEYSET_ID = /^[A-Za-z0-9_-]{1,64}$/;
const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;

export function keysetIdOf(v: string): string {
  if (!KEYSET_ID.test(v)) throw new SignerError('BAD_REQUEST', 'keyset_id must be 1–64 characters of [A-Za-z0-9_-]');
  return v;
}

export function sessionIdOf(v: string): string {
  if (!SESSION_ID.test(v)) throw new SignerError('BAD_REQUEST', 'session_id is malformed');
  return v;
}

export function bytesOf(v: Uint8Array, len: number, name: string): Uint8Array {
  if (v.length !== len) throw new SignerError('BAD_REQUEST', `${name} must be ${len} bytes`);
  return v;
}

/** The envelope's size is checked here so the error names the limit; tecdsa parses the rest. */
export function envelopeOf(v: Uint8Array): Envelope {
  if (v.length === 0) throw new SignerError('BAD_REQUEST', 'envelope is missing');
  if (v.length > MAX_ENVELOPE_BYTES)
    throw new SignerError('MESSAGE_TOO_LARGE', `envelope is larger than ${MAX_ENVELOPE_BYTES} bytes`);
  return parseEnvelope(v);
}

/**
 * Each RPC carries one protocol round (or a peer's abort, round 0): checked before the state
 * machine sees the message, so SIGN-5 can only ever reach decryption through FinalizeSigning,
 * under the keyset lock, and KG-5 only through FinalizeDKG, which stores the keyset.
 */
export function expectRound(env: Envelope, round: number, rpc: string): Envelope {
  if (env.round !== round && env.round !== 0)
    throw new SignerError('BAD_REQUEST', `${rpc} carries round ${round}, not round ${env.round}`);
  return env;
}
