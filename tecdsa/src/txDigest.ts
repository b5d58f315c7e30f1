// The message digest m32 of PROTOCOL.md §8.1 that each party (P1, the bank signer, and P2, the
// desktop) computes with its own code from the transaction before a threshold signature:
//   EIP-1559:  keccak256(0x02 ‖ rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data, accessList]))
//   EIP-2930:  keccak256(0x01 ‖ rlp([chainId, nonce, gasPrice, gas, to, value, data, accessList]))
//   EIP-155:   keccak256(rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0]))
//   EIP-191:   keccak256("\x19Ethereum Signed Message:\n" ‖ decimal(len(msg)) ‖ msg)
// plus the Ethereum v encodings of §8.4 and the signed serialization for broadcast.
// The payload encoder and the strict decoder are our own (independent of viem), so tests can
// compare them against viem as an independent implementation. EIP-712 is not handled here.

import { keccak_256 } from '@noble/hashes/sha3.js';
import { serializeTransaction, numberToHex, type TransactionSerializable } from 'viem';
import { TecdsaError, type ErrorCode } from './errors.ts';
import { SECP256K1_N, HALF_N } from './curve.ts';
import { bigToMinBytes, bytesToBig, bytesToHex, concatBytes, hexToBytes, utf8 } from './bytes.ts';

type Hex = `0x${string}`;

export interface AccessListEntry {
  address: Hex;
  storageKeys: Hex[];
}
export interface Eip1559Tx {
  type: 'eip1559';
  chainId: bigint;
  nonce: bigint;
  maxPriorityFeePerGas: bigint;
  maxFeePerGas: bigint;
  gas: bigint;
  to: Hex | null; // null: contract creation
  value: bigint;
  data: Hex;
  accessList: AccessListEntry[];
}
export interface Eip2930Tx {
  type: 'eip2930';
  chainId: bigint;
  nonce: bigint;
  gasPrice: bigint;
  gas: bigint;
  to: Hex | null;
  value: bigint;
  data: Hex;
  accessList: AccessListEntry[];
}
/** Legacy transaction signed with EIP-155 replay protection (pre-155 legacy is not supported). */
export interface LegacyEip155Tx {
  type: 'legacy';
  nonce: bigint;
  gasPrice: bigint;
  gas: bigint;
  to: Hex | null;
  value: bigint;
  data: Hex;
  chainId: bigint;
}
export interface PersonalMessage {
  type: 'personal';
  message: Uint8Array;
}
export type SignableTx = Eip1559Tx | Eip2930Tx | LegacyEip155Tx | PersonalMessage;
type TxType = SignableTx['type'];
type TypedTx = Exclude<SignableTx, PersonalMessage>;

// RLP field order of each signing payload; also the object's keys besides `type`.
const FIELDS = {
  eip1559: ['chainId', 'nonce', 'maxPriorityFeePerGas', 'maxFeePerGas', 'gas', 'to', 'value', 'data', 'accessList'],
  eip2930: ['chainId', 'nonce', 'gasPrice', 'gas', 'to', 'value', 'data', 'accessList'],
  legacy: ['nonce', 'gasPrice', 'gas', 'to', 'value', 'data', 'chainId'],
  personal: ['message'],
} as const satisfies Record<TxType, readonly string[]>;
const TYPE_BYTE = { eip1559: 0x02, eip2930: 0x01 } as const;

// Integer ranges. chainId and nonce stay within JS-safe integers because viem (and most JS
// tooling) types them as `number`; real chains and accounts are far below. gas is a uint64 in
// every client; the rest are uint256.
const U64 = (1n << 64n) - 1n;
const U256 = (1n << 256n) - 1n;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const RANGE: Record<string, readonly [bigint, bigint]> = {
  chainId: [1n, SAFE],
  nonce: [0n, SAFE],
  gas: [0n, U64],
  gasPrice: [0n, U256],
  maxPriorityFeePerGas: [0n, U256],
  maxFeePerGas: [0n, U256],
  value: [0n, U256],
};

