// Slows down password guessing on this machine: after consecutive wrong passwords for one share, the next attempt
// waits 0, 1, 2, 4, 8, 16, then 30 s (the cap) for every further one; a correct password clears the count. The count
// lives in a small file per share (`attempts/<key>.json`), so quitting and restarting the app does not clear it.
//
// The wait is measured from the last failure: someone who takes 20 s to retype is not made to wait again, while a
// script still gets at most one guess per interval. A clock set back does not shorten the wait (the elapsed time is
// clamped at zero). Each attempt is counted *before* the key derivation starts, so killing the app during a try does
// not make the try free; the count is put back if the attempt fails for a reason other than the password.
//
// This is a speed bump for someone at an unlocked workstation, not the security boundary: a person who can edit the
// counter file can also copy the share and attack it offline, which is what PBKDF2's 600,000 iterations and the
// keychain's device key are for. An unreadable counter file is read as "many failures" (the longest wait) rather than
// as "none".

import path from 'node:path';
import { VaultError, isVaultError } from './errors.ts';
import { ensurePrivateDir, readSmallFile, replaceFileAtomic } from './atomicFile.ts';
import { hasExactKeys, parseStrictJson } from './strictJson.ts';

export const MAX_DELAY_MS = 30_000;
const MAX_COUNTED_FAILURES = 1_000_000;
const KEY = /^[A-Za-z0-9_.-]{1,80}$/;

/** How long the next attempt waits after `failures` consecutive wrong passwords: 0, 0, 1, 2, 4 … 30 s. */
export function delayAfterFailures(failures: number): number {
  return failures < 2 ? 0 : Math.min(MAX_DELAY_MS, 1000 * 2 ** (failures - 2));
}

interface AttemptState {
  failures: number;
  /** ms since the epoch */
  lastFailureAt: number;
}

export interface AttemptClock {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

export class PasswordAttempts {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly dir: string,
    private readonly clock: AttemptClock,
  ) {}

  /**
   * Runs `tryPassword` for the share named `key` after the wait its failure count asks for. Attempts on one share
   * run one after another, so parallel calls cannot skip the wait. A WRONG_PASSWORD from `tryPassword` comes back
   * with `retryAfterMs` set to the next wait.
   */
  attempt<T>(key: string, tryPassword: () => Promise<T>): Promise<T> {
    if (!KEY.test(key)) throw new TypeError('attempt key is malformed');
    const run = (this.queues.get(key) ?? Promise.resolve()).then(() => this.run(key, tryPassword));
    const tail = run.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  private fileOf(key: string): string {
    return path.join(this.dir, `${key}.json`);
  }

  private remainingWait(s: AttemptState): number {
    const delay = delayAfterFailures(s.failures);
    const elapsed = Math.min(Math.max(this.clock.now() - s.lastFailureAt, 0), delay);
    return delay - elapsed;
  }

  private async run<T>(key: string, tryPassword: () => Promise<T>): Promise<T> {
    const file = this.fileOf(key);
    const before = await this.read(file);
    const wait = this.remainingWait(before);
    if (wait > 0) await this.clock.sleep(wait);
    const failures = Math.min(before.failures + 1, MAX_COUNTED_FAILURES);
    await this.write(file, { failures, lastFailureAt: this.clock.now() });
    let result: T;
    try {
      result = await tryPassword();
    } catch (e) {
      if (!isVaultError(e, 'WRONG_PASSWORD')) {
        await this.write(file, before);
        throw e;
      }
      // Restart the wait from the moment the failure was known, not from when the key derivation began.
      await this.write(file, { failures, lastFailureAt: this.clock.now() });
      const retryAfterMs = delayAfterFailures(failures);
      throw new VaultError('WRONG_PASSWORD', {
        retryAfterMs,
        ...(retryAfterMs > 0 && {
          message:
            `The password is not correct. Check it (and the keyboard layout) and try again. ` +
            `To slow down guessing, the next try waits ${Math.ceil(retryAfterMs / 1000)} s.`,
        }),
      });
    }
    await this.write(file, { failures: 0, lastFailureAt: 0 });
    return result;
  }

  private async read(file: string): Promise<AttemptState> {
    const failClosed = { failures: MAX_COUNTED_FAILURES, lastFailureAt: this.clock.now() };
    let text: string | undefined;
    try {
      text = await readSmallFile(file, 1024);
    } catch {
      return failClosed;
    }
    if (text === undefined) return { failures: 0, lastFailureAt: 0 };
    try {
      const o = parseStrictJson(text, 1);
      const { failures, lastFailureAt } = o;
      if (
        hasExactKeys(o, ['v', 'failures', 'lastFailureAt']) &&
        o.v === 1 &&
        typeof failures === 'number' &&
        failures <= MAX_COUNTED_FAILURES &&
        typeof lastFailureAt === 'number'
      ) {
        return { failures, lastFailureAt };
      }
    } catch {
      // falls through to failClosed
    }
    return failClosed;
  }

  private async write(file: string, s: AttemptState): Promise<void> {
    await ensurePrivateDir(this.dir);
    await replaceFileAtomic(file, `${JSON.stringify({ v: 1, ...s })}\n`);
  }
}
