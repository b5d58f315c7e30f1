// What the review screen shows before the user types their password, computed by the desktop itself
// (DESIGN.md: the desktop recomputes the transaction hash from the fields it shows and never signs a bare hash).
//
// prepare-signing hands over the unsigned transaction in tecdsa's JSON form and the coordinator's digest of it. The
// desktop parses the transaction strictly, checks that it is a plain EIP-1559 transfer of exactly what was approved
// (recipient, amount) on the chain this desktop is configured for, with no call data and no access list (nothing
// the screen does not show), hashes it with its own code and compares that with the coordinator's digest. The
// digest that is then signed is the desktop's own. Any difference is DISPLAY_MISMATCH naming the field, and nothing
// is signed.
//
// Main calls this to fill the review screen; the P2 worker calls it again on the same inputs before it unlocks the
// share, so what is signed is what was shown even if main's copy were tampered with in between.

import { type Eip1559Tx, txDigest, txFromJson } from '@tandem/tecdsa/txDigest';
import { P2Error } from './errors.ts';

export interface ApprovedWithdrawal {
  /** The recipient the approvers approved. */
  to: string;
  /** Decimal string (as the coordinator's REST API gives it) or bigint. */
  amountWei: string | bigint;
  /** The chain the withdrawal is for: the desktop's configured chain, never one the coordinator names. */
  chainId: number | bigint;
}

export interface PreparedSigning {
  /** prepare-signing's `tx` (tecdsa txToJson form), as received. */
  tx: unknown;
  /** prepare-signing's `digest`: 64 hex digits. Compared, never signed. */
  digest: string;
}

export interface WithdrawalReview {
  /** EIP-55 checksummed. */
  to: `0x${string}`;
  valueWei: bigint;
  chainId: bigint;
  nonce: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  gas: bigint;
  /** gas × maxFeePerGas: the most this transaction can cost in fees. */
  maxFeeWei: bigint;
  /** The desktop's own digest, 0x-prefixed. */
  digestHex: `0x${string}`;
  /** What is signed: the desktop's digest of `tx`. */
  digest: Uint8Array;
  /** The parsed transaction the digest was computed from. */
  tx: Eip1559Tx;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const WEI = /^(0|[1-9][0-9]{0,77})$/;
const DIGEST = /^(?:0x)?[0-9a-fA-F]{64}$/;

const WHAT: Record<string, string> = {
  tx: 'the transaction cannot be read',
  type: 'it is not a standard (EIP-1559) transaction',
  chainId: 'it is for another network',
  to: 'the recipient differs',
  value: 'the amount differs',
  data: 'it carries extra call data',
  accessList: 'it carries an access list',
  digest: "the coordinator's transaction hash differs from the one this computer calculated",
};

function mismatch(field: keyof typeof WHAT, cause?: unknown): P2Error {
  return new P2Error(
    'DISPLAY_MISMATCH',
    `The transaction the coordinator prepared does not match what was approved: ${WHAT[field]}. ` +
      'Nothing was signed. Do not sign it; tell your administrator.',
    { field, cause },
  );
}

/** main's inputs are checked too: a malformed one is a bug in the caller, reported as BAD_JOB naming the field. */
function badInput(field: string): P2Error {
  return new P2Error('BAD_JOB', `The review was given a malformed ${field}.`, { field });
}

function approvedFields(a: ApprovedWithdrawal): { to: string; amount: bigint; chainId: bigint } {
  if (typeof a?.to !== 'string' || !ADDRESS.test(a.to)) throw badInput('approved.to');
  const amt = a.amountWei;
  if (!(typeof amt === 'bigint' ? amt >= 0n : typeof amt === 'string' && WEI.test(amt)))
    throw badInput('approved.amountWei');
  const chain = a.chainId;
  const chainOk =
    typeof chain === 'bigint' ? chain > 0n : typeof chain === 'number' && Number.isSafeInteger(chain) && chain > 0;
  if (!chainOk) throw badInput('approved.chainId');
  return { to: a.to.toLowerCase(), amount: BigInt(amt), chainId: BigInt(chain) };
}

/**
 * Checks the prepared transaction against what was approved and returns what to show. `configuredChainId`, when
 * given, is the desktop's own setting, and must equal the approved chain too.
 */
export function reviewWithdrawal(
  approved: ApprovedWithdrawal,
  prepared: PreparedSigning,
  configuredChainId?: number | bigint,
): WithdrawalReview {
  const want = approvedFields(approved);
  if (typeof prepared?.digest !== 'string' || !DIGEST.test(prepared.digest)) throw mismatch('digest');
  let parsed;
  try {
    parsed = txFromJson(prepared.tx);
  } catch (e) {
    throw mismatch('tx', e);
  }
  if (parsed.type !== 'eip1559') throw mismatch('type');
  const tx = parsed;
  if (tx.chainId !== want.chainId) throw mismatch('chainId');
  if (configuredChainId !== undefined && BigInt(configuredChainId) !== tx.chainId) throw mismatch('chainId');
  if (tx.to === null || tx.to.toLowerCase() !== want.to) throw mismatch('to');
  if (tx.value !== want.amount) throw mismatch('value');
  if (tx.data !== '0x') throw mismatch('data');
  if (tx.accessList.length !== 0) throw mismatch('accessList');
  const digest = txDigest(tx);
  const digestHex = `0x${Buffer.from(digest).toString('hex')}` as const;
  if (digestHex.slice(2) !== prepared.digest.replace(/^0x/, '').toLowerCase()) throw mismatch('digest');
  return {
    to: tx.to,
    valueWei: tx.value,
    chainId: tx.chainId,
    nonce: tx.nonce,
    maxFeePerGas: tx.maxFeePerGas,
    maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
    gas: tx.gas,
    maxFeeWei: tx.gas * tx.maxFeePerGas,
    digestHex,
    digest,
    tx,
  };
}
