import http from "node:http";
import type { AddressInfo } from "node:net";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import type { IngestService } from "@herald/contracts";
import { sleep } from "./infra.js";

/** One event the load publisher sent, with the id ingest acknowledged it under. */
export interface PublishedEvent {
  tenantId: string;
  /** Idempotency key: the same on every retry of the publish. */
  key: string;
  /** When the first publish attempt started. */
  firstAttemptAt: number;
  attempts: number;
  /** Set once a publish succeeded (acknowledged, so Herald owes its delivery). */
  eventId?: string;
  ackAt?: number;
  /** Set when every retry failed for `giveUpAfterMs`. */
  abandoned?: boolean;
}

/** Options of {@link LoadPublisher}. */
export interface LoadOptions {
  /**
   * IngestService clients per tenant, authenticated with that tenant's publish key: one, or one per
   * ingest copy, taken in turn by event and, for its retries, by attempt (a client behind a load
   * balancer retries on another copy).
   */
  tenants: Array<{ tenantId: string; ingest: Client<typeof IngestService> | Client<typeof IngestService>[] }>;
  /** Events started per second, over all tenants (round robin). */
  ratePerSecond: number;
  /** Publishes (with their retries) outstanding at once; a tick finding this many skips its event. */
  maxInFlight: number;
  /** Deadline of one call. */
  callTimeoutMs: number;
  /** Pause between a failed call and its first retry; it doubles (with jitter) up to `maxRetryPauseMs`. */
  retryPauseMs: number;
  maxRetryPauseMs: number;
  /** A publish still failing after this long is abandoned (and reported). */
  giveUpAfterMs: number;
}

/**
 * A steady publisher: `ratePerSecond` events, each with a unique idempotency key, retried with that same
 * key after any error until it succeeds, so a call that failed after Herald stored the event is not
 * published twice under two ids.
 */
export class LoadPublisher {
  readonly events: PublishedEvent[] = [];
  /** Failed calls by gRPC code name. */
  readonly errors = new Map<string, number>();
  skippedTicks = 0;
  readonly #options: LoadOptions;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #byId = new Map<string, PublishedEvent>();
  #timer: NodeJS.Timeout | undefined;
  #seq = 0;

  constructor(options: LoadOptions) {
    this.#options = options;
  }

  start(): void {
    this.#timer = setInterval(() => this.#tick(), 1_000 / this.#options.ratePerSecond);
  }

  /** Stops starting events and waits for those in flight to succeed or be abandoned. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Acknowledged events, optionally of one tenant. */
  acked(tenantId?: string): PublishedEvent[] {
    return this.events.filter((e) => e.eventId && (tenantId === undefined || e.tenantId === tenantId));
  }

  byId(eventId: string): PublishedEvent | undefined {
    return this.#byId.get(eventId);
  }

  #tick(): void {
    if (this.#inFlight.size >= this.#options.maxInFlight) {
      this.skippedTicks += 1;
      return;
    }
    const seq = this.#seq++;
    const target = this.#options.tenants[seq % this.#options.tenants.length];
    if (!target) return;
    const event: PublishedEvent = {
      tenantId: target.tenantId,
      key: `chaos-${target.tenantId}-${seq}`,
      firstAttemptAt: Date.now(),
      attempts: 0,
    };
    this.events.push(event);
    const clients = Array.isArray(target.ingest) ? target.ingest : [target.ingest];
    const publishing = this.#publish(clients, Math.floor(seq / this.#options.tenants.length), event).finally(
      () => this.#inFlight.delete(publishing),
    );
    this.#inFlight.add(publishing);
  }

  /** `turn` picks the client of the first attempt; each retry takes the next. */
  async #publish(
    clients: Client<typeof IngestService>[],
    turn: number,
    event: PublishedEvent,
  ): Promise<void> {
    const payload = Buffer.from(JSON.stringify({ key: event.key, at: event.firstAttemptAt }));
    let pauseMs = this.#options.retryPauseMs;
    for (;;) {
      const ingest = clients[(turn + event.attempts) % clients.length] as Client<typeof IngestService>;
      event.attempts += 1;
      try {
        const res = await ingest.publishEvent(
          {
            tenantId: event.tenantId,
            event: { eventType: "chaos.tick", payload, idempotencyKey: event.key },
          },
          { timeoutMs: this.#options.callTimeoutMs },
        );
        event.eventId = res.eventId;
        event.ackAt = Date.now();
        this.#byId.set(res.eventId, event);
        return;
      } catch (err) {
        const code = Code[ConnectError.from(err).code] ?? "Unknown";
        this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
        if (Date.now() - event.firstAttemptAt > this.#options.giveUpAfterMs) {
          event.abandoned = true;
          return;
        }
        // Exponential backoff with jitter, as a well-behaved client does: a herd of immediate retries
        // would keep a recovering Herald (and its MongoDB) busy with nothing but retries.
        await sleep(pauseMs * (0.5 + Math.random()));
        pauseMs = Math.min(pauseMs * 2, this.#options.maxRetryPauseMs);
      }
    }
  }
}

/** One webhook as a receiver got it. */
export interface Arrival {
  webhookId: string;
  /** The idempotency key from the payload: which published event this is. */
  key: string;
  at: number;
}

/**
 * A webhook receiver that can be taken down (server closed, connections dropped) and brought back on
 * the same port. It answers 204 and keeps every arrival, so loss and duplicates can be counted.
 */
export class ChaosReceiver {
  readonly arrivals: Arrival[] = [];
  /** First arrival time by webhook-id. */
  readonly firstSeen = new Map<string, number>();
  /** Arrivals whose webhook-id differed from an earlier arrival of the same event (must stay 0). */
  readonly idMismatches: Arrival[] = [];
  readonly #keyToId = new Map<string, string>();
  #server: http.Server | undefined;
  #port = 0;

  constructor(readonly name: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hook`;
  }

  /** Listens: on a free port the first time, on the same port afterwards. */
  async up(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const webhookId = String(req.headers["webhook-id"] ?? "");
        let key = "";
        try {
          key = String((JSON.parse(Buffer.concat(chunks).toString()) as { key?: unknown }).key ?? "");
        } catch {
          // counted as an arrival without key
        }
        const arrival = { webhookId, key, at: Date.now() };
        this.arrivals.push(arrival);
        if (!this.firstSeen.has(webhookId)) this.firstSeen.set(webhookId, arrival.at);
        const known = this.#keyToId.get(key);
        if (known === undefined) this.#keyToId.set(key, webhookId);
        else if (known !== webhookId) this.idMismatches.push(arrival);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, "127.0.0.1", () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Closes the server and drops every connection: deliveries now fail to connect. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  /** Webhook-ids received more than once, with how many copies. */
  duplicates(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const a of this.arrivals) counts.set(a.webhookId, (counts.get(a.webhookId) ?? 0) + 1);
    return new Map([...counts].filter(([, n]) => n > 1));
  }
}
