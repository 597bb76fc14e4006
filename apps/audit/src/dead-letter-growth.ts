import type { OperationalFact } from "@herald/platform/model";

/** Options of {@link DeadLetterGrowth}. */
export interface DeadLetterGrowthOptions {
  /** Dead letters of one tenant within a window that make it "growing"; 0 never. */
  threshold: number;
  /** The window, fixed (aligned to the epoch) so every audit instance counts the same windows. */
  windowMs: number;
}

/**
 * Counts each tenant's dead-lettered deliveries per fixed window and tells, once per window, of a tenant
 * that reached the threshold (`herald.dead_letters.growing`). The fact's key is the window, so several
 * audit instances that each reach it report it once; each counts only the dead letters it consumed, so
 * with N instances the threshold is reached later (see docs/decisions/operational-webhooks.md).
 */
export class DeadLetterGrowth {
  readonly #options: DeadLetterGrowthOptions;
  #window = -1;
  readonly #counts = new Map<string, number>();

  constructor(options: DeadLetterGrowthOptions) {
    this.#options = options;
  }

  /** Counts one dead letter of the tenant at `now`; returns the fact when this one reached the threshold. */
  record(tenantId: string, now: number): OperationalFact<"herald.dead_letters.growing"> | undefined {
    const { threshold, windowMs } = this.#options;
    if (threshold <= 0) return undefined;
    const window = Math.floor(now / windowMs);
    if (window !== this.#window) {
      // A new window: the old counts go, so memory holds only the tenants of the current one.
      this.#window = window;
      this.#counts.clear();
    }
    const count = (this.#counts.get(tenantId) ?? 0) + 1;
    this.#counts.set(tenantId, count);
    if (count !== threshold) return undefined;
    return {
      type: "herald.dead_letters.growing",
      tenantId,
      key: new Date(window * windowMs).toISOString(),
      data: { dead_letters: count, window_seconds: Math.round(windowMs / 1000) },
      time: new Date(now),
    };
  }
}
