// Per-endpoint concurrency in this instance's memory, in front of the shared delivery slots: a task
// whose endpoint is at its limit waits here holding no slot, so a slow receiver holds at most its own
// limit of slots and healthy endpoints keep the rest (docs/decisions/fair-delivery.md).

/** How an endpoint's request ended, for its adaptive limit. */
export type EndpointAnswer = "ok" | "failed";

/** A task's way through its endpoint's gate; release it once its request is answered. */
export interface EndpointPass {
  /** How long the task waited at its endpoint's limit, in ms (0 when it went straight through). */
  waitedMs: number;
  /** The request starts now (the task had its shared slot): its age for slowness counts from here. */
  sending(): void;
  /**
   * Frees the task's place: with `answer` as soon as the endpoint answered (the limit adapts to it),
   * without once the task is done (a second release counts nothing).
   */
  release(answer?: EndpointAnswer): void;
}

/** The endpoint is slow and its wait list full: the task goes back to the broker for `retryAfterMs`. */
export interface EndpointRefusal {
  refused: true;
  /** How long the endpoint's oldest request in flight has been waiting: a fair guess at its pace. */
  retryAfterMs: number;
}

/**
 * An endpoint's concurrency limit: it starts at `base`, grows while fast successful answers come back
 * and tasks wait, up to `max`; a failed answer halves it (not below `base`), a slow one (or a tick that
 * finds a request in flight too long) halves it down to 1. `base === max` never grows.
 */
export interface EndpointLimit {
  base: number;
  max: number;
}

interface Waiter {
  since: number;
  settle(entry: EndpointPass | EndpointRefusal): void;
}

interface EndpointState {
  /** Tasks let through, sending or about to (waiting for a shared slot): what the limit counts. */
  running: number;
  /** Start times of the requests being sent, oldest first (a Set keeps insertion order). */
  inFlight: Set<{ since: number }>;
  base: number;
  max: number;
  limit: number;
  /** Fast successful answers since the limit last grew. */
  fastAnswers: number;
  waiting: Waiter[];
  /** How long its oldest request had been in flight when {@link EndpointGate.tick} found it slow. */
  slowForMs?: number;
}

export interface EndpointGateOptions {
  /**
   * Tasks that may wait at a slow endpoint's limit; beyond it `enter` refuses them. A fast endpoint's
   * tasks all wait: they are served within milliseconds, and going through the broker would cost more.
   */
  maxWaiting: number;
  /**
   * An endpoint is slow while a request has been in flight this long (as {@link EndpointGate.tick} last
   * found), or an answer took this long; and at least {@link SLOW_VS_TYPICAL} times the instance's typical
   * answer time, so that a machine too busy to answer anything fast does not find every endpoint slow.
   */
  slowAfterMs: number;
  now?: () => number;
}

/** How many times the instance's typical answer time a request must take before its endpoint is slow. */
export const SLOW_VS_TYPICAL = 4;
/** Weight of each answer in the typical answer time (an exponential moving average of its log). */
const TYPICAL_WEIGHT = 1 / 64;

/** Counts each endpoint's requests in flight and queues the tasks over its limit, first come first served. */
export class EndpointGate {
  readonly #endpoints = new Map<string, EndpointState>();
  readonly #maxWaiting: number;
  readonly #slowAfterMs: number;
  readonly #now: () => number;
  #waiting = 0;
  /**
   * log2 of the instance's typical answer time in ms, over every endpoint's answers: a geometric mean,
   * so the few slow endpoints' answers do not make the many fast ones' typical.
   */
  #typicalLog2: number | undefined;