// ---------------------------------------------------------------------------------------------
// Validation shared by all entry points: the same rules whether the tx came from a caller
// (E_INPUT), from payload bytes or from JSON (E_DECODE). Returns a normalized copy: addresses
// EIP-55 checksummed, other hex lowercase, so equal transactions compare deep-equal.

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

function checkKeys(v: Obj, keys: readonly string[], where: string, code: ErrorCode): void {
  for (const k of keys) if (!Object.hasOwn(v, k)) throw new TecdsaError(code, `${where}: missing field ${k}`);
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) throw new TecdsaError(code, `${where}: unknown field ${JSON.stringify(k)}`);
  }
}

function txType(v: unknown, code: ErrorCode): TxType {
  if (!isObj(v)) throw new TecdsaError(code, 'tx: expected an object');
  const t = Object.hasOwn(v, 'type') ? v['type'] : undefined; // never an inherited `type`
  if (typeof t !== 'string' || !Object.hasOwn(FIELDS, t)) throw new TecdsaError(code, 'tx.type: unknown type');
  return t as TxType;
}

function toChecksum(lowerNo0x: string): Hex {
  const h = bytesToHex(keccak_256(utf8(lowerNo0x)));
  let out = '0x';
  for (let i = 0; i < 40; i++) out += parseInt(h[i]!, 16) >= 8 ? lowerNo0x[i]!.toUpperCase() : lowerNo0x[i]!;
  return out as Hex;
}

/** Lowercase, or mixed case with a correct EIP-55 checksum; a wrong checksum signals a typo. */
function checkAddress(v: unknown, field: string, code: ErrorCode): Hex {
  if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(v)) {
    throw new TecdsaError(code, `${field}: expected a 20-byte 0x address`);
  }
  const lower = v.slice(2).toLowerCase();
  const cs = toChecksum(lower);
  if (v.slice(2) !== lower && v !== cs) throw new TecdsaError(code, `${field}: bad EIP-55 checksum`);
  return cs;
}

function checkHex(v: unknown, field: string, code: ErrorCode, bytes?: number): Hex {
  const ok =
    typeof v === 'string' && /^0x(?:[0-9a-fA-F]{2})*$/.test(v) && (bytes === undefined || v.length === 2 + 2 * bytes);
  if (!ok) throw new TecdsaError(code, `${field}: expected 0x hex${bytes === undefined ? '' : ` of ${bytes} bytes`}`);
  return (v as string).toLowerCase() as Hex;
}

function checkUint(v: unknown, field: string, code: ErrorCode): bigint {
  const [lo, hi] = RANGE[field]!;
  if (typeof v !== 'bigint') throw new TecdsaError(code, `tx.${field}: expected a bigint`);
  if (v < lo || v > hi) throw new TecdsaError(code, `tx.${field}: out of range [${lo}, ${hi}]`);
  return v;
}

function checkAccessList(v: unknown, code: ErrorCode): AccessListEntry[] {
  if (!Array.isArray(v)) throw new TecdsaError(code, 'tx.accessList: expected an array');
  return v.map((e: unknown, i) => {
    const where = `tx.accessList[${i}]`;
    if (!isObj(e)) throw new TecdsaError(code, `${where}: expected an object`);
    checkKeys(e, ['address', 'storageKeys'], where, code);
    const keys = e['storageKeys'];
    if (!Array.isArray(keys)) throw new TecdsaError(code, `${where}.storageKeys: expected an array`);
    return {
      address: checkAddress(e['address'], `${where}.address`, code),
      storageKeys: keys.map((k: unknown, j) => checkHex(k, `${where}.storageKeys[${j}]`, code, 32)),
    };
  });
}

