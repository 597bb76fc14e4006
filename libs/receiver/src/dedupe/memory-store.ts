import { ExpiringLru } from "./expiring-lru.js";
import type { ClaimResult, DedupeStore } from "./store.js";

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most ids remembered; beyond it the least recently used is forgotten, and a retry of it would run
   * again. Default 100 000 (tens of MB at most). Size it to the webhooks received within the TTL.
   */
  maxEntries?: number;
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
}

type Entry = { readonly state: "in_progress"; readonly token: string } | { readonly state: "done" };

/**
 * Remembers ids in this process only: right for one instance and for tests. Several instances behind a
 * load balancer need a shared store (`RedisStore`, `MongoStore`).
 */
export class MemoryStore implements DedupeStore {
  readonly #entries: ExpiringLru<Entry>;

  constructor(options: MemoryStoreOptions = {}) {
    this.#entries = new ExpiringLru(options.maxEntries ?? 100_000, options.now ?? Date.now);
  }

  async claim(key: string, token: string, leaseMs: number): Promise<ClaimResult> {
    const entry = this.#entries.get(key);
    if (entry !== undefined) return entry.state;
    this.#entries.set(key, { state: "in_progress", token }, leaseMs);
    return "claimed";
  }

  async complete(key: string, ttlMs: number): Promise<void> {
    this.#entries.set(key, { state: "done" }, ttlMs);
  }

  async release(key: string, token: string): Promise<void> {
    const entry = this.#entries.get(key);
    if (entry?.state === "in_progress" && entry.token === token) this.#entries.delete(key);
  }
}
