import type { DedupeStore } from "./store.js";

/** Options of {@link Deduplicator}. */
export interface DeduplicatorOptions {
  /**
   * How long a handled id is remembered, in milliseconds. Default 3 days: longer than the whole retry
   * horizon of the sender (Herald retries for about 27 hours by default), so every retry of a webhook
   * that was handled is recognised as a duplicate.
   */
  ttlMs?: number;
  /**
   * How long a claim keeps other deliveries of the same id out while the handler runs, in milliseconds.
   * Default 60 s. Make it longer than the handler's slowest run: once it lapses another delivery may run
   * the handler too. A crashed process's claim lapses after it, so the sender's next retry runs again.
   */
  leaseMs?: number;
  /**
   * Told when recording success or releasing a claim fails. The outcome stands regardless: a failed
   * release lapses after `leaseMs`, a failed completion lets a later retry run the handler again.
   * Whatever it throws is ignored.
   */
  onStoreError?: (error: unknown, operation: "complete" | "release") => void;
}

/**
 * What {@link Deduplicator.handleOnce} did: ran the handler (with its value), or skipped it because the id
 * was already handled (`already_done`) or is being handled by another delivery right now (`in_progress`).
 */
export type HandleOnceResult<T> =
  | { status: "ran"; value: T }
  | { status: "already_done" }
  | { status: "in_progress" };

const DEFAULT_TTL_MS = 3 * 24 * 60 * 60 * 1000;
const DEFAULT_LEASE_MS = 60 * 1000;

/**
 * Runs a handler once per webhook id, across retries and concurrent deliveries: claims the id with a
 * lease, runs the handler, records success, and on failure releases the claim so a retry runs it again.
 */
export class Deduplicator {
  readonly #store: DedupeStore;
  readonly #ttlMs: number;
  readonly #leaseMs: number;
  readonly #onStoreError: DeduplicatorOptions["onStoreError"];

  constructor(store: DedupeStore, options: DeduplicatorOptions = {}) {
    this.#store = store;
    this.#ttlMs = checkDuration("ttlMs", options.ttlMs ?? DEFAULT_TTL_MS);
    this.#leaseMs = checkDuration("leaseMs", options.leaseMs ?? DEFAULT_LEASE_MS);
    this.#onStoreError = options.onStoreError;
  }

  /**
   * Runs `handler` unless `id` was handled or is being handled. Rejects with the handler's error after
   * releasing the claim, or with the store's error if the claim itself failed (nothing ran then).
   */
  async handleOnce<T>(id: string, handler: () => T | Promise<T>): Promise<HandleOnceResult<T>> {
    if (typeof id !== "string" || id === "") throw new TypeError("handleOnce needs a non-empty webhook id.");
    const token = crypto.randomUUID();
    const claim = await this.#store.claim(id, token, this.#leaseMs);
    if (claim === "done") return { status: "already_done" };
    if (claim === "in_progress") return { status: "in_progress" };
    let value: T;
    try {
      value = await handler();
    } catch (error) {
      await this.#quietly("release", () => this.#store.release(id, token));
      throw error;
    }
    await this.#quietly("complete", () => this.#store.complete(id, this.#ttlMs));
    return { status: "ran", value };
  }

  async #quietly(operation: "complete" | "release", run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      try {
        this.#onStoreError?.(error, operation);
      } catch {
        // A logging hook must not turn a handled webhook into a failed one.
      }
    }
  }
}

function checkDuration(name: string, ms: number): number {
  if (!Number.isSafeInteger(ms) || ms <= 0)
    throw new RangeError(`${name} must be a whole number > 0, got ${ms}.`);
  return ms;
}
