import type { ControlNotification } from "@herald/contracts";
import { LRUCache } from "lru-cache";
import type { Db } from "mongodb";
import {
  type EndpointDocument,
  type EventTypeDocument,
  endpointsCollection,
  eventTypeId,
  eventTypesCollection,
  type TenantDocument,
  tenantsCollection,
} from "./documents.js";

/** Options of {@link ControlPlaneCache}. */
export interface ControlPlaneCacheOptions {
  /**
   * How long an entry is trusted without reading MongoDB; default 30 s. Control notifications evict
   * entries at once, so this only bounds staleness when a notification was missed.
   */
  ttlMs?: number;
  /** Entries of each kind kept; default 10 000. */
  max?: number;
}

// Tenants and endpoint lists that do not exist are cached too (as null), so a flood of events for a
// deleted tenant does not become a flood of MongoDB reads.
type Cached<T> = { value: T | null };

/**
 * Read-through cache of tenants and endpoints for the data plane (ingest, routing, delivery) and audit.
 * Feed it control notifications ({@link onControlChange}).
 */
export class ControlPlaneCache {
  readonly #db: Db;
  readonly #tenants: LRUCache<string, Cached<TenantDocument>>;
  readonly #endpoints: LRUCache<string, Cached<EndpointDocument>>;
  readonly #tenantEndpoints: LRUCache<string, Cached<EndpointDocument[]>>;
  readonly #eventTypes: LRUCache<string, Cached<EventTypeDocument>>;
  /** Reads under way, by kind and key: a burst of misses for one key (a cold cache) reads MongoDB once. */
  readonly #loading = new Map<string, Promise<unknown>>();
  /** Counts invalidations, so a read that an invalidation overtook is not cached. */
  #generation = 0;

  constructor(db: Db, options: ControlPlaneCacheOptions = {}) {
    this.#db = db;
    const settings = { max: options.max ?? 10_000, ttl: options.ttlMs ?? 30_000 };
    this.#tenants = new LRUCache(settings);
    this.#endpoints = new LRUCache(settings);
    this.#tenantEndpoints = new LRUCache(settings);
    this.#eventTypes = new LRUCache(settings);
  }

  async tenant(tenantId: string): Promise<TenantDocument | null> {
    return this.#read("tenant", this.#tenants, tenantId, () =>
      tenantsCollection(this.#db).findOne({ _id: tenantId }),
    );
  }

  /**
   * The tenant's delivery weight (`settings.delivery_weight`, 1 when unset) from what the cache holds,
   * never reading MongoDB: 1 for a tenant not cached. The fair schedulers ask it once per turn and must
   * not wait; every service that schedules by tenant reads the tenant on its path anyway (ingest per
   * call, routing per event, delivery per task), so a contending tenant is cached.
   */
  tenantWeight(tenantId: string): number {
    return this.#tenants.peek(tenantId)?.value?.settings.delivery_weight ?? 1;
  }

  async endpoint(endpointId: string): Promise<EndpointDocument | null> {
    return this.#read("endpoint", this.#endpoints, endpointId, () =>
      endpointsCollection(this.#db).findOne({ _id: endpointId }),
    );
  }

  /** Every endpoint of the tenant, enabled or not, in id order. */
  async endpointsOf(tenantId: string): Promise<EndpointDocument[]> {
    const list = await this.#read("endpoints", this.#tenantEndpoints, tenantId, () =>
      endpointsCollection(this.#db).find({ tenant_id: tenantId }).sort({ _id: 1 }).toArray(),
    );
    return list ?? [];
  }

  /** A type of the tenant's event type catalog, archived or not; null when the catalog has none. */
  async eventType(tenantId: string, name: string): Promise<EventTypeDocument | null> {
    const id = eventTypeId(tenantId, name);
    return this.#read("eventType", this.#eventTypes, id, () =>
      eventTypesCollection(this.#db).findOne({ _id: id }),
    );
  }

  /**
   * Applies a control notification: drops the event type, endpoint or tenant it names, or everything
   * when notifications may have been missed (`undefined`). An API key's revocation changes nothing here.
   */
  onControlChange(change: ControlNotification | undefined): void {
    if (change?.apiKeyId) return;
    if (change?.eventType) this.invalidateEventType(change.tenantId, change.eventType);
    else this.invalidate(change?.tenantId, change?.endpointId);
  }

  /** Drops one event type of a tenant's catalog (a notification naming it). */
  invalidateEventType(tenantId: string, name: string): void {
    this.#generation++;
    this.#loading.clear();
    this.#eventTypes.delete(eventTypeId(tenantId, name));
  }

  /** Drops a tenant, its endpoints and event types (or one endpoint), or everything when no tenant is named. */
  invalidate(tenantId?: string, endpointId?: string): void {
    this.#generation++;
    this.#loading.clear();
    if (tenantId === undefined) {
      this.#tenants.clear();
      this.#endpoints.clear();
      this.#tenantEndpoints.clear();
      this.#eventTypes.clear();
      return;
    }
    this.#tenantEndpoints.delete(tenantId);
    if (endpointId) {
      this.#endpoints.delete(endpointId);
      return;
    }
    this.#tenants.delete(tenantId);
    const prefix = eventTypeId(tenantId, "");
    for (const id of [...this.#eventTypes.keys()]) if (id.startsWith(prefix)) this.#eventTypes.delete(id);
    for (const [id, cached] of this.#endpoints.entries()) {
      if (cached.value?.tenant_id === tenantId) this.#endpoints.delete(id);
    }
  }

  async #read<T>(
    kind: string,
    cache: LRUCache<string, Cached<T>>,
    key: string,
    load: () => Promise<T | null>,
  ): Promise<T | null> {
    const hit = cache.get(key);
    if (hit) return hit.value;
    const loadingKey = `${kind}:${key}`;
    const pending = this.#loading.get(loadingKey) as Promise<T | null> | undefined;
    if (pending) return pending;
    const generation = this.#generation;
    const read = load().then((value) => {
      if (generation === this.#generation) cache.set(key, { value });
      return value;
    });
    this.#loading.set(loadingKey, read);
    const forget = () => {
      if (this.#loading.get(loadingKey) === read) this.#loading.delete(loadingKey);
    };
    read.then(forget, forget);
    return read;
  }
}
