// Field encodings and strict body framing (PROTOCOL.md §3.1, §3.2, §3.2a).
// Encoders produce the one canonical form; decoders accept only that form and
// throw TecdsaError with the spec's code for each defect.

import { TecdsaError } from './errors.ts';
import { bigToBytes, bigToMinBytes, bitLength, bytesToBig, concatBytes, u32 } from './bytes.ts';
import { Point, SECP256K1_N } from './curve.ts';

export const MAX_ENVELOPE_BYTES = 256 * 1024;

const fail = (what: string): never => {
  throw new TecdsaError('E_DECODE', what);
};

// ---------- encoders ----------

export const encBytes32 = (b: Uint8Array): Uint8Array => {
  if (b.length !== 32) throw new TecdsaError('E_INPUT', 'Bytes32 must be 32 bytes');
  return b;
};
export const encSc = (x: bigint): Uint8Array => bigToBytes(x, 32);
export const encPt = (P: Point): Uint8Array => P.toBytes(true);
export const modLen = (M: bigint): number => Math.ceil(bitLength(M) / 8);
export const encMod = (x: bigint, M: bigint): Uint8Array => bigToBytes(x, modLen(M));
export const encNat = (x: bigint): Uint8Array => {
  if (x <= 0n) throw new TecdsaError('E_INPUT', 'Nat must be positive');
  return bigToMinBytes(x);
};
export const encInt = (z: bigint): Uint8Array =>
  concatBytes(Uint8Array.of(z < 0n ? 1 : 0), bigToMinBytes(z < 0n ? -z : z));
export const encU32 = u32;
export const encBit = (b: number): Uint8Array => Uint8Array.of(b ? 1 : 0);

/** `‖ (U32(len f) ‖ f)` over the fields: a body, or a composite field's content. */
export function frame(fields: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields) parts.push(u32(f.length), f);
  return concatBytes(...parts);
}

/** A bare list: `U32(count)` followed by framed items. */
export function list(items: readonly Uint8Array[]): Uint8Array {
  return concatBytes(u32(items.length), frame(items));
}

// ---------- decoders ----------

/** Sequential reader over a framed byte string; every read is bounds-checked. */
export class Reader {
  private off = 0;
  constructor(private readonly buf: Uint8Array) {}

  private u32(): number {
    if (this.off + 4 > this.buf.length) fail('truncated length prefix');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.off, 4).getUint32(0);
    this.off += 4;
    return v;
  }

  /** One framed element. */
  field(): Uint8Array {
    const len = this.u32();
    if (len > this.buf.length - this.off) fail('field length exceeds body');
    const out = this.buf.subarray(this.off, this.off + len);
    this.off += len;
    return out;
  }

  /** A bare list count, which must equal `expected`. */
  count(expected: number): void {
    if (this.u32() !== expected) fail(`list count must be ${expected}`);
  }

  /** The body must be consumed exactly. */
  end(): void {
    if (this.off !== this.buf.length) fail('trailing bytes');
  }
}

/** Decode a body of exactly `n` top-level fields. */
export function unframe(body: Uint8Array, n: number): Uint8Array[] {
  const r = new Reader(body);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(r.field());
  r.end();
  return out;
}

export function decBytes32(b: Uint8Array): Uint8Array {
  if (b.length !== 32) fail('Bytes32 must be 32 bytes');
  return b;
}

export function decSc(b: Uint8Array): bigint {
  if (b.length !== 32) fail('scalar must be 32 bytes');
  const x = bytesToBig(b);
  if (x >= SECP256K1_N) throw new TecdsaError('E_SCALAR_RANGE', 'scalar must be below q');
  return x;
}

/** Compressed SEC1 point, on the curve, not the identity (cofactor 1: on-curve ⇒ in the group). */
export function decPt(b: Uint8Array): Point {
  if (b.length !== 33 || (b[0] !== 2 && b[0] !== 3))
    throw new TecdsaError('E_POINT', 'point must be 33-byte compressed SEC1');
  let P: Point;
  try {
    P = Point.fromBytes(b); // rejects X ≥ p and X without a square root
  } catch {
    throw new TecdsaError('E_POINT', 'point is not on secp256k1');
  }
  if (P.is0()) throw new TecdsaError('E_POINT', 'point is the identity');
  return P;
}

export function decMod(b: Uint8Array, M: bigint): bigint {
  if (b.length !== modLen(M)) fail('residue has the wrong length');
  const x = bytesToBig(b);
  if (x >= M) fail('residue not below its modulus');
  return x;
}

export function decNat(b: Uint8Array, maxBytes: number): bigint {
  if (b.length === 0 || b[0] === 0) fail('Nat must be minimal and non-empty');
  if (b.length > maxBytes) fail('Nat too large');
  return bytesToBig(b);
}

/** Signed integer; `capBits` is the field's magnitude cap, checked here rounded up to whole bytes. */
export function decInt(b: Uint8Array, capBits: number): bigint {
  if (b.length === 0 || (b[0] !== 0 && b[0] !== 1)) fail('Int sign byte must be 00 or 01');
  const mag = b.subarray(1);
  if (mag.length > 0 && mag[0] === 0) fail('Int magnitude has a leading zero');
  if (b[0] === 1 && mag.length === 0) fail('negative zero');
  if (mag.length > Math.ceil(capBits / 8)) fail('Int magnitude above its cap');
  const v = bytesToBig(mag);
  return b[0] === 1 ? -v : v;
}

export function decU32(b: Uint8Array): number {
  if (b.length !== 4) fail('U32 must be 4 bytes');
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
}

export function decBit(b: Uint8Array): number {
  if (b.length !== 1 || b[0]! > 1) fail('Bit must be one byte 00 or 01');
  return b[0]!;
}
