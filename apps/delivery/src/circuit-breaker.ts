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
   * task of a down endpoint comes back once per cooldown to be parked again, so a fixed cooldown made
   * a long outage cost more RabbitMQ work the longer it lasted.
   */
  maxCooldownMs?: number;
}

export type CircuitState = "closed" | "open" | "half-open";

const MAX_OUTCOMES = 500;

interface Circuit {
  outcomes: Array<{ at: number; ok: boolean }>;
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
 */
export class CircuitBreakers {
  readonly #circuits = new Map<string, Circuit>();
  readonly #options: Required<CircuitBreakerOptions>;
  readonly #now: () => number;

  constructor(options: CircuitBreakerOptions, now: () => number = Date.now) {
    this.#options = { ...options, maxCooldownMs: Math.max(options.maxCooldownMs ?? 0, options.cooldownMs) };
    this.#now = now;
  }

  /** Whether a task may be sent now; when not, how long to park it. Admitting a probe reserves it. */
  admit(endpointId: string): { allowed: true } | { allowed: false; waitMs: number } {
    const circuit = this.#circuits.get(endpointId);
    if (circuit?.openedAt === undefined) return { allowed: true };
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

  record(endpointId: string, ok: boolean): void {
    const now = this.#now();
    const circuit = this.#circuits.get(endpointId) ?? {
      outcomes: [],
      cooldownMs: this.#options.cooldownMs,
      probing: false,
    };
    this.#circuits.set(endpointId, circuit);
    if (circuit.openedAt !== undefined) {
      if (!circuit.probing) return;
      // The half-open probe decides.
      circuit.probing = false;
      circuit.outcomes = [];
      circuit.openedAt = ok ? undefined : now;
      circuit.cooldownMs = ok
        ? this.#options.cooldownMs
        : Math.min(circuit.cooldownMs * 2, this.#options.maxCooldownMs);
      return;
    }
    circuit.outcomes.push({ at: now, ok });
    const horizon = now - this.#options.windowMs;
    // The latest outcomes are enough to judge a ratio; the cap keeps a busy endpoint's window small.
    while (circuit.outcomes.length > MAX_OUTCOMES || (circuit.outcomes[0]?.at ?? now) < horizon)
      circuit.outcomes.shift();
    const failures = circuit.outcomes.filter((o) => !o.ok).length;
    if (
      circuit.outcomes.length >= this.#options.minimumAttempts &&
      failures / circuit.outcomes.length >= this.#options.failureRatio
    ) {
      circuit.openedAt = now;
    }
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
