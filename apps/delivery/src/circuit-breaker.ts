/** Options of {@link CircuitBreakers}. */
export interface CircuitBreakerOptions {
  /** Share of failed attempts in the window that opens the circuit, 0..1. */
  failureRatio: number;
  /** Attempts the window must hold before the ratio counts. */
  minimumAttempts: number;
  /** How far back attempts count. */
  windowMs: number;
  /** How long a newly opened circuit parks tasks before letting one probe through. */
  cooldownMs: number;
  /**
   * Longest cooldown: each failed probe doubles it up to this; default `cooldownMs` (no growth). Every
   * task of a down endpoint comes back once per cooldown to be parked again, so with a fixed cooldown a
   * long outage would cost more RabbitMQ work the longer it lasted.
   */
  maxCooldownMs?: number;
  /** Told when a circuit opens (from closed) or closes, e.g. to count flapping; must not throw. */
  onTransition?: (to: "open" | "closed", endpointId: string, tenantId: string) => void;
}

export type CircuitState = "closed" | "open" | "half-open";

const MAX_OUTCOMES = 500;

interface Circuit {
  /** The endpoint's tenant, so a tenant-wide change can reset (or purge) all its circuits. */
  tenantId: string;
  outcomes: Array<{ at: number; ok: boolean }>;
  /** How many of `outcomes` failed: kept as they come and go, so recording one does not count them all. */
  failures: number;
  openedAt?: number;
  /** The current cooldown while open. */
  cooldownMs: number;
  probing: boolean;
}

/**
 * One circuit per endpoint, in this process: while an endpoint fails most attempts, its tasks are
 * parked instead of sent, so a dead receiver is not hammered and does not tie up delivery slots. After
 * the cooldown one probe goes through (half-open); its success closes the circuit, its failure
 * re-opens it for twice as long (up to `maxCooldownMs`).
 *
 * An operator does not wait for the cooldown: a replay (Redeliver, Recover, Redrive) is sent even
 * through an open circuit and probes it, and any change an operator makes to the endpoint (enabling it
 * among them) resets its circuit on every instance (see {@link reset}). A probe or replay that closes
 * a circuit here is announced, so the other instances reset theirs too.
 */
export class CircuitBreakers {
  readonly #circuits = new Map<string, Circuit>();
  readonly #options: Required<Omit<CircuitBreakerOptions, "onTransition">>;
  readonly #onTransition: NonNullable<CircuitBreakerOptions["onTransition"]>;
  readonly #now: () => number;

  constructor({ onTransition, ...options }: CircuitBreakerOptions, now: () => number = Date.now) {
    this.#options = { ...options, maxCooldownMs: Math.max(options.maxCooldownMs ?? 0, options.cooldownMs) };
    this.#onTransition = onTransition ?? (() => undefined);
    this.#now = now;
  }

  /**
   * Whether a task may be sent now; when not, how long to park it. Admitting a probe reserves it. An
   * operator's replay (`manual`) is always admitted, and while the circuit is open it is the probe.
   */
  admit(endpointId: string, manual = false): { allowed: true } | { allowed: false; waitMs: number } {
    const circuit = this.#circuits.get(endpointId);
    if (circuit?.openedAt === undefined) return { allowed: true };
    if (manual) {
      circuit.probing = true;
      return { allowed: true };
    }
    const openFor = this.#now() - circuit.openedAt;
    if (openFor < circuit.cooldownMs) return { allowed: false, waitMs: circuit.cooldownMs - openFor };
    if (circuit.probing) return { allowed: false, waitMs: circuit.cooldownMs };
    circuit.probing = true;
    return { allowed: true };
  }

  /** Gives back a probe admitted by {@link admit} but not sent after all (e.g. rate-limited). */
  abandon(endpointId: string): void {
    const circuit = this.#circuits.get(endpointId);
    if (circuit) circuit.probing = false;
  }

  /**
   * Records an attempt's outcome. While the circuit is open, a success closes it (only a probe or a
   * replay is sent then, and either proves the receiver is back); a failure counts only from the probe.
   * Returns true when this outcome closed an open circuit.
   */
  record(endpointId: string, ok: boolean, tenantId = ""): boolean {
    const now = this.#now();
    const circuit = this.#circuits.get(endpointId) ?? {
      tenantId,
      outcomes: [],
      failures: 0,
      cooldownMs: this.#options.cooldownMs,
      probing: false,
    };
    this.#circuits.set(endpointId, circuit);
    if (circuit.openedAt !== undefined) {
      if (!circuit.probing && !ok) return false;
      // The half-open probe (or an operator's replay) decides.
      circuit.probing = false;
      circuit.outcomes = [];
      circuit.failures = 0;
      circuit.openedAt = ok ? undefined : now;
      circuit.cooldownMs = ok
        ? this.#options.cooldownMs
        : Math.min(circuit.cooldownMs * 2, this.#options.maxCooldownMs);
      if (ok) this.#onTransition("closed", endpointId, circuit.tenantId);
      return ok;
    }
    circuit.outcomes.push({ at: now, ok });
    if (!ok) circuit.failures += 1;
    const horizon = now - this.#options.windowMs;
    // The latest outcomes are enough to judge a ratio; the cap keeps a busy endpoint's window small.
    while (circuit.outcomes.length > MAX_OUTCOMES || (circuit.outcomes[0]?.at ?? now) < horizon) {
      if (circuit.outcomes.shift()?.ok === false) circuit.failures -= 1;
    }
    if (
      circuit.outcomes.length >= this.#options.minimumAttempts &&
      circuit.failures / circuit.outcomes.length >= this.#options.failureRatio
    ) {
      circuit.openedAt = now;
      this.#onTransition("open", endpointId, circuit.tenantId);
    }
    return false;
  }

  /**
   * Forgets circuits: the endpoint's, or every circuit of the tenant when `endpointId` is empty. Called
   * on every control-plane change of an endpoint or tenant (an operator enabled or fixed it, or deleted
   * it), so its next task is sent at once instead of waiting out a cooldown.
   */
  reset(tenantId: string, endpointId = ""): void {
    if (endpointId) {
      this.#circuits.delete(endpointId);
      return;
    }
    if (!tenantId) return;
    for (const [id, circuit] of this.#circuits) if (circuit.tenantId === tenantId) this.#circuits.delete(id);
  }

  /** Drops the endpoint's circuit (the endpoint no longer exists). */
  forget(endpointId: string): void {
    this.#circuits.delete(endpointId);
  }

  state(endpointId: string): CircuitState {
    const circuit = this.#circuits.get(endpointId);
    if (circuit?.openedAt === undefined) return "closed";
    return this.#now() - circuit.openedAt >= circuit.cooldownMs ? "half-open" : "open";
  }

  /** Number of circuits in each state, for metrics. */
  counts(): Record<CircuitState, number> {
    const counts: Record<CircuitState, number> = { closed: 0, open: 0, "half-open": 0 };
    for (const id of this.#circuits.keys()) counts[this.state(id)]++;
    return counts;
  }
}
