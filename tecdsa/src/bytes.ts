// Byte and integer helpers shared by the codecs and hashes (internal).

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

const HEX = /^(?:[0-9a-f]{2})*$/i;

export function hexToBytes(hex: string): Uint8Array {
  const h = hex.startsWith('0x') ? hex.slice(2) : hex;
  if (!HEX.test(h)) throw new RangeError('not an even-length hex string');
  return Uint8Array.from(Buffer.from(h, 'hex'));
}

export function bytesToHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

export function bitLength(x: bigint): number {
  if (x < 0n) x = -x;
  return x === 0n ? 0 : x.toString(2).length;
}

/** Big-endian unsigned bytes of x, left-padded to `len` (x must fit). */
export function bigToBytes(x: bigint, len: number): Uint8Array {
  const hex = x.toString(16);
  if (x < 0n || hex.length > 2 * len) throw new RangeError('integer does not fit');
  return hexToBytes(hex.padStart(2 * len, '0'));
}

/** Minimal big-endian unsigned bytes (empty for 0). */
export function bigToMinBytes(x: bigint): Uint8Array {
  if (x === 0n) return new Uint8Array(0);
  const hex = x.toString(16);
  return hexToBytes(hex.length % 2 ? '0' + hex : hex);
}

export function bytesToBig(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + bytesToHex(b));
}

export function u32(i: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, i >>> 0);
  return out;
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export function base64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url');
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Strict base64url (no padding, canonical): the decoded bytes must re-encode to the same text. */
export function fromBase64url(s: string): Uint8Array {
  if (!B64URL.test(s) || s.length % 4 === 1) throw new RangeError('not base64url');
  const b = Uint8Array.from(Buffer.from(s, 'base64url'));
  if (base64url(b) !== s) throw new RangeError('non-canonical base64url');
  return b;
}
