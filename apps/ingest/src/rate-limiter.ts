import { KeyedSerializer } from "@herald/platform";

/**
 * Where ingest instances share each tenant's per-second budget: the budget of one clock second is cut
 * into numbered chunks, and each chunk can be claimed by one instance only.
 */
export interface RateBudgetStore {
  /** Claims chunk `index` of `second` (ms since the epoch / 1000) for `tenantId`; false when taken. */
  claim(tenantId: string, second: number, index: number): Promise<boolean>;
}

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /**
   * Chunks a tenant's per-second budget is cut into; default 10. Fewer chunks cost fewer round trips
   * to the store, more waste less: a chunk an instance claimed but did not use is lost to the others
   * for that second, so N instances together admit at least `limit - (N - 1) * limit / chunks` a second.
   */
  chunksPerSecond?: number;
  /** Milliseconds since the epoch; tests inject a fake clock. */
  now?: () => number;
}

interface Allowance {
  second: number;
  rate: number;
  /** Tokens this instance claimed in `second` and has not spent. */
  remaining: number;
  /** The next chunk index to try to claim; every lower one is spent or taken by another instance. */
  nextChunk: number;
}

/**
 * Tenant rate limits that hold across every ingest instance: no more than `ratePerSecond` events of a
 * tenant are admitted in any one clock second, all instances together. Each instance claims a chunk of
 * the second's budget from the shared store when it runs out and spends it locally, so the store sees
 * about `chunksPerSecond` round trips per busy tenant per second rather than one per call. Instances
 * must keep their clocks in sync (NTP), as the second is read from each one's clock.
 */
export class RateLimiter {
  readonly #store: RateBudgetStore;
  readonly #chunksPerSecond: number;
  readonly #now: () => number;
  readonly #allowances = new Map<string, Allowance>();
  /** One claim round at a time per tenant, so concurrent calls do not claim more than they need. */
  readonly #claims = new KeyedSerializer();

  constructor(store: RateBudgetStore, options: RateLimiterOptions = {}) {
    this.#store = store;
    this.#chunksPerSecond = options.chunksPerSecond ?? 10;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Takes `count` tokens of the tenant's budget. Resolves to 0 when admitted, else to the ms until the
   * next second, when it may be. `count` must be at most `ratePerSecond` (a larger batch could never be
   * admitted; callers refuse it as invalid), and `ratePerSecond` 0 means unlimited.
   */
  async take(tenantId: string, ratePerSecond: number, count = 1): Promise<number> {
    if (ratePerSecond <= 0) return 0;
    if (count > ratePerSecond) throw new RangeError(`${count} tokens is over the limit of ${ratePerSecond}`);
    if (this.#spend(tenantId, ratePerSecond, count)) return 0;
    return this.#claims.run(tenantId, async () => {
      // Another call may have claimed enough while this one waited its turn.
      if (this.#spend(tenantId, ratePerSecond, count)) return 0;
      const allowance = this.#current(tenantId, ratePerSecond);
      const chunk = Math.ceil(ratePerSecond / this.#chunksPerSecond);
      const chunks = Math.ceil(ratePerSecond / chunk);
      while (allowance.remaining < count && allowance.nextChunk < chunks) {
        const wanted = Math.min(
          Math.ceil((count - allowance.remaining) / chunk),
          chunks - allowance.nextChunk,
        );
        const indexes = Array.from({ length: wanted }, (_, i) => allowance.nextChunk + i);
        allowance.nextChunk += wanted;
        const claimed = await Promise.all(
          indexes.map((i) => this.#store.claim(tenantId, allowance.second, i)),
        );
        for (const [n, i] of indexes.entries()) {
          if (claimed[n]) allowance.remaining += Math.min(chunk, ratePerSecond - i * chunk);
        }
      }
      if (allowance.remaining >= count) {
        allowance.remaining -= count;
        return 0;
      }
      return Math.max(1, (allowance.second + 1) * 1000 - this.#now());
    });
  }

  /** Spends `count` of what this instance holds for the current second, if it holds enough. */
  #spend(tenantId: string, rate: number, count: number): boolean {
    const allowance = this.#current(tenantId, rate);
    if (allowance.remaining < count) return false;
    allowance.remaining -= count;
    return true;
  }

  /** This instance's allowance of the current second, a fresh one when the second or rate changed. */
  #current(tenantId: string, rate: number): Allowance {
    const second = Math.floor(this.#now() / 1000);
    const held = this.#allowances.get(tenantId);
    if (held && held.second === second && held.rate === rate) return held;
    const fresh = { second, rate, remaining: 0, nextChunk: 0 };
    this.#allowances.set(tenantId, fresh);
    return fresh;
  }

  /** Drops what this instance holds of the tenant's budget (its tenant was deleted). */
  forget(tenantId: string): void {
    this.#allowances.delete(tenantId);
  }
}
