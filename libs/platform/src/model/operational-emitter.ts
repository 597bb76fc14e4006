import type { Event } from "@herald/contracts";
import { LRUCache } from "lru-cache";
import { Binary, type Collection, type Db } from "mongodb";
import type { Queue } from "../amqp/queues.js";
import type { Logger } from "../logger.js";
import { isDuplicateKeyError } from "../mongo.js";
import { Collections, type EventDocument, eventsCollection } from "./documents.js";
import { newEventId } from "./event-id.js";
import {
  OPERATIONAL_KEY_PREFIX,
  OPERATIONAL_TYPE_PREFIX,
  type OperationalData,
  type OperationalEventType,
} from "./operational-events.js";
import { eventMessage } from "./queues.js";

/** One fact Herald tells about: its type, the tenant it is about, what makes it one, and its payload. */
export interface OperationalFact<T extends OperationalEventType = OperationalEventType> {
  type: T;
  tenantId: string;
  /**
   * What makes the fact one, e.g. the endpoint and the time it was disabled: the same fact emitted by
   * several instances, or again after a retry, is stored and delivered once.
   */
  key: string;
  data: OperationalData<T>;
  /** When the fact happened; default now. */
  time?: Date;
}

/** Options of {@link OperationalEmitter}. */
export interface OperationalEmitterOptions {
  db: Db;
  /** The event queue (`openQueue(eventQueue, ctx)`): operational events go where ingest's go. */
  events: Pick<Queue<Event>, "publish">;
  /**
   * The operator's platform tenant: its endpoints get a copy of every tenant's operational events
   * (`HERALD_OPERATOR_TENANT`); empty for none.
   */
  operatorTenantId: string;
  logger: Logger;
  now?: () => Date;
}

/** Facts this instance emitted lately, remembered so that repeating one costs no database round trip. */
const RECENT_FACTS = 10_000;
const RECENT_FACT_MS = 3_600_000;

/** The marker the republish sweep looks for, as ingest's EventStore writes it for one event. */
interface UnpublishedMarker {
  _id: string;
  event_ids: string[];
  create_time: Date;
}

/**
 * The one way Herald emits an operational event: stored in the tenant's event log under an idempotency
 * key derived from the fact (and a copy in the operator's tenant), then published to the event queue
 * exactly as ingest publishes, so routing sends it to the endpoints subscribed to its type, and it is
 * retried, logged and traced like any event. An event stored but not confirmed keeps its marker, so
 * ingest's republish sweep publishes it. Emitting never throws: a fact that could not be stored is
 * logged and may be emitted again.
 */
export class OperationalEmitter {
  readonly #events: Collection<EventDocument>;
  readonly #unpublished: Collection<UnpublishedMarker>;
  readonly #queue: OperationalEmitterOptions["events"];
  readonly #operatorTenantId: string;
  readonly #logger: Logger;
  readonly #now: () => Date;
  readonly #recent = new LRUCache<string, true>({ max: RECENT_FACTS, ttl: RECENT_FACT_MS });
  readonly #pending = new Set<Promise<void>>();

  constructor(options: OperationalEmitterOptions) {
    this.#events = eventsCollection(options.db);
    this.#unpublished = options.db.collection<UnpublishedMarker>(Collections.unpublishedEvents);
    this.#queue = options.events;
    this.#operatorTenantId = options.operatorTenantId;
    this.#logger = options.logger;
    this.#now = options.now ?? (() => new Date());
  }

  /** Emits the fact once (per tenant it goes to); resolves when it is stored and published, or failed. */
  emit<T extends OperationalEventType>(fact: OperationalFact<T>): Promise<void> {
    const name = fact.type.slice(OPERATIONAL_TYPE_PREFIX.length);
    const factId = `${OPERATIONAL_KEY_PREFIX}${name}:${fact.key}`;
    const recentId = `${fact.tenantId}\u0000${factId}`;
    if (this.#recent.has(recentId)) return Promise.resolve();
    this.#recent.set(recentId, true);
    const time = fact.time ?? this.#now();
    const payload = Buffer.from(
      JSON.stringify({ tenant_id: fact.tenantId, time: time.toISOString(), ...fact.data }),
    );
    const copies = [{ tenantId: fact.tenantId, key: factId }];
    // The operator's copy is keyed with the source tenant: keys are unique per tenant.
    if (this.#operatorTenantId && this.#operatorTenantId !== fact.tenantId)
      copies.push({
        tenantId: this.#operatorTenantId,
        key: `${OPERATIONAL_KEY_PREFIX}${name}:${fact.tenantId}:${fact.key}`,
      });
    const emitting = Promise.all(copies.map((copy) => this.#store(fact.type, copy, payload)))
      .then(() => undefined)
      .catch((err: unknown) => {
        this.#recent.delete(recentId);
        this.#logger.warn(
          { err, eventType: fact.type, tenantId: fact.tenantId },
          "operational event not emitted",
        );
      });
    this.#pending.add(emitting);
    void emitting.finally(() => this.#pending.delete(emitting));
    return emitting;
  }

  /** Resolves once every emit under way is done: before the service closes its connections. */
  async drain(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  /** Stores one copy unless its key is taken, then publishes it; returns whether it was new. */
  async #store(
    eventType: OperationalEventType,
    copy: { tenantId: string; key: string },
    payload: Buffer,
  ): Promise<boolean> {
    const createTime = this.#now();
    const doc: EventDocument = {
      _id: newEventId(createTime.getTime()),
      tenant_id: copy.tenantId,
      event_type: eventType,
      payload: new Binary(payload),
      channels: [],
      idempotency_key: copy.key,
      dedupe_key: copy.key,
      create_time: createTime,
      published: false,
    };
    // The marker first, as ingest does: an event stored but never confirmed is left to the sweep.
    const markerId = `event_${doc._id}`;
    await this.#unpublished.insertOne({ _id: markerId, event_ids: [doc._id], create_time: createTime });
    try {
      await this.#events.insertOne(doc);
    } catch (err) {
      await this.#unpublished.deleteOne({ _id: markerId }).catch(() => undefined);
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
    await this.#queue.publish(eventMessage(doc));
    await this.#events.updateOne({ _id: doc._id }, { $set: { published: true } });
    await this.#unpublished.deleteOne({ _id: markerId });
    return true;
  }
}
