// Token buckets for signing starts: one global, one per keyset. Refill is computed from the
// injected clock on each take, so there are no timers to stop.

export interface RateLimit {
  perSecond: number;
  burst: number;
}

class Bucket {
  private tokens: number;
  private at: number;
  constructor(
    private readonly limit: RateLimit,
    now: number,
  ) {
    this.tokens = limit.burst;
    this.at = now;
  }
  take(now: number): boolean {
    this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.at) / 1000) * this.limit.perSecond);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class SigningRateLimiter {
  private readonly global: Bucket;
  private readonly perKeyset = new Map<string, Bucket>();

  constructor(
    private readonly limits: { global: RateLimit; perKeyset: RateLimit },
    private readonly now: () => number,
  ) {
    this.global = new Bucket(limits.global, now());
  }

  /** 'keyset' or 'global' when that limit refuses; undefined when allowed. */
  take(keysetId: string): 'keyset' | 'global' | undefined {
    const t = this.now();
    let b = this.perKeyset.get(keysetId);
    if (!b) {
      if (this.perKeyset.size > 100_000) this.perKeyset.clear(); // bound memory; a full bucket is harmless
      b = new Bucket(this.limits.perKeyset, t);
      this.perKeyset.set(keysetId, b);
    }
    if (!b.take(t)) return 'keyset';
    if (!this.global.take(t)) return 'global';
    return undefined;
  }
}
