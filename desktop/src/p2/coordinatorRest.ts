// REST calls to the coordinator, for main (every screen's data) and the P2 worker. The worker makes one: share-stored, which tells the coordinator that this desktop holds its share
// of a new wallet's key (and which address that share gives), so that the wallet becomes ACTIVE. It lives here, next
// to the DKG, because the DKG job is done only once both shares are stored; main can call it again after
// SHARE_NOT_CONFIRMED (it needs no secret, only the address).
//
// node:https rather than fetch: Node's fetch cannot be given a CA without undici's Agent, which the desktop does not
// depend on. Same trust rules as the socket (trust.ts).

import { request } from 'node:https';
import { P2Error } from './errors.ts';
import { type CoordinatorEndpoint, coordinatorBase, trustOptions } from './trust.ts';

const TIMEOUT_MS = 30_000;
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface Reply {
  status: number;
  json: Record<string, unknown>;
}

/** One call; resolves with any HTTP status (the caller decides), rejects with CONNECTION_FAILED. */
export function callCoordinator(
  endpoint: Pick<CoordinatorEndpoint, 'url' | 'caFile'> & { token?: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply> {
  const url = new URL(path, coordinatorBase(endpoint.url));
  const payload = body === undefined ? '' : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ...trustOptions(endpoint.caFile),
        headers: {
          ...(endpoint.token ? { authorization: `Bearer ${endpoint.token}` } : {}),
          ...(payload ? { 'content-type': 'application/json' } : {}),
          'content-length': Buffer.byteLength(payload),
        },
        timeout: TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) req.destroy(new Error('reply too large'));
          else chunks.push(c);
        });
        res.on('end', () => {
          let json: Record<string, unknown> = {};
          try {
            const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
            if (typeof v === 'object' && v !== null && !Array.isArray(v)) json = v as Record<string, unknown>;
          } catch {
            // Not JSON: the status decides below.
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e: Error & { code?: string }) =>
      reject(
        new P2Error(
          'CONNECTION_FAILED',
          `Tandem cannot reach the coordinator${e.code ? ` (${e.code})` : ''}. Check the network and try again.`,
          { cause: e },
        ),
      ),
    );
    req.end(payload);
  });
}

/** The coordinator's refusal as a P2Error with its code and message. */
export function refused(r: Reply): P2Error {
  const err = r.json['error'] as { code?: unknown; message?: unknown } | undefined;
  const code = typeof err?.code === 'string' ? err.code : r.status === 401 ? 'UNAUTHENTICATED' : 'INTERNAL';
  const message = typeof err?.message === 'string' ? err.message : `The coordinator answered HTTP ${r.status}.`;
  return new P2Error(code, message, { source: 'coordinator' });
}

/**
 * POST /api/v1/wallets/:id/share-stored with the address this desktop's share gives. Resolves once the coordinator
 * reports the wallet ACTIVE at that address; its codes (e.g. INVALID_STATE for address_mismatch) come through.
 */
export async function confirmShareStored(
  endpoint: CoordinatorEndpoint,
  walletId: string,
  address: string,
): Promise<{ status: string; address: string }> {
  const r = await callCoordinator(endpoint, 'POST', `/api/v1/wallets/${encodeURIComponent(walletId)}/share-stored`, {
    address,
  });
  if (r.status !== 200) throw refused(r);
  const status = r.json['status'];
  const active = r.json['address'];
  if (status !== 'ACTIVE' || typeof active !== 'string' || active.toLowerCase() !== address.toLowerCase())
    throw new P2Error('KEY_MISMATCH', 'The coordinator did not activate the wallet at the address of this share.');
  return { status, address: active };
}
