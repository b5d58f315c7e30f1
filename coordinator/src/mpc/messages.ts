// The WSS protocol between a desktop's P2 worker and the coordinator (JSON text frames).
//
// Desktop → coordinator (MPCMessage):
//   {"type": "dkg_start",  "id"?, "walletId", "envelope"}      KG-1
//   {"type": "dkg_round",  "id"?, "sessionId", "envelope"}     KG-3, then KG-5
//   {"type": "sign_start", "id"?, "withdrawalId", "envelope"}  SIGN-1
//   {"type": "sign_round", "id"?, "sessionId", "envelope"}     SIGN-3, then SIGN-5
// Coordinator → desktop (MPCResponse):
//   {"type": "dkg_round", "id"?, "sessionId", "envelope"}      KG-2, KG-4
//   {"type": "dkg_complete", "id"?, "sessionId", "walletId", "publicKey", "address"}
//   {"type": "sign_round", "id"?, "sessionId", "envelope"}     SIGN-2, SIGN-4
//   {"type": "sign_result", "sessionId", "envelope"}            SIGN-6 ahead (no id): not an end
//   {"type": "sign_complete", "id"?, "sessionId", "withdrawalId", "envelope", "txHash"}   SIGN-6, stored
//   {"type": "error", "id"?, "sessionId"?, "code", "message"}
//   {"type": "event", "event", ...}                            something awaits or changed
// `envelope` is a tecdsa envelope in its JSON wire form (a string); `id` is the client's own
// correlation id, echoed back. The coordinator relays envelopes and cannot alter them. sign_result
// carries SIGN-6 the moment the signer answers, so the desktop checks the signature while the
// coordinator checks it and stores the signed transaction; sign_complete (same envelope) or an
// error follows, and only that ends the session.

import { ApiError } from '../errors.ts';

export type MpcMessage =
  | { type: 'dkg_start'; id?: string; walletId: string; envelope: string }
  | { type: 'dkg_round'; id?: string; sessionId: string; envelope: string }
  | { type: 'sign_start'; id?: string; withdrawalId: string; envelope: string }
  | { type: 'sign_round'; id?: string; sessionId: string; envelope: string };

/** 256 KiB envelope, as JSON inside JSON, plus the small fields. */
export const MAX_FRAME_BYTES = 300 * 1024;

const SHAPES: Record<MpcMessage['type'], readonly string[]> = {
  dkg_start: ['walletId', 'envelope'],
  dkg_round: ['sessionId', 'envelope'],
  sign_start: ['withdrawalId', 'envelope'],
  sign_round: ['sessionId', 'envelope'],
};

const bad = (why: string) => new ApiError('BAD_REQUEST', `bad message: ${why}`);

export function parseMpcMessage(text: string): MpcMessage {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ApiError('MALFORMED_JSON', 'the frame is not valid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('expected a JSON object');
  const o = v as Record<string, unknown>;
  const type = o['type'];
  if (typeof type !== 'string' || !Object.hasOwn(SHAPES, type)) throw bad('unknown type');
  const fields = SHAPES[type as MpcMessage['type']];
  for (const k of Object.keys(o))
    if (k !== 'type' && k !== 'id' && !fields.includes(k)) throw bad(`unknown field ${JSON.stringify(k).slice(0, 40)}`);
  for (const f of fields) {
    const x = o[f];
    if (typeof x !== 'string' || x.length === 0) throw bad(`${f} must be a non-empty string`);
    if (f !== 'envelope' && x.length > 64) throw bad(`${f} is too long`);
  }
  if (o['id'] !== undefined && (typeof o['id'] !== 'string' || o['id'].length > 64))
    throw bad('id must be a short string');
  return o as unknown as MpcMessage;
}