function checkTx(v: unknown, code: ErrorCode): SignableTx {
  const type = txType(v, code);
  const o = v as Obj;
  checkKeys(o, ['type', ...FIELDS[type]], 'tx', code);
  if (type === 'personal') {
    if (!(o['message'] instanceof Uint8Array)) throw new TecdsaError(code, 'tx.message: expected a Uint8Array');
    return { type, message: Uint8Array.from(o['message']) };
  }
  const out: Obj = { type };
  for (const f of FIELDS[type]) {
    const x = o[f];
    if (f === 'to') out[f] = x === null ? null : checkAddress(x, 'tx.to', code);
    else if (f === 'data') out[f] = checkHex(x, 'tx.data', code);
    else if (f === 'accessList') out[f] = checkAccessList(x, code);
    else out[f] = checkUint(x, f, code);
  }
  // EIP-1559 makes such a tx invalid and viem refuses to serialize it, so it is never signable.
  if (type === 'eip1559' && (out['maxPriorityFeePerGas'] as bigint) > (out['maxFeePerGas'] as bigint)) {
    throw new TecdsaError(code, 'tx.maxPriorityFeePerGas: exceeds maxFeePerGas');
  }
  return out as unknown as SignableTx;
}

// ---------------------------------------------------------------------------------------------
// RLP encoding (Ethereum Yellow Paper, appendix B).

type Rlp = Uint8Array | Rlp[];

function rlpHeader(base: 0x80 | 0xc0, len: number): Uint8Array {
  if (len <= 55) return Uint8Array.of(base + len);
  const l = bigToMinBytes(BigInt(len));
  return concatBytes(Uint8Array.of(base + 55 + l.length), l);
}

function rlpEncode(item: Rlp): Uint8Array {
  if (item instanceof Uint8Array) {
    if (item.length === 1 && item[0]! < 0x80) return item;
    return concatBytes(rlpHeader(0x80, item.length), item);
  }
  const body = concatBytes(...item.map(rlpEncode));
  return concatBytes(rlpHeader(0xc0, body.length), body);
}

function fieldsToRlp(tx: TypedTx): Rlp[] {
  const o = tx as unknown as Obj;
  const items: Rlp[] = FIELDS[tx.type].map((f): Rlp => {
    const x = o[f];
    if (f === 'to') return x === null ? new Uint8Array(0) : hexToBytes(x as Hex);
    if (f === 'data') return hexToBytes(x as Hex);
    if (f === 'accessList') {
      return (x as AccessListEntry[]).map((e) => [hexToBytes(e.address), e.storageKeys.map((k) => hexToBytes(k))]);
    }
    return bigToMinBytes(x as bigint);
  });
  if (tx.type === 'legacy') items.push(new Uint8Array(0), new Uint8Array(0)); // EIP-155: chainId, 0, 0
  return items;
}

/** The exact bytes whose keccak256 is signed. Throws E_INPUT on a malformed tx. */
export function signingPayload(tx: SignableTx): Uint8Array {
  const t = checkTx(tx, 'E_INPUT');
  if (t.type === 'personal') {
    return concatBytes(utf8(`\x19Ethereum Signed Message:\n${t.message.length}`), t.message);
  }
  const body = rlpEncode(fieldsToRlp(t));
  return t.type === 'legacy' ? body : concatBytes(Uint8Array.of(TYPE_BYTE[t.type]), body);
}

/** m32 of PROTOCOL.md §8.1: keccak256 of the signing payload (32 bytes). */
export function txDigest(tx: SignableTx): Uint8Array {
  return keccak_256(signingPayload(tx));
}

// ---------------------------------------------------------------------------------------------
// Strict RLP decoding. Linear time, bounded recursion, lengths checked against the input before
// anything is sliced, so no input can hang it or make it throw anything but E_DECODE.

const MAX_DEPTH = 8; // the deepest valid payload nests 4 lists (tx, accessList, entry, storageKeys)

class RlpError {
  constructor(
    readonly path: number[],
    readonly why: string,
  ) {}
}

