// The desktop's half of the two MPC protocols, run over the coordinator socket: the DKG that creates a wallet's key
// (KG-1 … KG-5) and the signing of one prepared withdrawal (SIGN-1 … SIGN-6). tecdsa's P2 state machines do the
// cryptography; this file moves their envelopes, reports progress, and checks what the coordinator says about the
// outcome (address, public key, transaction hash) against what this desktop's own share gives.
//
// The bank signer's identity key is pinned from the desktop's configuration (set by IT), never taken from the
// coordinator, so the coordinator can drop envelopes but cannot forge or alter them. Errors keep their codes: the
// coordinator's (SIGNER_UNAVAILABLE, POLICY_VIOLATION, …) and tecdsa's (E_*) pass through as P2Errors.
//
// Secrets: runSigning parses the share blob itself, for this one session, and keeps it only in locals that die when
// it returns (tecdsa's state machines erase their own session secrets on completion or failure); the blob stays the caller's to wipe (the worker does). runDkg returns the new share as a blob the caller
// owns and must wipe once stored. BigInts (x2) cannot be wiped, only dropped (PROTOCOL.md §13.4).

import { randomBytes } from 'node:crypto';
import { keccak256 } from 'viem';
import { type Identity, envelopeToJson } from '@tandem/tecdsa/envelope';
import { P2Keygen } from '@tandem/tecdsa/keygen';
import { P2Signer, type Signature } from '@tandem/tecdsa/sign';
import { type P2Share, encodeP2Share, parseP2Share } from '@tandem/tecdsa/shares';
import { type RingPedersenSecret } from '@tandem/tecdsa/ringPedersen';
import { type Eip1559Tx, serializeSigned, txDigest } from '@tandem/tecdsa/txDigest';
import { ethereumAddress } from '@tandem/tecdsa/address';
import { Point } from '@tandem/tecdsa/curve';
import { bitLength } from '@tandem/tecdsa/bytes';
import { systemRng } from '@tandem/tecdsa/rng';
import { FULL, TEST, type Profile, SIGN_STEP_TIMEOUT_MS } from '@tandem/tecdsa/params';
import { P2Error, toP2Error } from './errors.ts';
import { type CoordinatorSocket } from './coordinatorSocket.ts';
import { type OnProgress } from './progress.ts';
import { p2ModPow } from './modPow.ts';

/** The bank signer's key generation does the heavy Paillier work: give each DKG round longer than a signing round. */
const DKG_REQUEST_TIMEOUT_MS = 5 * 60_000;

export interface SessionParty {
  socket: CoordinatorSocket;
  /** This workstation's enrolled Ed25519 identity. */
  identity: Identity;
  /** The bank signer's identity public key, 32 bytes, from the desktop's configuration. */
  signerPublicKey: Uint8Array;
  onProgress?: OnProgress;
  /** Overrides the wait for each of the coordinator's replies. */
  requestTimeoutMs?: number;
}

export interface DkgParams extends SessionParty {
  /** The device's one-time setup (PROTOCOL.md §4.2); its size picks the parameter profile. */
  ringPedersen: RingPedersenSecret;
  /** From the coordinator's wallet view: its id and the 32-byte walletId (hex) bound into KG-1. */
  wallet: { id: string; dkgWalletId: string };
}

export interface DkgOutcome {
  /** encodeP2Share of the new share: secret, the caller's to store and wipe. */
  shareBlob: Uint8Array;
  /** EIP-55, derived from this desktop's share (and equal to what the coordinator reported). */
  address: string;
  /** Compressed public key, hex. */
  publicKey: string;
}

export interface SigningParams extends SessionParty {
  /** The wallet's P2 share blob as the vault returns it; parsed here, never kept. */
  shareBlob: Uint8Array;
  withdrawalId: string;
  /** The desktop's own digest of the reviewed transaction (reviewWithdrawal), never the coordinator's. */
  digest: Uint8Array;
  /** The reviewed transaction: when given, the coordinator's txHash is checked against the desktop's own. */
  tx?: Eip1559Tx;
  /** What the share must belong to: the wallet's 32-byte walletId (hex) and/or its address. */
  expect?: { dkgWalletId?: string; address?: string };
}

export interface SigningOutcome {
  txHash: `0x${string}`;
  /** Verified by tecdsa against the wallet's key and the digest before it is returned. */
  signature: Signature;
}

