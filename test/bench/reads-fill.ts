// Fills the store for the reads scenario in bulk: each event with its route and one accepted attempt,
// written through the services' own writers (ingest's EventStore, audit's writeAuditRecords) from the
// records routing and delivery publish, so the documents are those the pipeline stores, only without
// RabbitMQ and HTTP in between: a million events through the live pipeline would take ten minutes.
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AttemptTrigger,
  type AuditRecord,
  AuditRecordSchema,
  DeliveryState,
  ErrorClass,
} from "@herald/contracts";
import { type EventDocument, newEventId } from "@herald/platform/model";
import type { Db } from "mongodb";
import { AttemptLogWriter } from "../../apps/audit/src/attempt-log-writer.js";
import { writeAuditRecords } from "../../apps/audit/src/record-writer.js";
import { EventStore, toBinary } from "../../apps/ingest/src/event-store.js";
import { nowMs, pool, round } from "./system.js";

/** Event types of the filled log, equally common; ListEvents by type asks for the first. */
export const EVENT_TYPES = [
  "order.created",
  "order.paid",
  "order.shipped",
  "order.refunded",
  "invoice.created",
  "invoice.paid",
  "customer.updated",
  "subscription.renewed",
] as const;

/** What the receivers of the filled log answered, as the scenario's real receiver answers. */
export const RECEIVER_REPLY = { status: 200, body: '{"received":true}' };

/** Events per batch of writes; batches written at once. */
const BATCH = 1_000;
const CONCURRENT_BATCHES = 3;

/** One tenant of the filled log, with the endpoint its events were delivered to. */
export interface FillTenant {
  id: string;
  endpointId: string;
  /** The endpoint's URL as attempt records keep it (without a query string). */
  url: string;
}

/** Event `seq` of a tenant: its type, idempotency key (every other event has one) and payload. */
export function eventInput(tenant: number, seq: number) {
  return {
    eventType: EVENT_TYPES[seq % EVENT_TYPES.length] as string,
    idempotencyKey: seq % 2 === 0 ? `order-${tenant}-${seq}` : "",
    payload: eventPayload(tenant, seq),
  };
}

/** A payload of about 300 bytes, the same bytes each time for the same event. */
export function eventPayload(tenant: number, seq: number): Buffer {
  const n = (seq * 7_919) % 100_000;
  return Buffer.from(
    JSON.stringify({
      id: `ord_${tenant}_${seq}`,
      status: "paid",
      amount: { value: 1_000 + n, currency: "EUR" },
      customer: { id: `cus_${n}`, email: `customer${n}@example.com`, name: "Jane Example" },
      items: [
        { sku: `sku-${n % 97}`, quantity: 1 + (n % 3), price: 499 },
        { sku: `sku-${n % 89}`, quantity: 1, price: 1_299 },
      ],
      shipping: { city: "Lyon", country: "FR", postcode: "69002" },
    }),
  );
}

/** The measured tenant's events, in the order written: id, creation time (ms) and sequence number. */
export class EventLog {
  readonly ids: string[] = [];
  readonly times: number[] = [];
  /** Sequence number of each event for {@link eventInput}; -1 for events published for real. */
  readonly seqs: number[] = [];

  add(id: string, time: number, seq: number): void {
    this.ids.push(id);
    this.times.push(time);
    this.seqs.push(seq);
  }

  get length(): number {
    return this.ids.length;
  }

  /**
   * The (time, id) of the `rank`-th newest event (0 = newest), in ListEvents' order: create_time then
   * _id, both descending.
   */
  newest(rank: number): { time: number; id: string } | undefined {
    if (rank >= this.length) return undefined;
    const sorted = Float64Array.from(this.times).sort();
    const threshold = sorted[sorted.length - 1 - rank] as number;
    const top: number[] = [];
    for (let i = 0; i < this.length; i++) if ((this.times[i] as number) >= threshold) top.push(i);
    top.sort((a, b) => {
      const dt = (this.times[b] as number) - (this.times[a] as number);
      if (dt !== 0) return dt;
      const [ia, ib] = [this.ids[a] as string, this.ids[b] as string];
      return ia < ib ? 1 : ia > ib ? -1 : 0;
    });
    const i = top[rank] as number;
    return { time: this.times[i] as number, id: this.ids[i] as string };
  }
}

/** The event, its route and its attempt. */
const DOCUMENTS_PER_EVENT = 3;

export interface FillResult {
  /** Events written, of every tenant. */
  events: number;
  /** Documents written: events, routes and attempts (an accepted first attempt's delivery has none). */
  documents: number;
  seconds: number;
  eventsPerSecond: number;
  documentsPerSecond: number;
}

/**
 * Writes events of `tenants[0]` (the measured tenant, logged in `log`) and a tenth as many of the others,
 * spread over [from, to), through ingest's and audit's writers.
 */
export class LogFiller {
  readonly #store: EventStore;
  readonly #writer: AttemptLogWriter;
  readonly #tenants: FillTenant[];
  readonly #seqs: number[];
  readonly log = new EventLog();