function rlpDecode(buf: Uint8Array): Rlp {
  const item = (pos: number, end: number, path: number[]): [Rlp, number] => {
    const fail = (why: string): never => {
      throw new RlpError(path, why);
    };
    if (pos >= end) fail('truncated: item missing');
    const p = buf[pos]!;
    if (p < 0x80) return [buf.subarray(pos, pos + 1), pos + 1];
    const isList = p >= 0xc0;
    const short = p - (isList ? 0xc0 : 0x80);
    let len = short;
    let start = pos + 1;
    if (short > 55) {
      const lenOfLen = short - 55;
      if (lenOfLen > end - start) fail('truncated: length bytes missing');
      if (buf[start] === 0) fail('non-canonical length: leading zero');
      len = 0;
      for (let i = 0; i < lenOfLen; i++) len = len * 256 + buf[start + i]!; // ≤ 8 bytes: a finite double
      if (len <= 55) fail('non-canonical length: long form for a length ≤ 55');
      start += lenOfLen;
    }
    if (len > end - start) fail(`truncated: declared length ${len} exceeds the ${end - start} bytes available`);
    const stop = start + len;
    if (!isList) {
      if (len === 1 && buf[start]! < 0x80) fail('non-canonical: single byte below 0x80 must encode itself');
      return [buf.subarray(start, stop), stop];
    }
    if (path.length >= MAX_DEPTH) fail('lists nested too deeply');
    const out: Rlp[] = [];
    for (let q = start; q < stop;) {
      const [it, next] = item(q, stop, [...path, out.length]);
      out.push(it);
      q = next;
    }
    return [out, stop];
  };
  const [top, end] = item(0, buf.length, []);
  if (end !== buf.length) throw new RlpError([], `${buf.length - end} trailing bytes`);
  return top;
}

/** Human name of the item at `path` inside a payload of `type`, for error messages. */
function fieldName(type: TxType, path: readonly number[]): string {
  if (path.length === 0) return 'top level';
  const names: readonly string[] = FIELDS[type];
  const top = names[path[0]!] ?? `item ${path[0]}`;
  if (top !== 'accessList')
    return (
      top +
      path
        .slice(1)
        .map((i) => `[${i}]`)
        .join('')
    );
  const [, e, k, j] = path;
  const part = k === undefined ? '' : k === 0 ? '.address' : k === 1 ? '.storageKeys' : `[${k}]`;
  return `accessList${e === undefined ? '' : `[${e}]`}${part}${j === undefined ? '' : `[${j}]`}`;
}

/**
 * Strict decoder of an unsigned EIP-1559 / EIP-2930 / EIP-155 legacy signing payload. Accepts
 * exactly the byte strings that `signingPayload` produces, so that a payload has one reading.
 * Any defect throws TecdsaError('E_DECODE') naming the field.
 */
