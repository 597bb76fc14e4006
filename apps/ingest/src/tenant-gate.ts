// A bound on the events one tenant has in ingest at once (stored, published, confirmed): a call that
// would take its tenant past it waits, behind that tenant's earlier calls only, so a client with
// hundreds of calls in flight gets slower answers (backpressure) rather than refusals, and its backlog
// waits in its own line instead of in the writer's (docs/decisions/fair-delivery.md, "Ingest").

/**
 * Above the 800 events of 16 calls of 50 (the bench's fastest single tenant, s1-max), so one tenant alone
 * keeps the writer as busy as before; fairness between tenants comes from the writer's round robin.
 */
export const DEFAULT_TENANT_EVENTS_IN_FLIGHT = 1_000;

interface Waiter {
  count: number;
  admit(): void;
}

interface TenantState {
  inFlight: number;
  /** Calls waiting, oldest first. */
  waiting: Waiter[];
}

/** Counts each tenant's events in flight in this instance; a tenant with none costs nothing. */
export class TenantGate {
  readonly #limit: number;
  readonly #tenants = new Map<string, TenantState>();

  constructor(limit: number) {
    if (!(limit >= 1)) throw new RangeError(`the limit must be ≥ 1, not ${limit}`);
    this.#limit = limit;
  }

  /**
   * Waits until `count` more events of `tenantId` fit under the limit (a call larger than the limit goes
   * when the tenant has nothing else in flight), after the tenant's calls already waiting. Resolves with
   * the release, to call once those events are done; rejects with the signal's reason if it aborts first.
   */
  acquire(tenantId: string, count: number, signal?: AbortSignal): Promise<() => void> {
    let state = this.#tenants.get(tenantId);
    if (!state) {
      state = { inFlight: 0, waiting: [] };
      this.#tenants.set(tenantId, state);
    }
    const tenant = state;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      tenant.inFlight -= count;
      this.#admitWaiting(tenantId, tenant);
    };
    if (tenant.waiting.length === 0 && this.#fits(tenant, count)) {
      tenant.inFlight += count;
      return Promise.resolve(release);
    }
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const at = tenant.waiting.indexOf(waiter);
        if (at >= 0) tenant.waiting.splice(at, 1);
        // The calls behind it may fit now.
        this.#admitWaiting(tenantId, tenant);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        count,
        admit: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release);
        },
      };
      tenant.waiting.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Events of `tenantId` in flight. */
  inFlight(tenantId: string): number {
    return this.#tenants.get(tenantId)?.inFlight ?? 0;
  }

  /** Calls waiting, across tenants. */
  get waiting(): number {
    let waiting = 0;
    for (const tenant of this.#tenants.values()) waiting += tenant.waiting.length;
    return waiting;
  }

  #fits(tenant: TenantState, count: number): boolean {
    return tenant.inFlight === 0 || tenant.inFlight + count <= this.#limit;
  }

  #admitWaiting(tenantId: string, tenant: TenantState): void {
    while (tenant.waiting.length > 0 && this.#fits(tenant, (tenant.waiting[0] as Waiter).count)) {
      const waiter = tenant.waiting.shift() as Waiter;
      tenant.inFlight += waiter.count;
      waiter.admit();
    }
    if (tenant.inFlight === 0 && tenant.waiting.length === 0) this.#tenants.delete(tenantId);
  }
}
