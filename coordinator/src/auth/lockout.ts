// Login lockout: after 5 consecutive failures an account is locked for 15 minutes.
//
// Each attempt is counted when it starts, before the slow password check, so firing many guesses
// in parallel cannot slip more than MAX_FAILED_LOGINS of them past the counter. A success clears it.
// Usernames that do not exist get the same treatment from a bounded in-memory table, so
// ACCOUNT_LOCKED does not reveal which usernames are real either.

import { type Store } from '../db/store.ts';
import { type LoginAttempts, UserRepo } from './users.ts';

export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_MS = 15 * 60_000;

export type Gate = { allowed: true } | { allowed: false; retryAfterMs: number };

/** Starting an attempt: refused while locked; otherwise counted in advance as a failure. */
export function startAttempt(a: LoginAttempts, nowMs: number): { next: LoginAttempts; result: Gate } {
  if (a.lockedUntilMs !== null && a.lockedUntilMs > nowMs)
    return { next: a, result: { allowed: false, retryAfterMs: a.lockedUntilMs - nowMs } };
  // A lock that has run out is served: the count starts again.
  const failures = a.lockedUntilMs !== null ? 0 : a.failures;
  // Every slot is taken by attempts still being checked: the lock is about to fall.
  if (failures >= MAX_FAILED_LOGINS)
    return { next: { failures, lockedUntilMs: null }, result: { allowed: false, retryAfterMs: LOCKOUT_MS } };
  return { next: { failures: failures + 1, lockedUntilMs: null }, result: { allowed: true } };
}

/** The attempt failed (it was already counted): lock once the count reaches the limit. */
export function failAttempt(a: LoginAttempts, nowMs: number): { next: LoginAttempts; result: boolean } {
  if (a.failures >= MAX_FAILED_LOGINS && a.lockedUntilMs === null)
    return { next: { failures: a.failures, lockedUntilMs: nowMs + LOCKOUT_MS }, result: true };
  return { next: a, result: false };
}

export const CLEARED: LoginAttempts = { failures: 0, lockedUntilMs: null };

export interface AttemptCounter {
  start(nowMs: number): Promise<Gate>;
  /** True when this failure locked the account. */
  fail(nowMs: number): Promise<boolean>;
  succeed(): Promise<void>;
}

/** Each step reads and rewrites the account's counter in one transaction (UserRepo.updateLoginAttempts). */
export function accountAttempts(store: Store, userId: string): AttemptCounter {
  const users = new UserRepo(store);
  return {
    start: (nowMs) => users.updateLoginAttempts(userId, (a) => startAttempt(a, nowMs)),
    fail: (nowMs) => users.updateLoginAttempts(userId, (a) => failAttempt(a, nowMs)),
    succeed: () => users.updateLoginAttempts(userId, () => ({ next: CLEARED, result: undefined })),
  };
}

const MAX_UNKNOWN_TRACKED = 10_000;
const unknownTables = new WeakMap<Store, Map<string, LoginAttempts>>();

/**
 * Attempts against a username nobody has, kept in memory per store (they protect no account, so
 * losing them on restart is fine). The table is capped; the oldest entries go first. Each step
 * reads and rewrites the entry without awaiting in between, so it is atomic like the account's.
 */
export function unknownUserAttempts(store: Store, username: string): AttemptCounter {
  let table = unknownTables.get(store);
  if (!table) unknownTables.set(store, (table = new Map()));
  const t = table;
  const key = username.toLowerCase();
  const apply = <T>(step: (a: LoginAttempts) => { next: LoginAttempts; result: T }): Promise<T> => {
    const { next, result } = step(t.get(key) ?? CLEARED);
    t.delete(key);
    if (next.failures > 0 || next.lockedUntilMs !== null) {
      t.set(key, next);
      if (t.size > MAX_UNKNOWN_TRACKED) t.delete(t.keys().next().value as string);
    }
    return Promise.resolve(result);
  };
  return {
    start: (nowMs) => apply((a) => startAttempt(a, nowMs)),
    fail: (nowMs) => apply((a) => failAttempt(a, nowMs)),
    succeed: () => apply(() => ({ next: CLEARED, result: undefined })),
  };
}
