// Start-up recovery after a crash or kill (PROTOCOL.md §9.2 class D): sessions are never
// resumed (their nonces are gone); a signing session left in DECRYPT_PENDING may have
// decrypted without recording a result, so its keyset is frozen for review.

import { type Db } from './db.ts';
import { type KeysetStore } from './keysets.ts';
import { type AuditLog } from '@tandem/common/auditLog';

export function recoverAfterRestart(
  db: Db,
  keysets: KeysetStore,
  audit: AuditLog,
  nowMs: number,
): { abandoned: number; frozen: string[] } {
  return db.transaction(() => {
    const a = db
      .prepare(
        "UPDATE dkg_sessions SET state = 'ABANDONED', error_code = 'RESTART', ended_at_ms = ? WHERE state = 'RUNNING'",
      )
      .run(nowMs).changes;
    const b = db
      .prepare(
        "UPDATE sign_sessions SET state = 'ABANDONED', error_code = 'RESTART', ended_at_ms = ? WHERE state = 'RUNNING'",
      )
      .run(nowMs).changes;
    const pending = db
      .prepare("SELECT session_id, keyset_id FROM sign_sessions WHERE state = 'DECRYPT_PENDING'")
      .all() as { session_id: string; keyset_id: string }[];
    const frozen: string[] = [];
    for (const p of pending) {
      const status = keysets.freeze(p.keyset_id, nowMs);
      db.prepare(
        "UPDATE sign_sessions SET state = 'FROZE', error_code = 'UNKNOWN_OUTCOME', ended_at_ms = ? WHERE session_id = ?",
      ).run(nowMs, p.session_id);
      audit.append('signer', 'keyset.frozen', p.keyset_id, {
        sessionId: p.session_id,
        reason: 'UNKNOWN_OUTCOME',
        status,
      });
      frozen.push(p.keyset_id);
    }
    return { abandoned: a + b, frozen };
  })();
}
