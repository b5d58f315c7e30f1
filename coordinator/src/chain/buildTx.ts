// Builds the unsigned EIP-1559 transaction of a withdrawal in tecdsa's Eip1559Tx form: the form
// whose txDigest the signer and the desktop each recompute, and whose txToJson the coordinator
// stores in withdrawals.tx_json and sends to the desktop. Chain id and fees come from the node
// at build time; the nonce comes from allocateNonce.

import { getAddress, isAddress, isHex, type Address, type Hex } from 'viem';
import { type Eip1559Tx } from '@tandem/tecdsa/txDigest';
import { ApiError } from '../errors.ts';
import { type ChainClient } from './client.ts';

/** Gas of a plain ETH transfer to an address without code (all our wallets and most payees). */
export const TRANSFER_GAS = 21_000n;

export interface TransferRequest {
  to: string;
  valueWei: bigint;
  nonce: number | bigint;
  /** Call data; omitted for a plain ETH transfer. */
  data?: Hex;
}

const U256_MAX = (1n << 256n) - 1n;

/**
 * The least gas the node accepts for this data (intrinsic gas: base cost plus calldata, and the
 * EIP-7623 calldata floor since Prague). A contract call needs more for its execution; that is
 * the caller's estimate to make.
 */
export function intrinsicGas(data: Hex): bigint {
  let zero = 0n;
  let nonZero = 0n;
  for (let i = 2; i < data.length; i += 2) {
    if (data.slice(i, i + 2) === '00') zero++;
    else nonZero++;
  }
  const standard = 21_000n + 4n * zero + 16n * nonZero;
  const floor = 21_000n + 10n * (zero + 4n * nonZero);
  return standard > floor ? standard : floor;
}

export async function buildEip1559(
  chain: ChainClient,
  req: TransferRequest,
  gas: bigint = TRANSFER_GAS,
): Promise<Eip1559Tx> {
  // isAddress is strict: mixed case must carry a valid EIP-55 checksum (a wrong one means a typo).
  if (typeof req.to !== 'string' || !isAddress(req.to))
    throw new ApiError('BAD_REQUEST', 'to: not an Ethereum address (or its EIP-55 checksum is wrong)');
  if (typeof req.valueWei !== 'bigint' || req.valueWei < 0n || req.valueWei > U256_MAX)
    throw new ApiError('BAD_REQUEST', 'valueWei: expected an amount in wei, at least 0');
  const n = req.nonce;
  const nonce = typeof n === 'bigint' ? n : Number.isSafeInteger(n) ? BigInt(n) : -1n;
  if (nonce < 0n || nonce > BigInt(Number.MAX_SAFE_INTEGER))
    throw new ApiError('BAD_REQUEST', 'nonce: expected a non-negative integer');
  const data = (req.data ?? '0x').toLowerCase() as Hex;
  if (!isHex(data, { strict: true }) || data.length % 2 !== 0)
    throw new ApiError('BAD_REQUEST', 'data: expected 0x-prefixed bytes');
  if (gas < intrinsicGas(data))
    throw new ApiError('BAD_REQUEST', `gas: ${gas} is below the ${intrinsicGas(data)} this data needs`);

  const fees = await chain.fees();
  return {
    type: 'eip1559',
    chainId: BigInt(chain.chainId),
    nonce,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    maxFeePerGas: fees.maxFeePerGas,
    gas,
    to: getAddress(req.to) as Address,
    value: req.valueWei,
    data,
    accessList: [],
  };
}
