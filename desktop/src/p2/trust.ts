// Which certificate authorities the desktop trusts for the coordinator, for both the WSS socket and REST calls:
// the CA file IT configured (a private PKI, or the local stack's dev CA), or else Node's default store (the bundled
// Mozilla roots; the OS store where Node is started with --use-system-ca or NODE_EXTRA_CA_CERTS adds to it).
// A configured CA replaces the default store rather than adding to it, so a public CA cannot vouch for a private
// coordinator. Certificate checking is never turned off.

import { readFileSync } from 'node:fs';
import { P2Error } from './errors.ts';

export interface CoordinatorEndpoint {
  /** https://host[:port] of the coordinator (the WSS endpoint is derived from it). */
  url: string;
  /** The signed-in user's bearer token. */
  token: string;
  /** PEM file of the CA that issued the coordinator's certificate; the default store when absent. */
  caFile?: string;
}

/** TLS options for https.request and ws: `ca` only when one is configured. */
export function trustOptions(caFile: string | undefined): { ca?: Buffer } {
  if (caFile === undefined) return {};
  try {
    return { ca: readFileSync(caFile) };
  } catch (e) {
    throw new P2Error(
      'CONNECTION_FAILED',
      "The coordinator's certificate authority file in the settings cannot be read. Ask IT to check the setting.",
      { cause: e },
    );
  }
}

/** The coordinator's base URL, refusing anything but https (the bearer token never travels in clear). */
export function coordinatorBase(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new P2Error('CONNECTION_FAILED', 'The coordinator address in the settings is not a valid URL.');
  }
  if (u.protocol !== 'https:')
    throw new P2Error('CONNECTION_FAILED', 'The coordinator address in the settings must start with https://.');
  return u;
}

/** wss://host[:port]/api/v1/mpc for the coordinator at `url`. */
export function mpcUrl(url: string): string {
  const u = coordinatorBase(url);
  return `wss://${u.host}/api/v1/mpc`;
}
