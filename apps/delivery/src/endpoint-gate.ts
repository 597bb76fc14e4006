// Per-endpoint concurrency in this instance's memory, in front of the shared delivery slots: a task
// whose endpoint is at its limit waits here holding no slot, so a slow receiver holds at most its own
// limit of slots and healthy endpoints keep the rest (docs/decisions/fair-delivery.md).

/** A task's way through its endpoint's gate; release it once its request is answered. */
export interface EndpointPass {
  /** How long the task waited at its endpoint's limit, in ms (0 when it went straight through). */
  waitedMs: number;
  release(): void;
}

interface Waiter {
  since: number;
  admit(pass: EndpointPass): void;
}

interface EndpointState {
  running: number;
  limit: number;
  waiting: Waiter[];
}

export interface EndpointGateOptions {
  /** Tasks that may wait at one endpoint's limit; beyond it `enter` refuses them. */
  maxWaiting: number;
  now?: () => number;
}

/** Counts each endpoint's requests in flight and queues the tasks over its limit, first come first served. */
export class EndpointGate {
  readonly #endpoints = new Map<string, EndpointState>();
  readonly #maxWaiting: number;
  readonly #now: () => number;
  #waiting = 0;

  constructor(options: EndpointGateOptions) {
    if (!(options.maxWaiting >= 0)) throw new RangeError(`maxWaiting must be ≥ 0, not ${options.maxWaiting}`);
    this.#maxWaiting = options.maxWaiting;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Lets a task through to `endpointId` when fewer than `limit` of its requests are in flight, or queues
   * it until one is answered. Undefined when the endpoint already has `maxWaiting` tasks waiting: the
   * caller hands the task back to the broker rather than hold it here.
   */
  enter(endpointId: string, limit: number): Promise<EndpointPass> | undefined {
    if (!(limit >= 1)) throw new RangeError(`an endpoint's limit must be ≥ 1, not ${limit}`);
    let state = this.#endpoints.get(endpointId);
    if (!state) {
      state = { running: 0, limit, waiting: [] };
      this.#endpoints.set(endpointId, state);
    }
    // The latest limit wins: an operator's change applies to the tasks behind it.
    state.limit = limit;
    if (state.running < limit && state.waiting.length === 0) {
      state.running += 1;
      return Promise.resolve(this.#pass(endpointId, state, 0));
    }
    if (state.waiting.length >= this.#maxWaiting) return undefined;
    const since = this.#now();
    this.#waiting += 1;
    const current = state;
    const admitted = new Promise<EndpointPass>((admit) => current.waiting.push({ since, admit }));
    // A raised limit lets waiting tasks through at once.
    this.#admitWaiting(endpointId, current);
    return admitted;
  }

  /** Tasks waiting at their endpoint's limit, across endpoints. */
  get waiting(): number {
    return this.#waiting;
  }

  /** The `n` endpoints with the most tasks waiting, most first (for bounded-cardinality metrics). */
  busiest(n: number): Array<{ endpointId: string; waiting: number; running: number }> {
    return [...this.#endpoints]
      .filter(([, s]) => s.waiting.length > 0)
      .sort(([, a], [, b]) => b.waiting.length - a.waiting.length)
      .slice(0, n)
      .map(([endpointId, s]) => ({ endpointId, waiting: s.waiting.length, running: s.running }));
  }

  #pass(endpointId: string, state: EndpointState, waitedMs: number): EndpointPass {
    let released = false;
    return {
      waitedMs,
      release: () => {
        if (released) return;
        released = true;
        state.running -= 1;
        this.#admitWaiting(endpointId, state);
      },
    };
  }

  #admitWaiting(endpointId: string, state: EndpointState): void {
    while (state.running < state.limit && state.waiting.length > 0) {
      const next = state.waiting.shift() as Waiter;
      this.#waiting -= 1;
      state.running += 1;
      next.admit(this.#pass(endpointId, state, this.#now() - next.since));
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
  /** The endpoint's concurrency limit in this instance (its own, or the platform default). */
  limitOf(task: Task): Promise<number>;
}

/**
 * Runs a task once its endpoint is under its limit and then in a shared slot: the endpoint's wait
 * comes first, so a task at its endpoint's limit holds no slot. Resolves `{ full: true }` without
 * running it when the endpoint's wait list is full.
 */
export function fairSlots<Task>(
  options: FairSlotsOptions<Task>,
): <T>(task: Task, run: (waitedMs: number) => Promise<T>) => Promise<{ full: true } | { result: T }> {
  const { gate, slot } = options;
  return async (task, run) => {
    const entered = gate.enter(options.endpointOf(task), await options.limitOf(task));
    if (!entered) return { full: true };
    const pass = await entered;
    try {
      return { result: await slot(task, () => run(pass.waitedMs)) };
    } finally {
      pass.release();
    }
  };
}
