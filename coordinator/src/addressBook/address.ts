// Reading an Ethereum address typed or pasted by a person. All-lowercase and all-uppercase hex
// carry no checksum and are accepted; mixed case is an EIP-55 checksum and must be right, because
// a wrong one almost always means a mistyped or altered address. Stored in EIP-55 form, so one
// address has one spelling (the unique index on live entries relies on it).

import { getAddress, type Address } from 'viem';
import { ApiError } from '../errors.ts';

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const ZERO = '0x0000000000000000000000000000000000000000';

export function parseAddress(input: string): Address {
  if (!HEX_ADDRESS.test(input))
    throw new ApiError('BAD_REQUEST', 'address: expected 0x and 40 hex digits', { reason: 'not_an_address' });
  const hex = input.slice(2);
  const checksummed = getAddress(`0x${hex.toLowerCase()}`);
  const mixedCase = hex !== hex.toLowerCase() && hex !== hex.toUpperCase();
  if (mixedCase && checksummed !== input)
    throw new ApiError('BAD_REQUEST', 'address: the EIP-55 checksum (its mixed case) is wrong: check for a typo', {
      reason: 'bad_checksum',
    });
  // Funds sent there are burnt: never a payee a treasury means to approve.
  if (checksummed === ZERO)
    throw new ApiError('BAD_REQUEST', 'address: the zero address burns what it receives', { reason: 'zero_address' });
  return checksummed;
}
