// Session identifiers and key-level hashes (PROTOCOL.md §6.1, §7 KG-4 step 5).
// Inside every TH input, ids and nonces are their raw 32 bytes.

import { u32 } from './bytes.ts';
import { type Point } from './curve.ts';
import { encMod, encNat, encPt } from './encoding.ts';
import { th } from './hash.ts';
import { type Profile } from './params.ts';

export interface KgSidInput {
  requestId: Uint8Array;
  walletId: Uint8Array;
  idpk1: Uint8Array;
  idpk2: Uint8Array;
  n1: Uint8Array;
  n2: Uint8Array;
}

/** sid = TH("kg-sid", [U32(1), requestId, walletId, idpk1, idpk2, n1, n2, U32(|N|), U32(|N̂|), U32(m)], 256); sizes are the profile's. */
export function kgSid(i: KgSidInput, profile: Profile): Uint8Array {
  return th(
    'kg-sid',
    [
      u32(1),
      i.requestId,
      i.walletId,
      i.idpk1,
      i.idpk2,
      i.n1,
      i.n2,
      u32(profile.nBits),
      u32(profile.nHatBits),
      u32(profile.m),
    ],
    256,
  );
}

/** sid = TH("sign-sid", [U32(1), requestId, keyId, Pt(Q), m32, n1, n2], 256). */
export function signSid(
  requestId: Uint8Array,
  keyId: Uint8Array,
  Q: Point,
  m32: Uint8Array,
  n1: Uint8Array,
  n2: Uint8Array,
): Uint8Array {
  return th('sign-sid', [u32(1), requestId, keyId, encPt(Q), m32, n1, n2], 256);
}

/** keyId = TH("keyid", [sid, Pt(Q), Nat(N), Mod(c_key, N²)], 256). */
export function keyIdOf(sid: Uint8Array, Q: Point, N: bigint, cKey: bigint): Uint8Array {
  return th('keyid', [sid, encPt(Q), encNat(N), encMod(cKey, N * N)], 256);
}

/** T_kg = TH("kg-transcript", [body(KG-1), …, body(KG-4)], 256). */
export function kgTranscriptHash(bodies: readonly Uint8Array[]): Uint8Array {
  return th('kg-transcript', bodies, 256);
}
