// Ethereum address of a public key: keccak256(X ‖ Y)[12..32], EIP-55 checksummed.

import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, utf8 } from './bytes.ts';
import { type Point } from './curve.ts';

export function ethereumAddress(Q: Point): string {
  const addr = bytesToHex(keccak_256(Q.toBytes(false).subarray(1)).subarray(12));
  const h = bytesToHex(keccak_256(utf8(addr)));
  let out = '0x';
  for (let i = 0; i < 40; i++) out += parseInt(h[i]!, 16) >= 8 ? addr[i]!.toUpperCase() : addr[i]!;
  return out;
}
