/**
 * Token buckets per key: `ratePerSecond` tokens refill each second, up to one second's worth. A key's
 * bucket is created full on first use. Counts are per process: with N ingest replicas a tenant may
 * publish up to N times its limit, which the operator guide documents.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; updated: number }>();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Takes `count` tokens; returns 0 when allowed, else the ms to wait before it would be. */
  take(key: string, ratePerSecond: number, count = 1): number {
    if (ratePerSecond <= 0) return 0;
    const now = this.#now();
    const bucket = this.#buckets.get(key) ?? { tokens: ratePerSecond, updated: now };
    bucket.tokens = Math.min(ratePerSecond, bucket.tokens + ((now - bucket.updated) / 1000) * ratePerSecond);
    bucket.updated = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= count) {
      bucket.tokens -= count;
      return 0;
    }
    return ((count - bucket.tokens) / ratePerSecond) * 1000;
  }

  /** Drops the key's bucket (its tenant was deleted). */
  forget(key: string): void {
    this.#buckets.delete(key);
  }
}
