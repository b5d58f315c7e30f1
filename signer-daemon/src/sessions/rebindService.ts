// RebindDevice: a keyset moved to another workstation. A user who restores their key share's
// backup on a new workstation has a new Ed25519 identity key; after an administrator approved the
// move, the coordinator sends a RebindPermit naming that key, and from then on only it may take
// part in the keyset's signing sessions. Only an ACTIVE keyset moves: a frozen one is never moved
// (its way out is the sweep of PROTOCOL.md §9.4, not a new workstation).
//
// The permit is spent in the same transaction that changes the binding and audits it, in the
// used_permits table signing permits use (one namespace of permit ids: a rebind permit cannot
// reuse a signing permit's id, nor the other way round). Its row's tx_request_id is the marker
// `rebind/<permit_id>`: '/' is outside the permit id alphabet, so no signing permit's
// tx_request_id can ever equal it, and the marker tells a spent rebind permit from a spent
// signing permit with the same id. A retry of the same permit after a lost answer succeeds
// without change if the keyset is still bound to the key it names; any other reuse is
// PERMIT_REPLAYED.
//
// Signing sessions already RUNNING keep the device key they started with: SigningService hands
// the keyset's devicePublicKey to P1Signer when the session starts, so they finish (or fail)
// with the old workstation; every session started after the commit needs the new one.

import { type RebindPermit } from '@tandem/proto/mpc';
import { SignerError } from '../errors.ts';
import { type SignerContext } from '../context.ts';
import { type Keyset } from '../store/keysets.ts';
import { checkRebindPermit } from '../permits/checkPermit.ts';
import { keysetIdOf } from './inputs.ts';

export interface RebindInput {
  keysetId: string;
  permit: RebindPermit | undefined;
}

/** used_permits.tx_request_id of a spent rebind permit (see above). */
export const rebindMarker = (permitId: string): string => `rebind/${permitId}`;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export class RebindService {
  constructor(private readonly ctx: SignerContext) {}

  rebind(input: RebindInput): Keyset {
    const c = this.ctx;
    const keysetId = keysetIdOf(input.keysetId);
    const now = c.now();
    const permit = checkRebindPermit(input.permit, { keysetId }, c.permitKeys, c.permitPolicy, now);
    const to = Buffer.from(permit.devicePublicKey);
    // IMMEDIATE: the write lock is taken before the status and the permit are read, so the admin
    // CLI's connection cannot freeze the keyset or spend anything in between.
    const out = c.db
      .transaction((): { keyset: Keyset; changed: boolean; from?: string } => {
        const keyset = c.keysets.require(keysetId);
        if (keyset.status === 'FROZEN') throw new SignerError('KEYSET_FROZEN', `keyset ${keysetId} is frozen`);
        if (keyset.status === 'RETIRED') throw new SignerError('KEYSET_RETIRED', `keyset ${keysetId} is retired`);
        const used = c.db
          .prepare('SELECT keyset_id, tx_request_id FROM used_permits WHERE permit_id = ?')
          .get(permit.permitId) as { keyset_id: string; tx_request_id: string } | undefined;
        if (used) {
          const retry =
            used.keyset_id === keysetId &&
            used.tx_request_id === rebindMarker(permit.permitId) &&
            to.equals(Buffer.from(keyset.devicePublicKey));
          if (retry) return { keyset, changed: false };
          throw new SignerError('PERMIT_REPLAYED', 'permit has already been used');
        }
        c.db
          .prepare('INSERT INTO used_permits (permit_id, keyset_id, tx_request_id, used_at_ms) VALUES (?, ?, ?, ?)')
          .run(permit.permitId, keysetId, rebindMarker(permit.permitId), now);
        // A fresh permit for the key the keyset already has is still spent and audited (from = to).
        const from = hex(keyset.devicePublicKey);
        const rebound = c.keysets.rebindDevice(keysetId, to, now);
        c.audit.append('coordinator', 'keyset.device_rebound', keysetId, {
          permitId: permit.permitId,
          keyId: permit.keyId,
          from,
          to: hex(to),
        });
        return { keyset: rebound, changed: true, from };
      })
      .immediate();
    if (out.changed) {
      c.metrics.inc('signer_keyset_rebinds_total', 'Keysets bound to another workstation by a rebind permit');
      c.log.info(
        { keysetId, permitId: permit.permitId, keyId: permit.keyId, from: out.from, to: hex(to) },
        'keyset bound to another workstation',
      );
    } else {
      c.log.info({ keysetId, permitId: permit.permitId }, 'rebind permit retried: keyset already bound to its key');
    }
    return out.keyset;
  }
}