export function parseSigningPayload(bytes: Uint8Array): SignableTx {
  if (!(bytes instanceof Uint8Array)) throw new TecdsaError('E_DECODE', 'payload: expected bytes');
  if (bytes.length === 0) throw new TecdsaError('E_DECODE', 'payload: empty');
  const b0 = bytes[0]!;
  let type: Exclude<TxType, 'personal'>;
  if (b0 === 0x02) type = 'eip1559';
  else if (b0 === 0x01) type = 'eip2930';
  else if (b0 >= 0xc0) type = 'legacy';
  else if (b0 < 0x80)
    throw new TecdsaError('E_DECODE', `payload: unsupported transaction type 0x${b0.toString(16).padStart(2, '0')}`);
  else throw new TecdsaError('E_DECODE', 'payload: a legacy payload must be an RLP list');
  const fail = (path: readonly number[], why: string): never => {
    throw new TecdsaError('E_DECODE', `${type} payload: ${fieldName(type, path)}: ${why}`);
  };

  let top: Rlp;
  try {
    top = rlpDecode(type === 'legacy' ? bytes : bytes.subarray(1));
  } catch (e) {
    if (e instanceof RlpError) return fail(e.path, e.why);
    throw new TecdsaError('E_DECODE', `${type} payload: undecodable`, { cause: e });
  }
  const list = (x: Rlp, path: number[]): Rlp[] => (Array.isArray(x) ? x : fail(path, 'expected a list'));
  const str = (x: Rlp, path: number[], size?: number): Uint8Array => {
    if (Array.isArray(x)) return fail(path, 'expected a string, got a list');
    if (size !== undefined && x.length !== size) fail(path, `expected ${size} bytes, got ${x.length}`);
    return x;
  };
  const uint = (x: Rlp, path: number[]): bigint => {
    const b = str(x, path);
    if (b.length > 32) fail(path, 'integer longer than 32 bytes');
    if (b[0] === 0) fail(path, 'non-canonical integer: leading zero');
    return bytesToBig(b);
  };
  const hex = (b: Uint8Array): Hex => `0x${bytesToHex(b)}`;

  const items = list(top, []);
  const names = FIELDS[type];
  const want = names.length + (type === 'legacy' ? 2 : 0);
  if (items.length !== want) {
    const hint = type === 'legacy' ? ' (unsigned EIP-155: nonce, gasPrice, gas, to, value, data, chainId, 0, 0)' : '';
    fail([], `expected ${want} items, got ${items.length}${hint}`);
  }
  const out: Obj = { type };
  names.forEach((f, i) => {
    const x = items[i]!;
    if (f === 'to') {
      const b = str(x, [i]);
      if (b.length !== 0 && b.length !== 20) fail([i], `expected 20 bytes or empty, got ${b.length}`);
      out[f] = b.length === 0 ? null : hex(b);
    } else if (f === 'data') out[f] = hex(str(x, [i]));
    else if (f === 'accessList') {
      out[f] = list(x, [i]).map((e, j) => {
        const pair = list(e, [i, j]);
        if (pair.length !== 2) fail([i, j], `expected [address, storageKeys], got ${pair.length} items`);
        return {
          address: hex(str(pair[0]!, [i, j, 0], 20)),
          storageKeys: list(pair[1]!, [i, j, 1]).map((k, m) => hex(str(k, [i, j, 1, m], 32))),
        };
      });
    } else out[f] = uint(x, [i]);
  });
  if (type === 'legacy') {
    // The EIP-155 triple: anything else in the last two slots is a signed or pre-155 tx.
    if (uint(items[7]!, [7]) !== 0n || uint(items[8]!, [8]) !== 0n)
      fail([7], 'EIP-155 payload must end in chainId, 0, 0');
    if (out['chainId'] === 0n) fail([6], 'EIP-155 chainId must be ≥ 1');
  }
  return checkTx(out, 'E_DECODE'); // ranges; normalizes address case
}

// ---------------------------------------------------------------------------------------------
// JSON form, e.g. as the coordinator sends it:
//   {"type": "eip1559", "chainId": "1", "nonce": "0x2a", "maxPriorityFeePerGas": "1500000000",
//    "maxFeePerGas": "30000000000", "gas": "21000", "to": "0x…" | null, "value": "0",
//    "data": "0x", "accessList": [{"address": "0x…", "storageKeys": ["0x<32 bytes>"]}]}
//   {"type": "eip2930", ...same with "gasPrice" instead of the two fee fields}
//   {"type": "legacy", "nonce", "gasPrice", "gas", "to", "value", "data", "chainId"}  (EIP-155)
//   {"type": "personal", "message": "0x<bytes>"}
// Every field is required (no defaults); unknown fields are rejected. Integers are strings,
// decimal ("0", "123") or 0x-hex ("0x0", "0x7b"), without leading zeros; JSON numbers are
// rejected since they lose precision above 2^53. Addresses are lowercase or EIP-55 checksummed.
// Input is an already-parsed value (JSON.parse keeps the last of duplicate keys: parse strictly
// upstream if that matters).

function parseQuantity(v: unknown, field: string): bigint {
  const ok = typeof v === 'string' && v.length <= 80 && /^(?:0|[1-9][0-9]*|0x(?:0|[1-9a-fA-F][0-9a-fA-F]*))$/.test(v);
  if (!ok)
    throw new TecdsaError('E_DECODE', `tx.${field}: expected a decimal or 0x-hex integer string without leading zeros`);
  return BigInt(v as string);
}

