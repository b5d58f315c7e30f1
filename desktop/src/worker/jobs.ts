// The contract between main and the P2 worker: the jobs main sends (one per worker), the messages the worker sends
// back, and the strict parser the worker applies to a job before touching anything (main is trusted, but the
// worker's edge is still an edge: a malformed job is BAD_JOB naming the field, never a half-run job).
//
//   main → worker   { job: 'setup' | 'dkg' | 'sign', id, password, vault, ... }
//   worker → main   { id, progress: { step } }*   then exactly one of   { id, result }   { id, error: WireError }
//
// Secrets travel one way only, into the worker: the password and the device identity seed. Results and errors
// carry public values (addresses, hashes, signatures, codes); shares never leave the worker at all.

import { type WireError, P2Error } from '../p2/errors.ts';
import { type P2Progress } from '../p2/progress.ts';
import { type ApprovedWithdrawal, type PreparedSigning } from '../p2/review.ts';
import { type CoordinatorEndpoint } from '../p2/trust.ts';

export interface VaultLocation {
  /** The app profile's vault directory. */
  dir: string;
  /** Names the profile's device key in the OS keychain. */
  profileId: string;
}

interface JobBase {
  id: string;
  password: string;
  vault: VaultLocation;
}

export interface DeviceKeys {
  /** This workstation's enrolled Ed25519 identity seed, 32 bytes. The worker wipes its copy when the job ends. */
  identitySeed: Uint8Array;
  /** The bank signer's identity public key (64 hex digits), pinned in the desktop's configuration by IT. */
  signerPublicKey: string;
}

/** The device's one-time ring-Pedersen setup, stored in the vault under the password. */
export interface SetupJob extends JobBase {
  job: 'setup';
  /** 'full' unless a test stack runs the small test profile. */
  profile?: 'full' | 'test';
}

/** A new wallet's key: DKG, store the share, then share-stored so the wallet becomes ACTIVE. */
export interface DkgJob extends JobBase {
  job: 'dkg';
  coordinator: CoordinatorEndpoint;
  device: DeviceKeys;
  /** From the coordinator's wallet view. */
  wallet: { id: string; dkgWalletId: string };
}

/** The desktop's half of the signature of one approved and prepared withdrawal. */
export interface SignJob extends JobBase {
  job: 'sign';
  coordinator: CoordinatorEndpoint;
  device: DeviceKeys;
  /** From the coordinator's wallet view; `address` (when ACTIVE) is checked against the share. */
  wallet: { id: string; dkgWalletId: string; address?: string };
  withdrawalId: string;
  /** What the review screen showed as approved, and the chain this desktop is configured for. */
  approved: ApprovedWithdrawal;
  /** prepare-signing's tx and digest, as received. */
  prepared: PreparedSigning;
}

export type P2Job = SetupJob | DkgJob | SignJob;

export interface SetupResult {
  stored: true;
}
export interface DkgResult {
  walletId: string;
  /** EIP-55 address of the new wallet: ACTIVE at the coordinator when this is returned. */
  address: string;
  publicKey: string;
}
export interface SignResult {
  withdrawalId: string;
  /** The desktop's own hash of the signed transaction (equal to the coordinator's). */
  txHash: `0x${string}`;
  signature: { r: `0x${string}`; s: `0x${string}`; recid: 0 | 1 };
}

export interface ResultOf {
  setup: SetupResult;
  dkg: DkgResult;
  sign: SignResult;
}

export type WorkerMessage =
  | { id: string; progress: P2Progress }
  | { id: string; result: ResultOf[P2Job['job']] }
  | { id: string; error: WireError };

// ---------------------------------------------------------------------------------------------------------------
// The worker's edge. Field names only in errors: a value may be the password.

type Obj = Record<string, unknown>;

const badJob = (field: string) =>
  new P2Error('BAD_JOB', `Tandem's key worker was given a malformed job (${field}).`, { field });

function obj(v: unknown, field: string, keys: readonly string[], optional: readonly string[] = []): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) throw badJob(field);
  const o = v as Obj;
  for (const k of Object.keys(o)) if (!keys.includes(k) && !optional.includes(k)) throw badJob(`${field}.${k}`);
  for (const k of keys) if (!Object.hasOwn(o, k)) throw badJob(`${field}.${k}`);
  return o;
}

