// The WSS protocol as the desktop speaks it (coordinator/src/mpc/messages.ts is the coordinator's side): the
// messages P2 sends, and a strict parser for the frames the coordinator sends back. A frame that does not fit is
// BAD_FRAME: the coordinator relays, so anything it adds or changes is refused rather than guessed at.

import { P2Error } from './errors.ts';

/** Desktop → coordinator; `id` is added by CoordinatorSocket. */
export type OutgoingMessage =
  | { type: 'dkg_start'; walletId: string; envelope: string }
  | { type: 'dkg_round'; sessionId: string; envelope: string }
  | { type: 'sign_start'; withdrawalId: string; envelope: string }
  | { type: 'sign_round'; sessionId: string; envelope: string };

/** Coordinator → desktop, as replies to a request. */
export type ReplyFrame =
  | { type: 'dkg_round'; id: string; sessionId: string; envelope: string }
  | { type: 'dkg_complete'; id: string; sessionId: string; walletId: string; publicKey: string; address: string }
  | { type: 'sign_round'; id: string; sessionId: string; envelope: string }
  | { type: 'sign_complete'; id: string; sessionId: string; withdrawalId: string; envelope: string; txHash: string };

export interface ErrorFrame {
  type: 'error';
  id?: string;
  sessionId?: string;
  code: string;
  message: string;
}

/**
 * SIGN-6 as the bank signer sent it, ahead of sign_complete, so P2 can check the signature while the coordinator
 * checks and stores it. It has no id: it belongs to the request waiting in its session, and ends nothing.
 */
export interface SignResultFrame {
  type: 'sign_result';
  sessionId: string;
  envelope: string;
}

/** Something awaits this user or changed (wallet_awaiting_dkg, withdrawal_changed, …): passed on as it is. */
export interface EventFrame {
  type: 'event';
  event: string;
  [field: string]: unknown;
}

export type IncomingFrame = ReplyFrame | ErrorFrame | EventFrame | SignResultFrame;

const REPLY_FIELDS: Record<ReplyFrame['type'], readonly string[]> = {
  dkg_round: ['sessionId', 'envelope'],
  dkg_complete: ['sessionId', 'walletId', 'publicKey', 'address'],
  sign_round: ['sessionId', 'envelope'],
  sign_complete: ['sessionId', 'withdrawalId', 'envelope', 'txHash'],
};

const bad = (why: string) =>
  new P2Error('BAD_FRAME', `The coordinator sent a message Tandem does not understand (${why}). Try again.`);

const isString = (v: unknown): v is string => typeof v === 'string';

export function parseFrame(text: string): IncomingFrame {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('not an object');
  const o = v as Record<string, unknown>;
  const type = o['type'];
  if (!isString(type)) throw bad('no type');
  if (o['id'] !== undefined && !isString(o['id'])) throw bad('id is not a string');
  if (type === 'event') {
    if (!isString(o['event'])) throw bad('event without a name');
    return o as EventFrame;
  }
  if (type === 'error') {
    if (!isString(o['code']) || !isString(o['message'])) throw bad('error without code and message');
    if (o['sessionId'] !== undefined && !isString(o['sessionId'])) throw bad('sessionId is not a string');
    return o as unknown as ErrorFrame;
  }
  if (type === 'sign_result') {
    for (const k of Object.keys(o))
      if (k !== 'type' && k !== 'sessionId' && k !== 'envelope') throw bad('unknown field in sign_result');
    if (!isString(o['sessionId']) || !isString(o['envelope']) || o['envelope'].length === 0)
      throw bad('sign_result without sessionId and envelope');
    return o as unknown as SignResultFrame;
  }
  if (!Object.hasOwn(REPLY_FIELDS, type)) throw bad(`unknown type ${JSON.stringify(type).slice(0, 40)}`);
  const fields = REPLY_FIELDS[type as ReplyFrame['type']];
  if (!isString(o['id'])) throw bad(`${type} without an id`);
  for (const k of Object.keys(o))
    if (k !== 'type' && k !== 'id' && !fields.includes(k)) throw bad(`unknown field in ${type}`);
  for (const f of fields) {
    const x = o[f];
    if (!isString(x) || x.length === 0) throw bad(`${type} without ${f}`);
  }
  return o as unknown as ReplyFrame;
}