export function txFromJson(value: unknown): SignableTx {
  const type = txType(value, 'E_DECODE');
  const v = value as Obj;
  checkKeys(v, ['type', ...FIELDS[type]], 'tx', 'E_DECODE');
  if (type === 'personal') {
    return { type, message: hexToBytes(checkHex(v['message'], 'tx.message', 'E_DECODE')) };
  }
  const out: Obj = { ...v };
  for (const f of FIELDS[type]) if (f in RANGE) out[f] = parseQuantity(v[f], f);
  return checkTx(out, 'E_DECODE');
}

/** The JSON form above (decimal integers, checksummed addresses); inverse of txFromJson. */
export function txToJson(tx: SignableTx): Record<string, unknown> {
  const t = checkTx(tx, 'E_INPUT');
  if (t.type === 'personal') return { type: t.type, message: `0x${bytesToHex(t.message)}` };
  const out: Obj = {};
  for (const [k, x] of Object.entries(t)) out[k] = typeof x === 'bigint' ? x.toString() : x;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Signatures in Ethereum form (PROTOCOL.md §8.4).

function checkRecid(recid: unknown): asserts recid is 0 | 1 {
  if (recid !== 0 && recid !== 1) throw new TecdsaError('E_INPUT', 'recid: expected 0 or 1');
}

/** yParity for typed txs; recid + 35 + 2·chainId for EIP-155 legacy; 27 + recid for personal_sign. */
export function ethereumV(recid: 0 | 1, tx: SignableTx): bigint {
  checkRecid(recid);
  const t = checkTx(tx, 'E_INPUT');
  if (t.type === 'personal') return 27n + BigInt(recid);
  if (t.type === 'legacy') return BigInt(recid) + 35n + 2n * t.chainId;
  return BigInt(recid);
}

function toViem(t: TypedTx): TransactionSerializable {
  const common = {
    chainId: Number(t.chainId),
    nonce: Number(t.nonce),
    gas: t.gas,
    to: t.to,
    value: t.value,
    data: t.data,
  };
  if (t.type === 'legacy') return { type: 'legacy', ...common, gasPrice: t.gasPrice };
  if (t.type === 'eip2930') return { type: 'eip2930', ...common, gasPrice: t.gasPrice, accessList: t.accessList };
  const { maxFeePerGas, maxPriorityFeePerGas, accessList } = t;
  return { type: 'eip1559', ...common, maxFeePerGas, maxPriorityFeePerGas, accessList };
}

/**
 * The signed transaction, ready for eth_sendRawTransaction. Requires low s (EIP-2), which the
 * protocol guarantees (§8.4 step 6). Personal messages are not transactions: E_INPUT.
 */
export function serializeSigned(tx: SignableTx, r: bigint, s: bigint, recid: 0 | 1): Hex {
  checkRecid(recid);
  const t = checkTx(tx, 'E_INPUT');
  if (t.type === 'personal') throw new TecdsaError('E_INPUT', 'tx.type: a personal message is not a transaction');
  if (typeof r !== 'bigint' || r < 1n || r >= SECP256K1_N) throw new TecdsaError('E_INPUT', 'r: out of range [1, n)');
  if (typeof s !== 'bigint' || s < 1n || s > HALF_N)
    throw new TecdsaError('E_INPUT', 's: out of range [1, n/2] (EIP-2 low s)');
  const vtx = toViem(t);
  const rs = { r: numberToHex(r, { size: 32 }), s: numberToHex(s, { size: 32 }) };
  let unsigned: string;
  let signed: Hex;
  try {
    unsigned = serializeTransaction(vtx);
    // viem's legacy path wants v (it derives EIP-155 v from it); typed paths want yParity.
    signed = serializeTransaction(
      vtx,
      t.type === 'legacy' ? { ...rs, v: ethereumV(recid, t) } : { ...rs, yParity: recid },
    );
  } catch (e) {
    throw new TecdsaError('E_INTERNAL', 'viem rejected a validated transaction', { cause: e });
  }
  // The broadcast bytes must describe the tx whose digest was signed; viem is a second,
  // independent encoder, so compare its unsigned form with ours before returning.
  if (unsigned !== `0x${bytesToHex(signingPayload(t))}`) {
    throw new TecdsaError('E_INTERNAL', 'viem serialization differs from the signing payload');
  }
  return signed;
}