  constructor(options: EndpointGateOptions) {
    if (!(options.maxWaiting >= 0)) throw new RangeError(`maxWaiting must be ≥ 0, not ${options.maxWaiting}`);
    if (!(options.slowAfterMs > 0))
      throw new RangeError(`slowAfterMs must be > 0, not ${options.slowAfterMs}`);
    this.#maxWaiting = options.maxWaiting;
    this.#slowAfterMs = options.slowAfterMs;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Lets a task through to `endpointId` when fewer than its limit of requests are in flight, or queues it
   * until one is answered. A refusal when the endpoint is slow and already has `maxWaiting` tasks
   * waiting: the caller hands the task back to the broker rather than hold it here.
   */
  enter(endpointId: string, limit: EndpointLimit): Promise<EndpointPass | EndpointRefusal> {
    if (!(limit.base >= 1) || !(limit.max >= limit.base)) {
      throw new RangeError(
        `an endpoint's limit must be ≥ 1 and its max ≥ it, not ${limit.base}/${limit.max}`,
      );
    }
    let state = this.#endpoints.get(endpointId);
    if (!state) {
      state = {
        running: 0,
        inFlight: new Set(),
        base: limit.base,
        max: limit.max,
        limit: limit.base,
        fastAnswers: 0,
        waiting: [],
      };
      this.#endpoints.set(endpointId, state);
    } else if (state.base !== limit.base || state.max !== limit.max) {
      // An operator's change applies to the tasks behind it.
      state.base = limit.base;
      state.max = limit.max;
      state.limit = Math.min(Math.max(state.limit, limit.base), limit.max);
    }
    if (state.running < state.limit && state.waiting.length === 0) {
      return Promise.resolve(this.#pass(endpointId, state, 0));
    }
    if (state.slowForMs !== undefined && state.waiting.length >= this.#slowWaiting(state)) {
      return Promise.resolve({ refused: true, retryAfterMs: state.slowForMs });
    }
    const since = this.#now();
    this.#waiting += 1;
    const current = state;
    const entered = new Promise<EndpointPass | EndpointRefusal>((settle) =>
      current.waiting.push({ since, settle }),
    );
    // A raised limit lets waiting tasks through at once.
    this.#admitWaiting(endpointId, current);
    return entered;
  }

  /**
   * Finds the endpoints that are slow now (a request in flight too long): halves their limits, down to
   * 1, and sends back their tasks waiting beyond that limit and `maxWaiting` (the earliest keep their
   * place), as each holds a message unacked.
   * Run it every so often: nothing else happens when a receiver hangs. `pausedMs` is how long this
   * instance itself stood still since the last run (its timer came that late): that time is not counted
   * against the endpoints, or a busy machine would find every endpoint slow at once. Returns the tasks
   * sent back.
   */
  tick(pausedMs = 0): number {
    const now = this.#now();
    let shed = 0;
    for (const [endpointId, state] of this.#endpoints) {
      if (pausedMs > 0) {
        for (const request of state.inFlight) request.since = Math.min(now, request.since + pausedMs);
      }
      state.slowForMs = this.#slowForMs(state, now);
      if (state.slowForMs === undefined) continue;
      halve(state, 1);
      const keep = this.#slowWaiting(state);
      if (state.waiting.length <= keep) continue;
      const sent = state.waiting.splice(keep);
      this.#waiting -= sent.length;
      shed += sent.length;
      for (const waiter of sent) waiter.settle({ refused: true, retryAfterMs: state.slowForMs });
      this.#admitWaiting(endpointId, state);
    }
    return shed;
  }

  /** Tasks waiting at their endpoint's limit, across endpoints. */
  get waiting(): number {
    return this.#waiting;
  }

  /** The `n` endpoints with the most tasks waiting, most first (for bounded-cardinality metrics). */
  busiest(n: number): Array<{ endpointId: string; waiting: number; running: number; limit: number }> {
    return [...this.#endpoints]
      .filter(([, s]) => s.waiting.length > 0)
      .sort(([, a], [, b]) => b.waiting.length - a.waiting.length)
      .slice(0, n)
      .map(([endpointId, s]) => ({
        endpointId,
        waiting: s.waiting.length,
        running: s.running,
        limit: s.limit,
      }));
  }

  /** The endpoint's current limit (its base when it has no state), for tests and metrics. */
  limitOf(endpointId: string): number | undefined {
    return this.#endpoints.get(endpointId)?.limit;
  }

  /** How long the endpoint's oldest request has been in flight when that is slow. */
  #slowForMs(state: EndpointState, now: number): number | undefined {
    const oldest = state.inFlight.values().next().value;
    const age = oldest ? now - oldest.since : 0;
    return oldest && this.#isSlow(age) ? age : undefined;
  }

  /** Whether a request this old is slow: over `slowAfterMs`, and several times the typical answer. */
  #isSlow(ageMs: number): boolean {
    const typical = this.#typicalLog2 === undefined ? 0 : 2 ** this.#typicalLog2;
    return ageMs >= Math.max(this.#slowAfterMs, SLOW_VS_TYPICAL * typical);
  }

  /** The instance's typical answer time, in ms (undefined before the first answer). */
  get typicalAnswerMs(): number | undefined {
    return this.#typicalLog2 === undefined ? undefined : 2 ** this.#typicalLog2;
  }

  #pass(endpointId: string, state: EndpointState, waitedMs: number): EndpointPass {
    state.running += 1;
    let request: { since: number } | undefined;
    let released = false;
    return {
      waitedMs,
      sending: () => {
        if (released || request) return;
        request = { since: this.#now() };
        state.inFlight.add(request);
      },
      release: (answer) => {
        if (released) return;
        released = true;
        state.running -= 1;
        if (request) state.inFlight.delete(request);
        if (answer && request) {
          const latencyMs = this.#now() - request.since;
          this.#adapt(state, answer, latencyMs);
          const log2 = Math.log2(Math.max(1, latencyMs));
          this.#typicalLog2 =
            this.#typicalLog2 === undefined
              ? log2
              : this.#typicalLog2 + (log2 - this.#typicalLog2) * TYPICAL_WEIGHT;
        }
        // Slow no longer once its requests that were are answered.
        if (state.slowForMs !== undefined) state.slowForMs = this.#slowForMs(state, this.#now());
        this.#admitWaiting(endpointId, state);
      },
    };
  }

  /**
   * Tasks a slow endpoint may keep waiting in memory: each holds its message (and the other tasks of it)
   * unacked, so no more than it has requests in flight, and `maxWaiting` at most.
   */
  #slowWaiting(state: EndpointState): number {
    return Math.min(this.#maxWaiting, state.limit);
  }

  /**
   * While fast answers come back and tasks wait: below its base the limit grows by one per answer (slow
   * start, doubling per round), above it by one per limit's worth (additive increase). A slow answer
   * halves it down to 1, a failure down to its base.
   */
  #adapt(state: EndpointState, answer: EndpointAnswer, latencyMs: number): void {
    if (this.#isSlow(latencyMs)) {
      halve(state, 1);
    } else if (answer === "failed") {
      halve(state, state.base);
    } else if (state.waiting.length > 0 && state.limit < state.max) {
      state.fastAnswers += 1;
      if (state.limit < state.base || state.fastAnswers >= state.limit) {
        state.limit += 1;
        state.fastAnswers = 0;
      }
    }
  }

  #admitWaiting(endpointId: string, state: EndpointState): void {
    while (state.running < state.limit && state.waiting.length > 0) {
      const next = state.waiting.shift() as Waiter;
      this.#waiting -= 1;
      next.settle(this.#pass(endpointId, state, this.#now() - next.since));
    }
    // An idle endpoint costs no memory: 100,000 endpoints leave no trace once their tasks are done.
    if (state.running === 0 && state.waiting.length === 0) this.#endpoints.delete(endpointId);
  }
}

/** What {@link fairSlots} needs. */
export interface FairSlotsOptions<Task> {
  gate: EndpointGate;
  /** Runs a task in one of the shared slots (DELIVERY_CONCURRENCY, taken round robin by tenant). */
  slot<T>(task: Task, run: () => Promise<T>): Promise<T>;
  endpointOf(task: Task): string;
  /** The endpoint's concurrency limit in this instance (its own, or the platform default's). */
  limitOf(task: Task): Promise<EndpointLimit>;
  now?: () => number;
}

/** How long a task waited before it ran: at its endpoint's limit, then for a shared slot (its tenant's turn). */
export interface TaskWaits {
  endpointMs: number;
  slotMs: number;
}

/**
 * Runs a task once its endpoint is under its limit and then in a shared slot: the endpoint's wait
 * comes first, so a task at its endpoint's limit holds no slot. `run` gets the pass, to release it as
 * soon as the endpoint answered. Resolves the refusal without running the task when its endpoint is
 * slow and its wait list full.
 */
export function fairSlots<Task>(
  options: FairSlotsOptions<Task>,
): <T>(
  task: Task,
  run: (pass: EndpointPass, waits: TaskWaits) => Promise<T>,
) => Promise<EndpointRefusal | { result: T }> {
  const { gate, slot } = options;
  const now = options.now ?? Date.now;
  return async (task, run) => {
    const entered = await gate.enter(options.endpointOf(task), await options.limitOf(task));
    if ("refused" in entered) return entered;
    const pass = entered;
    try {
      const asked = now();
      const result = await slot(task, () => {
        pass.sending();
        return run(pass, { endpointMs: pass.waitedMs, slotMs: now() - asked });
      });
      return { result };
    } finally {
      pass.release();
    }
  };
}

/** Halves an endpoint's limit, not below `floor` (nor above where it is). */
function halve(state: EndpointState, floor: number): void {
  state.limit = Math.max(Math.min(state.limit, floor), Math.floor(state.limit / 2));
  state.fastAnswers = 0;
}
