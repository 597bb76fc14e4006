/** What {@link DedupeStore.claim} found: the claim is ours, or another delivery holds or finished the id. */
export type ClaimResult = "claimed" | "in_progress" | "done";

/**
 * Where webhook ids being handled and handled are remembered. This package has `MemoryStore`,
 * `RedisStore` (`@herald/receiver/redis`) and `MongoStore` (`@herald/receiver/mongodb`); anything with
 * these three atomic operations works.
 */
export interface DedupeStore {
  /**
   * Atomically: if `key` is absent or its record has expired, stores an in-progress lease owned by `token`
   * for `leaseMs` and returns "claimed"; otherwise returns the state found.
   */
  claim(key: string, token: string, leaseMs: number): Promise<ClaimResult>;
  /** Records `key` as handled for `ttlMs`, whoever holds the lease: the handler did succeed. */
  complete(key: string, ttlMs: number): Promise<void>;
  /** Deletes the lease if `token` still owns it, so the next delivery of `key` runs the handler again. */
  release(key: string, token: string): Promise<void>;
}
