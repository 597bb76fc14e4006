import { HealthCheckResponse_ServingStatus as ServingStatus } from "@herald/contracts";
import type { Logger } from "pino";

export { ServingStatus };

/** One dependency the service needs to do its work. A check resolves true when it is usable. */
export interface DependencyCheck {
  name: string;
  check(): Promise<boolean>;
}

/** Options of {@link HealthMonitor}. */
export interface HealthMonitorOptions {
  checks: DependencyCheck[];
  /** How often to check; default 2 s. */
  intervalMs?: number;
  /** A check that takes longer than this counts as failed; default 2 s. */
  timeoutMs?: number;
  logger: Logger;
}

/**
 * Tracks whether the service can serve: SERVING only while every dependency check passes and the
 * service is not shutting down. Watchers are told of every change (gRPC health Watch, readiness).
 */
export class HealthMonitor {
  readonly #options: HealthMonitorOptions;
  #status = ServingStatus.NOT_SERVING;
  #failing: string[] = [];
  #timer?: NodeJS.Timeout;
  #draining = false;
  readonly #watchers = new Set<(status: ServingStatus) => void>();

  constructor(options: HealthMonitorOptions) {
    this.#options = options;
  }

  get status(): ServingStatus {
    return this.#status;
  }

  /** Names of the dependencies failing at the last check. */
  get failing(): readonly string[] {
    return this.#failing;
  }

  /** Runs a first check now and then keeps checking in the background. */
  async start(): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#options.intervalMs ?? 2_000);
    this.#timer.unref();
  }

  /** Reports NOT_SERVING from now on, so load balancers stop sending work before shutdown. */
  drain(): void {
    this.#draining = true;
    clearInterval(this.#timer);
    this.#set(ServingStatus.NOT_SERVING);
  }

  watch(listener: (status: ServingStatus) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  async refresh(): Promise<void> {
    const timeoutMs = this.#options.timeoutMs ?? 2_000;
    const results = await Promise.all(
      this.#options.checks.map(async (dep) => ({
        name: dep.name,
        ok: await withTimeout(dep.check(), timeoutMs),
      })),
    );
    const failing = results.filter((r) => !r.ok).map((r) => r.name);
    if (failing.join() !== this.#failing.join()) {
      if (failing.length > 0) this.#options.logger.warn({ failing }, "dependencies unavailable");
      else this.#options.logger.info("all dependencies available");
    }
    this.#failing = failing;
    if (!this.#draining) this.#set(failing.length === 0 ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
  }

  #set(status: ServingStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    for (const watcher of this.#watchers) watcher(status);
  }
}

/**
 * RabbitMQ is usable while the connection is open. rabbitmq-client's `ready` also reads false while the
 * socket is corked, and Herald's patch corks it for the rest of every tick that writes frames (a
 * publish, an ack, a consumer's setup), so it is read after those frames have left: read in the same
 * tick as the consumers' setup, it reported the broker unavailable at every start.
 */
export function rabbitmqCheck(connection: { readonly ready: boolean }): DependencyCheck {
  return {
    name: "rabbitmq",
    async check() {
      await new Promise((resolve) => setImmediate(resolve));
      return connection.ready;
    },
  };
}

async function withTimeout(check: Promise<boolean>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([check.catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
