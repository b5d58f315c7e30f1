// Live protocol sessions in memory, by session id. A finished session stays until it expires
// so a retransmitted last message gets the same answer; an expired one is cancelled (a timeout
// never freezes a key: a session busy in FinalizeSigning is never swept).

import { randomBytes } from 'node:crypto';
import { type Session } from '@tandem/tecdsa/session';

export interface LiveSession<S extends Session<unknown>> {
  readonly id: string;
  readonly keysetId: string;
  readonly session: S;
  expiresAt: number;
  busy: number;
}

export class SessionRegistry<S extends Session<unknown>> {
  private readonly live = new Map<string, LiveSession<S>>();

  static newId(): string {
    return randomBytes(16).toString('base64url');
  }

  add(id: string, keysetId: string, session: S, expiresAt: number): LiveSession<S> {
    const entry = { id, keysetId, session, expiresAt, busy: 0 };
    this.live.set(entry.id, entry);
    return entry;
  }

  get(id: string): LiveSession<S> | undefined {
    return this.live.get(id);
  }

  delete(id: string): void {
    this.live.delete(id);
  }

  /**
   * Removes a session its caller left (a Sign stream that ended), cancelling it if it still runs
   * (`abandoned` is told, to record it). A session in a call right now is left to finish.
   */
  end(id: string, abandoned: (e: LiveSession<S>) => void): void {
    const e = this.live.get(id);
    if (e && e.busy === 0) this.remove(e, 'E_SESSION', abandoned);
  }

  /** Sessions of this keyset that are still running (not finished, not failed). */
  running(keysetId?: string): number {
    let n = 0;
    for (const e of this.live.values())
      if ((keysetId === undefined || e.keysetId === keysetId) && !e.session.done && !e.session.error) n++;
    return n;
  }

  /**
   * Cancels and removes expired sessions that are not in a call right now; `abandoned` is told
   * about each one that was still running (to record it). Returns how many were removed.
   */
  sweep(now: number, abandoned: (e: LiveSession<S>) => void): number {
    let n = 0;
    for (const e of this.live.values()) {
      if (e.busy === 0 && e.expiresAt <= now) {
        this.remove(e, 'E_TIMEOUT', abandoned);
        n++;
      }
    }
    return n;
  }

  /** Shutdown: every running session is cancelled (never resumed with its nonce) and removed. */
  cancelAll(abandoned: (e: LiveSession<S>) => void): void {
    for (const e of this.live.values()) this.remove(e, 'E_SESSION', abandoned);
  }

  /** Removes a session; one still running is cancelled (`code`) and `abandoned` is told. */
  private remove(e: LiveSession<S>, code: 'E_TIMEOUT' | 'E_SESSION', abandoned: (e: LiveSession<S>) => void): void {
    this.live.delete(e.id);
    if (e.session.done || e.session.error) return;
    e.session.cancel(code);
    abandoned(e);
  }

  all(): LiveSession<S>[] {
    return [...this.live.values()];
  }
}