function str(o: Obj, k: string, field: string, re: RegExp = /^.{1,4096}$/s): string {
  const v = o[k];
  if (typeof v !== 'string' || !re.test(v)) throw badJob(`${field}.${k}`);
  return v;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const HEX32 = /^[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function vaultLocation(v: unknown): VaultLocation {
  const o = obj(v, 'vault', ['dir', 'profileId']);
  return { dir: str(o, 'dir', 'vault'), profileId: str(o, 'profileId', 'vault') };
}

function endpoint(v: unknown): CoordinatorEndpoint {
  const o = obj(v, 'coordinator', ['url', 'token'], ['caFile']);
  const e: CoordinatorEndpoint = { url: str(o, 'url', 'coordinator'), token: str(o, 'token', 'coordinator') };
  if (o['caFile'] !== undefined) e.caFile = str(o, 'caFile', 'coordinator');
  return e;
}

function deviceKeys(v: unknown): DeviceKeys {
  const o = obj(v, 'device', ['identitySeed', 'signerPublicKey']);
  const seed = o['identitySeed'];
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw badJob('device.identitySeed');
  return { identitySeed: seed, signerPublicKey: str(o, 'signerPublicKey', 'device', HEX32) };
}

function wallet(v: unknown, withAddress: boolean): SignJob['wallet'] {
  const o = obj(v, 'wallet', ['id', 'dkgWalletId'], withAddress ? ['address'] : []);
  const w: SignJob['wallet'] = { id: str(o, 'id', 'wallet', ID), dkgWalletId: str(o, 'dkgWalletId', 'wallet', HEX32) };
  if (o['address'] !== undefined) w.address = str(o, 'address', 'wallet', ADDRESS);
  return w;
}

/** The job main sent, checked field by field; BAD_JOB names the first malformed one. */
export function parseJob(msg: unknown): P2Job {
  const top = obj(
    msg,
    'job',
    ['job', 'id', 'password', 'vault'],
    ['profile', 'coordinator', 'device', 'wallet', 'withdrawalId', 'approved', 'prepared'],
  );
  const base = { id: str(top, 'id', 'job', ID), password: str(top, 'password', 'job') };
  const vault = vaultLocation(top['vault']);
  const only = (allowed: string[]) => {
    for (const k of Object.keys(top))
      if (!['job', 'id', 'password', 'vault', ...allowed].includes(k)) throw badJob(`job.${k}`);
  };
  switch (top['job']) {
    case 'setup': {
      only(['profile']);
      const profile = top['profile'];
      if (profile !== undefined && profile !== 'full' && profile !== 'test') throw badJob('job.profile');
      return { job: 'setup', ...base, vault, ...(profile ? { profile } : {}) };
    }
    case 'dkg': {
      only(['coordinator', 'device', 'wallet']);
      const { id, dkgWalletId } = wallet(top['wallet'], false);
      return {
        job: 'dkg',
        ...base,
        vault,
        coordinator: endpoint(top['coordinator']),
        device: deviceKeys(top['device']),
        wallet: { id, dkgWalletId },
      };
    }
    case 'sign': {
      only(['coordinator', 'device', 'wallet', 'withdrawalId', 'approved', 'prepared']);
      // approved and prepared are checked by reviewWithdrawal, which names the field that differs.
      const approved = obj(top['approved'], 'approved', ['to', 'amountWei', 'chainId']);
      const prepared = obj(top['prepared'], 'prepared', ['tx', 'digest']);
      return {
        job: 'sign',
        ...base,
        vault,
        coordinator: endpoint(top['coordinator']),
        device: deviceKeys(top['device']),
        wallet: wallet(top['wallet'], true),
        withdrawalId: str(top, 'withdrawalId', 'job', ID),
        approved: approved as unknown as ApprovedWithdrawal,
        prepared: prepared as unknown as PreparedSigning,
      };
    }
    default:
      throw badJob('job.job');
  }
}

/** The job's id if it has a usable one, so even a BAD_JOB answer reaches the right caller. */
export function jobIdOf(msg: unknown): string {
  const id = typeof msg === 'object' && msg !== null ? (msg as Obj)['id'] : undefined;
  return typeof id === 'string' && ID.test(id) ? id : 'unknown';
}