const HEX32 = /^[0-9a-f]{64}$/;
const TX_HASH = /^0x[0-9a-f]{64}$/;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function checkParty(p: SessionParty): void {
  if (!(p.signerPublicKey instanceof Uint8Array) || p.signerPublicKey.length !== 32)
    throw new P2Error('BAD_JOB', "The bank signer's identity key in the settings must be 32 bytes.", {
      field: 'signerPublicKey',
    });
}

/** The profile is fixed by the key sizes: the device setup's N̂ for a DKG, the share's N for a signing. */
function profileOf(bits: number, key: 'nHatBits' | 'nBits'): Profile {
  const p = [FULL, TEST].find((x) => x[key] === bits);
  if (!p) throw new P2Error('BAD_JOB', 'The device setup or key share has an unsupported size.');
  return p;
}

const sessionOptions = (p: SessionParty, profile: Profile) => ({
  identity: p.identity,
  peerPublicKey: p.signerPublicKey,
  requestId: randomBytes(32),
  rng: systemRng,
  modPow: p2ModPow(),
  now: Date.now,
  profile,
});

function sameSession(first: { sessionId: string }, next: { sessionId: string }): void {
  if (next.sessionId !== first.sessionId)
    throw new P2Error('BAD_FRAME', 'The coordinator answered for another session. Try again.');
}

/** Runs P2's DKG for a wallet; returns the new share (as a blob) and the address it gives. */
export async function runDkg(p: DkgParams): Promise<DkgOutcome> {
  checkParty(p);
  if (!HEX32.test(p.wallet.dkgWalletId))
    throw new P2Error('BAD_JOB', "The wallet's key id is malformed.", { field: 'wallet.dkgWalletId' });
  const progress = p.onProgress ?? (() => {});
  const timeoutMs = p.requestTimeoutMs ?? DKG_REQUEST_TIMEOUT_MS;
  const profile = profileOf(bitLength(p.ringPedersen.Nhat), 'nHatBits');
  const keygen = new P2Keygen(
    { ...sessionOptions(p, profile), walletId: Buffer.from(p.wallet.dkgWalletId, 'hex') },
    p.ringPedersen,
  );
  try {
    progress({ step: 'round 1 of 3' });
    const kg1 = keygen.start().send!;
    const kg2 = await p.socket.request(
      { type: 'dkg_start', walletId: p.wallet.id, envelope: envelopeToJson(kg1) },
      'dkg_round',
      { timeoutMs },
    );
    progress({ step: 'round 2 of 3' });
    const kg3 = (await keygen.receive(kg2.envelope)).send!;
    const kg4 = await p.socket.request(
      { type: 'dkg_round', sessionId: kg2.sessionId, envelope: envelopeToJson(kg3) },
      'dkg_round',
      { timeoutMs },
    );
    sameSession(kg2, kg4);
    progress({ step: 'round 3 of 3' });
    const last = await keygen.receive(kg4.envelope);
    const share = last.result!;
    progress({ step: 'waiting for the bank signer' });
    const complete = await p.socket.request(
      { type: 'dkg_round', sessionId: kg2.sessionId, envelope: envelopeToJson(last.send!) },
      'dkg_complete',
      { timeoutMs },
    );
    sameSession(kg2, complete);
    const address = ethereumAddress(share.Q);
    // Both sides must hold the same key before the share is stored and the wallet can become ACTIVE.
    if (complete.walletId !== p.wallet.id || !sameKey(complete, share, address))
      throw new P2Error(
        'KEY_MISMATCH',
        "The bank signer's key for this wallet does not match this computer's. Nothing was stored; tell your administrator.",
      );
    return { shareBlob: encodeP2Share(share), address, publicKey: hex(share.Q.toBytes(true)) };
  } catch (e) {
    keygen.cancel();
    throw toP2Error(e);
  }
}

function sameKey(complete: { publicKey: string; address: string }, share: P2Share, address: string): boolean {
  try {
    return (
      complete.address.toLowerCase() === address.toLowerCase() &&
      Point.fromBytes(Buffer.from(complete.publicKey, 'hex')).equals(share.Q)
    );
  } catch {
    return false; // not a curve point
  }
}

