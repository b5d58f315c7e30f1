// Per-keyset mutual exclusion for §8.4 (status check → DECRYPT_PENDING → decrypt → verify →
// record): at most one decryption per key at any time (PROTOCOL.md §9.3 item 2). One daemon
// process owns its database, so an in-process lock is system-wide.

export class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
