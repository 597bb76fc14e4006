// Which keys (tenants) publish heavily: those that published at least `minItems` items in the last full
// window. A sharded queue's publisher sends a heavy tenant's items to the overflow shard rather than to
// its own, so the tenants hashed to the same shard do not wait behind its backlog
// (docs/decisions/fair-delivery.md, "Overflow shard"). A key of weight w is heavy from w times the count,
// as it is meant to have w times another key's share.

import { turnsOf, type WeightOf } from "./weights.js";

/** Options of {@link HeavyKeys}. */
export interface HeavyKeysOptions {
  /** Length of a counting window, in ms. */
  windowMs: number;
  /** Items in one window that make a key of weight 1 heavy for the next window. */
  minItems: number;
  /** A key's weight: it is heavy from `minItems` × its weight; default 1 each. Asked once per window. */
  weightOf?: WeightOf;
  /** The clock, in ms; default Date.now. */
  now?: () => number;
}

/**
 * Counts items per key in fixed windows; a key is heavy while the previous full window counted at least
 * `minItems` of it. Memory is the keys seen in the current and previous windows only; a key's first
 * heavy window is not caught until it ends (the cost of counting without history).
 */
export class HeavyKeys {
  readonly #windowMs: number;
  readonly #minItems: number;
  readonly #weightOf: WeightOf | undefined;
  readonly #now: () => number;
  #windowStart: number;
  #counts = new Map<string, number>();
  #heavy = new Set<string>();

  constructor(options: HeavyKeysOptions) {
    if (!(options.windowMs > 0)) throw new RangeError(`windowMs must be > 0, not ${options.windowMs}`);
    if (!(options.minItems >= 1)) throw new RangeError(`minItems must be ≥ 1, not ${options.minItems}`);
    this.#windowMs = options.windowMs;
    this.#minItems = options.minItems;
    this.#weightOf = options.weightOf;
    this.#now = options.now ?? Date.now;
    this.#windowStart = this.#now();
  }

  /** Counts one item of `key`; returns whether `key` is heavy. */
  count(key: string): boolean {
    this.#roll();
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    return this.#heavy.has(key);
  }

  /** Keys heavy now. */
  get heavy(): ReadonlySet<string> {
    this.#roll();
    return this.#heavy;
  }

  /** Items in a window that make `key` heavy: `minItems` × its weight. */
  #threshold(key: string): number {
    return this.#weightOf ? this.#minItems * turnsOf(this.#weightOf(key)) : this.#minItems;
  }

  /** Starts a new window once the current one is over: the keys it counted heavy become the heavy set. */
  #roll(): void {
    const now = this.#now();
    const elapsed = now - this.#windowStart;
    if (elapsed < this.#windowMs) return;
    const heavy = new Set<string>();
    // A window that ended long ago (nothing was published since) says nothing about now.
    if (elapsed < 2 * this.#windowMs)
      // `minItems` first: the weight is asked only of the few keys that could be heavy.
      for (const [key, n] of this.#counts)
        if (n >= this.#minItems && n >= this.#threshold(key)) heavy.add(key);
    this.#heavy = heavy;
    this.#counts = new Map();
    this.#windowStart = now - (elapsed % this.#windowMs);
  }
}