/** Runs P2's half of signing one prepared withdrawal; returns the verified signature and the transaction hash. */
export async function runSigning(p: SigningParams): Promise<SigningOutcome> {
  checkParty(p);
  if (!(p.digest instanceof Uint8Array) || p.digest.length !== 32)
    throw new P2Error('BAD_JOB', 'The digest to sign must be 32 bytes.', { field: 'digest' });
  if (p.tx && hex(txDigest(p.tx)) !== hex(p.digest))
    throw new P2Error('DISPLAY_MISMATCH', 'The digest to sign is not the reviewed transaction’s. Nothing was signed.', {
      field: 'digest',
    });
  const progress = p.onProgress ?? (() => {});
  const timeoutMs = p.requestTimeoutMs ?? SIGN_STEP_TIMEOUT_MS;
  // The parsed share and the signer holding it are referenced from these locals only: they die with this call.
  const share = shareFor(p.shareBlob, p.expect);
  const signer = new P2Signer({
    ...sessionOptions(p, profileOf(bitLength(share.N), 'nBits')),
    m32: p.digest,
    share,
  });
  try {
    progress({ step: 'round 1 of 3' });
    const sign1 = signer.start().send!;
    const s2 = await p.socket.request(
      { type: 'sign_start', withdrawalId: p.withdrawalId, envelope: envelopeToJson(sign1) },
      'sign_round',
      { timeoutMs },
    );
    progress({ step: 'round 2 of 3' });
    const sign3 = (await signer.receive(s2.envelope)).send!;
    const s4 = await p.socket.request(
      { type: 'sign_round', sessionId: s2.sessionId, envelope: envelopeToJson(sign3) },
      'sign_round',
      { timeoutMs },
    );
    sameSession(s2, s4);
    progress({ step: 'round 3 of 3' });
    const sign5 = (await signer.receive(s4.envelope)).send!;
    progress({ step: 'waiting for the bank signer' });
    // SIGN-6: tecdsa checks the signature against this wallet's key and the desktop's digest (E_BAD_SIGNATURE). It
    // starts when sign_result brings SIGN-6 ahead, while the coordinator checks and stores it; only sign_complete,
    // with the same envelope, makes the signing done.
    let ahead: { envelope: string; checked: Promise<Signature> } | undefined;
    const complete = await p.socket.request(
      { type: 'sign_round', sessionId: s2.sessionId, envelope: envelopeToJson(sign5) },
      'sign_complete',
      {
        timeoutMs,
        onAhead: (f) => {
          if (ahead) return;
          ahead = { envelope: f.envelope, checked: signer.receive(f.envelope).then((step) => step.result!) };
          ahead.checked.catch(() => {}); // awaited below, once the coordinator has answered
        },
      },
    );
    sameSession(s2, complete);
    if (ahead && ahead.envelope !== complete.envelope)
      throw new P2Error(
        'BAD_FRAME',
        'The coordinator sent two different signatures for one signing. Tell your administrator.',
      );
    const signature = await (ahead?.checked ?? signer.receive(complete.envelope).then((step) => step.result!));
    const txHash = checkedTxHash(complete, p, signature);
    progress({ step: 'done' });
    return { txHash, signature };
  } catch (e) {
    signer.cancel();
    throw toP2Error(e);
  }
}

function shareFor(blob: Uint8Array, expect: SigningParams['expect']): P2Share {
  let share: P2Share;
  try {
    share = parseP2Share(blob);
  } catch (e) {
    throw new P2Error(
      'SHARE_CORRUPTED',
      'The key share stored for this wallet is damaged, so Tandem will not use it. Nothing was deleted. ' +
        'Restore the wallet from its backup file, or contact support.',
      { source: 'vault', cause: e },
    );
  }
  const wrong =
    (expect?.dkgWalletId !== undefined && hex(share.walletId) !== expect.dkgWalletId.toLowerCase()) ||
    (expect?.address !== undefined && ethereumAddress(share.Q).toLowerCase() !== expect.address.toLowerCase());
  if (wrong)
    throw new P2Error(
      'WRONG_SHARE',
      'The key share stored under this wallet belongs to another wallet, so nothing was signed. Contact support.',
    );
  return share;
}

/** The coordinator's hash of the signed transaction, checked against the desktop's own when it has the tx. */
function checkedTxHash(
  complete: { withdrawalId: string; txHash: string },
  p: SigningParams,
  sig: Signature,
): `0x${string}` {
  if (complete.withdrawalId !== p.withdrawalId || !TX_HASH.test(complete.txHash))
    throw new P2Error('BAD_FRAME', 'The coordinator reported the result for another withdrawal.');
  if (!p.tx) return complete.txHash as `0x${string}`;
  const ours = keccak256(serializeSigned(p.tx, sig.r, sig.s, sig.recid));
  if (ours !== complete.txHash)
    throw new P2Error(
      'DISPLAY_MISMATCH',
      'The coordinator reports a different transaction hash from the one this computer signed. Tell your administrator.',
      { field: 'txHash' },
    );
  return ours;
}
