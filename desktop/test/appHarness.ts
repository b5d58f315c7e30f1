// A real stack (anvil, signer daemon, coordinator) and desktop app profiles pointed at it, for the app's
// integration tests and the Playwright specs.

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createWalletClient, http, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ANVIL_FUNDER } from '@tandem/coordinator/src/chain/anvil.ts';
import { startStack, type Stack } from '@tandem/coordinator/test/stack.ts';
import { createDesktopApp, type DesktopAppOptions } from '../src/main/app.ts';
import { type SettingsDefaults } from '../src/main/settings.ts';

export { startStack, type Stack };

export function stackDefaults(s: Stack): SettingsDefaults {
  return {
    coordinatorUrl: `https://localhost:${s.coordinator.port}`,
    coordinatorCaFile: s.caCert,
    signerPublicKey: Buffer.from(s.signerIdentity).toString('hex'),
    chainId: 31337,
  };
}

/** Options for one app profile on this stack (a fresh profile directory unless given). */
export async function profileOptions(
  s: Stack,
  appOrigin: string,
  extra: Partial<DesktopAppOptions> = {},
): Promise<DesktopAppOptions> {
  return {
    profileDir: await mkdtemp(path.join(tmpdir(), 'tandem-profile-')),
    appOrigin,
    defaults: stackDefaults(s),
    // No machine policy file here, whatever this machine has in /etc.
    policyFile: path.join(tmpdir(), 'tandem-no-policy.json'),
    ...extra,
  };
}

export const newApp = async (s: Stack, appOrigin: string, extra: Partial<DesktopAppOptions> = {}) =>
  createDesktopApp(await profileOptions(s, appOrigin, extra));

/** Sends ETH from anvil's funded dev account. */
export async function fund(s: Stack, to: string, wei: bigint): Promise<Hex> {
  const funder = createWalletClient({
    account: privateKeyToAccount(ANVIL_FUNDER.privateKey),
    transport: http(s.anvil.rpcUrl),
  });
  return funder.sendTransaction({ to: to as Hex, value: wei, chain: null });
}
