// Signed envelopes (PROTOCOL.md §3.2, §3.2a items 4 and 7): every protocol message is an
// envelope signed with the sender's Ed25519 identity key over
// TH("envelope", [U32(v), Str(kind), requestId, U32(round), Str(from), Str(to), body], 512).
// Verification is strict RFC 8032: canonical encodings, S < L, cofactorless equation.

import { TecdsaError } from './errors.ts';
import { base64url, bytesToHex, fromBase64url, hexToBytes, u32, utf8 } from './bytes.ts';
import { ed25519PublicKey, ed25519Sign, verifyEd25519Strict } from './ed25519.ts';
import { th } from './hash.ts';
import { MAX_ENVELOPE_BYTES, frame, unframe } from './encoding.ts';
import { parseFlatJson } from './strictJson.ts';

export type Kind = 'kg' | 'sign';
export type Party = 'P1' | 'P2';

export interface Envelope {
  readonly v: 1;
  readonly kind: Kind;
  readonly requestId: Uint8Array;
  readonly round: number;
  readonly from: Party;
  readonly to: Party;
  readonly body: Uint8Array;
  readonly sig: Uint8Array;
}

export type UnsignedEnvelope = Omit<Envelope, 'sig'>;

/** An Ed25519 identity: 32-byte secret seed and its public key. */
export interface Identity {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export function identityFromSeed(seed: Uint8Array): Identity {
  if (seed.length !== 32) throw new TecdsaError('E_INPUT', 'identity seed must be 32 bytes');
  return { secretKey: seed, publicKey: ed25519PublicKey(seed) };
}

export function envelopeDigest(e: UnsignedEnvelope): Uint8Array {
  return th('envelope', [u32(e.v), utf8(e.kind), e.requestId, u32(e.round), utf8(e.from), utf8(e.to), e.body], 512);
}

export function signEnvelope(id: Identity, e: UnsignedEnvelope): Envelope {
  return { ...e, sig: ed25519Sign(id, envelopeDigest(e)) };
}

/** E_AUTH unless `sig` is the registered peer's signature over this envelope. */
export function verifyEnvelope(e: Envelope, peerPublicKey: Uint8Array): void {
  if (!verifyEd25519Strict(e.sig, envelopeDigest(e), peerPublicKey))
    throw new TecdsaError('E_AUTH', `envelope ${e.kind} round ${e.round} from ${e.from}: bad signature`);
}

/** The abort envelope body: one framed field holding the ASCII error code (round 0). */
export const abortBody = (code: string): Uint8Array => frame([utf8(code)]);

export function abortCode(body: Uint8Array): string {
  const [f] = unframe(body, 1);
  const code = new TextDecoder().decode(f!);
  if (!/^E_[A-Z_]{1,40}$/.test(code)) throw new TecdsaError('E_DECODE', 'abort body must hold an error code');
  return code;
}

const KEYS = ['v', 'kind', 'requestId', 'round', 'from', 'to', 'body', 'sig'];

/** The JSON wire form: requestId hex, body and sig base64url. */
export function envelopeToJson(e: Envelope): string {
  return JSON.stringify({
    v: e.v,
    kind: e.kind,
    requestId: bytesToHex(e.requestId),
    round: e.round,
    from: e.from,
    to: e.to,
    body: base64url(e.body),
    sig: base64url(e.sig),
  });
}

/** Strict parser of the wire form (§10 checks 1–2 that need no session). */
export function parseEnvelope(input: string | Uint8Array): Envelope {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > MAX_ENVELOPE_BYTES) throw new TecdsaError('E_DECODE', 'envelope larger than 256 KiB');
  let text: string;
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    throw new TecdsaError('E_DECODE', 'envelope is not UTF-8');
  }
  const o = parseFlatJson(text);
  return envelopeFromFields(o, 'base64url');
}

/** Builds an envelope from parsed fields; `binary` says how body and sig are written. */
export function envelopeFromFields(o: Map<string, string | number>, binary: 'base64url' | 'hex'): Envelope {
  const bad = (why: string): never => {
    throw new TecdsaError('E_DECODE', `envelope: ${why}`);
  };
  if (o.size !== KEYS.length || !KEYS.every((k) => o.has(k))) bad(`fields must be exactly ${KEYS.join(', ')}`);
  const v = o.get('v');
  const kind = o.get('kind');
  const from = o.get('from');
  const to = o.get('to');
  const round = o.get('round');
  const rid = o.get('requestId');
  const body = o.get('body');
  const sig = o.get('sig');
  if (v !== 1) bad('v must be 1');
  if (kind !== 'kg' && kind !== 'sign') bad('kind must be kg or sign');
  if ((from !== 'P1' && from !== 'P2') || (to !== 'P1' && to !== 'P2') || from === to) bad('from/to must be P1 and P2');
  if (typeof round !== 'number' || round > 6) bad('round must be 0..6');
  if (typeof rid !== 'string' || !/^[0-9a-f]{64}$/.test(rid)) bad('requestId must be 64 lowercase hex digits');
  if (typeof body !== 'string' || typeof sig !== 'string') bad('body and sig must be strings');
  const dec = (s: string): Uint8Array => {
    try {
      if (binary === 'hex') {
        if (!/^(?:[0-9a-f]{2})*$/.test(s)) throw new RangeError('hex');
        return hexToBytes(s);
      }
      return fromBase64url(s);
    } catch {
      return bad(`body/sig must be ${binary}`);
    }
  };
  const sigBytes = dec(sig as string);
  if (sigBytes.length !== 64) bad('sig must be 64 bytes');
  return {
    v: 1,
    kind: kind as Kind,
    requestId: hexToBytes(rid as string),
    round: round as number,
    from: from as Party,
    to: to as Party,
    body: dec(body as string),
    sig: sigBytes,
  };
}
