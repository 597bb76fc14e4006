import {
  type EndpointDocument,
  type EventDocument,
  endpointsCollection,
  eventsCollection,
} from "@herald/platform/model";
import type { Collection, Db } from "mongodb";
import {
  type AttemptDocument,
  attemptsCollection,
  type DeliveryDocument,
  type DeliveryRef,
  deliveriesCollection,
  deliveryId,
  type EventRouteDocument,
  eventRoutesCollection,
  findSucceededAttempts,
  implicitDelivery,
} from "./documents.js";
import type { PageQuery, ReplayQuery } from "./queries.js";

/** The projection that keeps an event's payload out of list queries. */
const WITHOUT_PAYLOAD = { projection: { payload: 0 } } as const;

/**
 * The audit service's reads, for its queries and replays: attempts, routes and deliveries from
 * audit's own collections, events and endpoint ids from the shared ones.
 */
export class AttemptLogReader {
  readonly #attempts: Collection<AttemptDocument>;
  readonly #deliveries: Collection<DeliveryDocument>;
  readonly #routes: Collection<EventRouteDocument>;
  readonly #events: Collection<EventDocument>;
  readonly #endpoints: Collection<EndpointDocument>;

  /** `db` holds events and endpoints; `auditDb` audit's own collections (default `db`). */
  constructor(db: Db, auditDb: Db = db) {
    this.#attempts = attemptsCollection(auditDb);
    this.#deliveries = deliveriesCollection(auditDb);
    this.#routes = eventRoutesCollection(auditDb);
    this.#events = eventsCollection(db);
    this.#endpoints = endpointsCollection(db);
  }

  findEvent(tenantId: string, eventId: string): Promise<EventDocument | null> {
    return this.#events.findOne({ _id: eventId, tenant_id: tenantId });
  }

  /** Events of the tenant among `eventIds`, with payloads. */
  async findEvents(tenantId: string, eventIds: string[]): Promise<EventDocument[]> {
    const events = await this.#events.find({ _id: { $in: eventIds } }).toArray();
    return events.filter((e) => e.tenant_id === tenantId);
  }

  findRoute(tenantId: string, eventId: string): Promise<EventRouteDocument | null> {
    return this.#routes.findOne({ _id: eventId, tenant_id: tenantId });
  }

  /**
   * Routes of the tenant's events among `eventIds`, by event id. Reads by ids go by `_id` alone, the
   * tenant checked on the documents: with `tenant_id` in the filter the embedded server walks the
   * tenant's index instead and reads every route of the tenant (docs/storage.md §1).
   */
  async findRoutes(tenantId: string, eventIds: string[]): Promise<Map<string, EventRouteDocument>> {
    if (eventIds.length === 0) return new Map();
    const routes = await this.#routes.find({ _id: { $in: eventIds } }).toArray();
    return new Map(routes.filter((r) => r.tenant_id === tenantId).map((r) => [r._id, r]));
  }

  /** Whether the tenant has this endpoint. Only the id is read: endpoint secrets stay in MongoDB. */
  async hasEndpoint(tenantId: string, endpointId: string): Promise<boolean> {
    const found = await this.#endpoints.findOne(
      { _id: endpointId, tenant_id: tenantId },
      { projection: { _id: 1 } },
    );
    return found !== null;
  }

  /** The ids among `endpointIds` that are endpoints of the tenant. */
  async existingEndpointIds(tenantId: string, endpointIds: string[]): Promise<Set<string>> {
    const found = await this.#endpoints
      .find({ _id: { $in: endpointIds }, tenant_id: tenantId }, { projection: { _id: 1 } })
      .toArray();
    return new Set(found.map((e) => e._id));
  }

  /** Up to `limit` ids of the tenant's endpoints after `afterId`, in id order. */
  async endpointIdsAfter(tenantId: string, afterId: string, limit: number): Promise<string[]> {
    const found = await this.#endpoints
      .find({ tenant_id: tenantId, _id: { $gt: afterId } }, { projection: { _id: 1 } })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
    return found.map((e) => e._id);
  }

  /**
   * A delivery's document, or for one that has none (its first attempt was accepted) the document its
   * accepted attempts make; null when it has neither.
   */
  async findDelivery(ref: DeliveryRef): Promise<DeliveryDocument | null> {
    const doc = await this.#deliveries.findOne({
      _id: deliveryId(ref.eventId, ref.endpointId),
      tenant_id: ref.tenantId,
    });
    if (doc) return doc;
    // By the event, the endpoint checked here: an event has few attempts, an endpoint may have millions,
    // and a server without statistics might pick the endpoint's index for a filter naming both.
    const succeeded = await this.succeededAttemptsOfEvent(ref.tenantId, ref.eventId);
    return implicitDelivery(succeeded.filter((a) => a.endpoint_id === ref.endpointId)) ?? null;
  }

  deliveriesOfEvent(tenantId: string, eventId: string): Promise<DeliveryDocument[]> {
    return this.#deliveries
      .find({ tenant_id: tenantId, event_id: eventId })
      .sort({ endpoint_id: 1 })
      .toArray();
  }

  /**
   * The event's accepted attempts, without response bodies: the status of its deliveries that have no
   * document (see `eventDeliveries`).
   */
  succeededAttemptsOfEvent(tenantId: string, eventId: string): Promise<AttemptDocument[]> {
    return findSucceededAttempts(this.#attempts, tenantId, [eventId]);
  }

  /** One more than a page, so the caller knows whether another page follows. */
  listAttempts(query: PageQuery<AttemptDocument>): Promise<AttemptDocument[]> {
    return this.#attempts
      .find(query.filter)
      .sort(query.sort)
      .limit(query.pageSize + 1)
      .toArray();
  }

  /** One more than a page, without payloads. */
  listEvents(query: PageQuery<EventDocument>): Promise<EventDocument[]> {
    return this.#events
      .find(query.filter, WITHOUT_PAYLOAD)
      .sort(query.sort)
      .limit(query.pageSize + 1)
      .toArray();
  }

  /** Up to `limit + 1` deliveries to replay: the extra one tells the result was truncated. */
  findReplayable(query: ReplayQuery): Promise<DeliveryDocument[]> {
    return this.#deliveries
      .find(query.filter)
      .sort(query.sort)
      .limit(query.limit + 1)
      .toArray();
  }
}