  /** `db` holds events, `auditDb` audit's collections, as the services' MONGO_DB and AUDIT_MONGO_DB. */
  constructor(db: Db, auditDb: Db, tenants: FillTenant[]) {
    this.#store = new EventStore(db);
    this.#writer = new AttemptLogWriter(auditDb);
    this.#tenants = tenants;
    this.#seqs = tenants.map(() => 0);
  }

  /** Adds `count` events of the measured tenant (and a tenth as many of the others) created in [from, to). */
  async fill(
    count: number,
    from: number,
    to: number,
    progress: (written: number, total: number) => void,
  ): Promise<FillResult> {
    const started = nowMs();
    const others = this.#tenants.length > 1 ? Math.floor(count / 10) : 0;
    const total = count + others;
    // Times in order, as the pipeline writes them; which tenant each belongs to, spread evenly.
    const times = Float64Array.from({ length: total }, () =>
      Math.floor(from + Math.random() * (to - from)),
    ).sort();
    const tenantOf = (i: number) =>
      others > 0 && Math.floor(((i + 1) * others) / total) > Math.floor((i * others) / total)
        ? 1 + (i % (this.#tenants.length - 1))
        : 0;
    let written = 0;
    await pool(Math.ceil(total / BATCH), CONCURRENT_BATCHES, async (b) => {
      const events: Array<{ tenant: number; seq: number; doc: EventDocument }> = [];
      for (let i = b * BATCH; i < Math.min(total, (b + 1) * BATCH); i++) {
        const tenant = tenantOf(i);
        const seq = this.#seqs[tenant] as number;
        this.#seqs[tenant] = seq + 1;
        events.push({ tenant, seq, doc: this.#eventDocument(tenant, seq, times[i] as number) });
      }
      await this.#writeBatch(events);
      for (const { tenant, seq, doc } of events)
        if (tenant === 0) this.log.add(doc._id, doc.create_time.getTime(), seq);
      written += events.length;
      progress(written, total);
    });
    await this.#store.flush();
    const seconds = (nowMs() - started) / 1000;
    return {
      events: total,
      documents: total * DOCUMENTS_PER_EVENT,
      seconds: round(seconds),
      eventsPerSecond: Math.round(total / seconds),
      documentsPerSecond: Math.round((total * DOCUMENTS_PER_EVENT) / seconds),
    };
  }

  /** The event as ingest's publishEvent builds it, already confirmed by RabbitMQ. */
  #eventDocument(tenant: number, seq: number, time: number): EventDocument {
    const input = eventInput(tenant, seq);
    const id = newEventId(time);
    return {
      _id: id,
      tenant_id: (this.#tenants[tenant] as FillTenant).id,
      event_type: input.eventType,
      payload: toBinary(input.payload),
      channels: [],
      ...(input.idempotencyKey ? { idempotency_key: input.idempotencyKey } : {}),
      dedupe_key: input.idempotencyKey || id,
      create_time: new Date(time),
      // Ingest marks an event with a key published once RabbitMQ confirmed it; the others stay false.
      published: Boolean(input.idempotencyKey),
    };
  }

  async #writeBatch(events: Array<{ tenant: number; doc: EventDocument }>): Promise<void> {
    // Ingest's insert; then its confirm settles each event's round, so no marker is left for the sweep.
    await Promise.all(events.map(({ doc }) => this.#store.insertOrGet(doc)));
    await Promise.all(events.map(({ doc }) => this.#store.markPublished({ _id: doc._id })));
    // Routing's record of each event, then delivery's record of its one attempt, as audit consumes them.
    const records: AuditRecord[] = [];
    let last = 0;
    for (const { tenant, doc } of events) {
      const t = this.#tenants[tenant] as FillTenant;
      const created = doc.create_time.getTime();
      const routed = created + 2 + Math.floor(Math.random() * 4);
      const attempted = routed + 10 + Math.floor(Math.random() * 40);
      last = Math.max(last, attempted);
      records.push(
        create(AuditRecordSchema, {
          record: {
            case: "routing",
            value: {
              eventId: doc._id,
              tenantId: t.id,
              eventType: doc.event_type,
              endpointIds: [t.endpointId],
              routeTime: timestampFromDate(new Date(routed)),
            },
          },
          state: DeliveryState.PENDING,
        }),
        create(AuditRecordSchema, {
          record: {
            case: "attempt",
            value: {
              id: `att_${randomUUID().replaceAll("-", "")}`,
              tenantId: t.id,
              eventId: doc._id,
              endpointId: t.endpointId,
              attemptNumber: 1,
              trigger: AttemptTrigger.SCHEDULED,
              success: true,
              responseStatus: RECEIVER_REPLY.status,
              responseBody: RECEIVER_REPLY.body,
              latencyMs: 3 + Math.floor(Math.random() * 30),
              errorClass: ErrorClass.NONE,
              attemptTime: timestampFromDate(new Date(attempted)),
              url: t.url,
            },
          },
          state: DeliveryState.SUCCEEDED,
        }),
      );
    }
    await writeAuditRecords(this.#writer, records, new Date(last + 5));
  }
}
