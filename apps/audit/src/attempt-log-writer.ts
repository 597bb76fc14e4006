import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { AttemptTrigger, DeliveryState } from "@herald/contracts";
import { Batcher, isDuplicateKeyError, KeyedSerializer } from "@herald/platform";
import {
  type AnyBulkWriteOperation,
  type Collection,
  type Db,
  MongoBulkWriteError,
  type OptionalUnlessRequiredId,
  type UpdateFilter,
} from "mongodb";
import {
  type AttemptOutcome,
  type DeliveryStatus,
  needsDocument,
  nextDeliveryState,
  PENDING_STATUS,
} from "./delivery-state.js";
import {
  type AttemptDocument,
  attemptsByDelivery,
  attemptsCollection,
  type DeliveryDocument,
  type DeliveryRef,
  deliveriesCollection,
  deliveryDocument,
  deliveryId,
  type EventRouteDocument,
  eventRoutesCollection,
  findSucceededAttempts,
  type SkippedEndpointDocument,
  statusFields,
  statusOfDelivery,
  statusOfSucceededAttempts,
  succeededOutcome,
  unsetStatusFields,
} from "./documents.js";
import { EndpointHealthStore } from "./endpoint-health-store.js";

export type { DeliveryRef } from "./documents.js";

/** The attempts one batch of records holds for one delivery. */
export interface DeliveryChange {
  ref: DeliveryRef;
  outcomes: AttemptOutcome[];
}

/** Where routing sent one event. */
export interface RouteRecord {
  tenantId: string;
  eventId: string;
  endpointIds: string[];
  routeTime: Date;
  /** The endpoints that did not take the event, and why (bounded by routing). */
  skipped: SkippedEndpointDocument[];
  skippedOmitted: number;
}

/** Options of {@link AttemptLogWriter}. */
export interface AttemptLogWriterOptions {
  /** Where attempts are rolled up; default the store on `auditDb` (tests inject failures). */
  health?: EndpointHealthStore;
  /**
   * The longest a write's attempts wait for their rollups, in ms; every rollup touched in that time gets
   * one upsert however many writes touched it. Default 0, the next turn of the event loop. Audit sets
   * HEALTH_ROLLUP_INTERVAL.
   */
  rollupIntervalMs?: number;
}

/** One write's attempts waiting for their rollups, and the name its marker records. */
interface RollupWrite {
  batch: string;
  attempts: readonly AttemptDocument[];
}

/** Read-modify-write rounds before a delivery update gives up (the message is then retried). */
const MAX_UPDATE_ROUNDS = 20;

/**
 * The audit service's writes: attempt records, event routes, and delivery statuses (from attempts,
 * dead-lettered tasks and replays). No multi-document transactions: each write is a single idempotent
 * document operation (inserts keyed by natural ids, upserts with $setOnInsert, and optimistic
 * read-modify-write on a version field).
 *
 * The version guard makes concurrent writers (several audit instances) safe. Within one instance,
 * updates of one delivery are also serialized, so batches written at once never lose the guard to each
 * other and go round again (nor need it to hold where updates are not atomic: docs/storage.md); the
 * service therefore shares one writer among its consumers.
 */
export class AttemptLogWriter {
  readonly #attempts: Collection<AttemptDocument>;
  readonly #deliveries: Collection<DeliveryDocument>;
  readonly #routes: Collection<EventRouteDocument>;
  readonly #deliveryWrites = new KeyedSerializer();
  readonly #health: EndpointHealthStore;
  /**
   * Gathers the rollup increments of successive writes: each write touches two rollups per endpoint in
   * it, and each upsert is a write of its own on the server, so with many endpoints per write the
   * rollups would be most of audit's writes (docs/decisions/endpoint-health-rollups.md). One flush at a
   * time, in the order the writes came; a failed flush fails every write in it, whose attempts are then
   * counted when their records come again.
   */
  readonly #rollups: Batcher<RollupWrite>;
  /**
   * This writer's writes whose rollups are not written yet: a batch written at once with another may
   * find that one's attempts stored and unmarked, and must leave them to it rather than count them too.
   */
  readonly #rollupsPending = new Set<string>();

  /** `auditDb` holds audit's own collections. */
  constructor(auditDb: Db, options: AttemptLogWriterOptions = {}) {
    this.#attempts = attemptsCollection(auditDb);
    this.#deliveries = deliveriesCollection(auditDb);
    this.#routes = eventRoutesCollection(auditDb);
    this.#health = options.health ?? new EndpointHealthStore(auditDb);
    this.#rollups = new Batcher<RollupWrite>({
      maxSize: Infinity,
      maxDelayMs: options.rollupIntervalMs ?? 0,
      maxConcurrentWrites: 1,
      write: (writes) => this.#writeRollups(writes),
    });
  }

  /**
   * Inserts attempts, and adds to their endpoints' health rollups those not counted yet; attempts
   * already stored (same `_id`: a redelivered record) are not inserted again. Returns how many were new,
   * once their rollups are written too.
   */
  async insertAttempts(docs: AttemptDocument[]): Promise<number> {
    const { inserted, counted } = await this.writeAttempts(docs);
    await counted;
    return inserted;
  }

  /**
   * Inserts attempts as {@link insertAttempts} does, but resolves once they are stored: `counted`
   * settles when their rollups are written, which waits for the rollup interval. A record may be acked
   * only once both are done.
   *
   * Each write names itself in its attempts (`rollup_batch`) and stores a marker once its rollups are
   * written, so a write whose rollups failed leaves its attempts unmarked: redelivered, they are
   * taken over by the new write and counted then, once. Test deliveries never count: a developer's
   * tests must not move an endpoint's success rate.
   */
  async writeAttempts(docs: AttemptDocument[]): Promise<{ inserted: number; counted: Promise<void> }> {
    const batch = randomUUID();
    this.#rollupsPending.add(batch);
    let counted: Promise<void> = Promise.resolve();
    try {
      const { inserted, uncounted } = await this.#insertAttempts(docs, batch);
      if (uncounted.length > 0) counted = this.#rollups.add({ batch, attempts: uncounted });
      return { inserted, counted };
    } finally {
      // Pending until its rollups are written or have failed: a write meanwhile must not count them too.
      const done = () => this.#rollupsPending.delete(batch);
      counted.then(done, done);
    }
  }

  /** Writes the rollups waiting for the interval now, or as soon as the flush under way ends. */
  flushRollups(): void {
    this.#rollups.flush();
  }

  /** Writes the rollups waiting for the interval now, and waits for every rollup write. */
  drainRollups(): Promise<void> {
    return this.#rollups.drain();
  }

  /** Adds the writes' attempts to their rollups, then records the writes as counted. */
  async #writeRollups(writes: RollupWrite[]): Promise<void> {
    await this.#health.add(writes.flatMap((w) => w.attempts));
    await this.#health.markCounted(
      writes.map((w) => w.batch),
      new Date(),
    );
  }

  async #insertAttempts(
    docs: AttemptDocument[],
    batch: string,
  ): Promise<{ inserted: number; uncounted: AttemptDocument[] }> {
    const stored = docs.map(
      (doc): AttemptDocument => (doc.trigger === AttemptTrigger.TEST ? doc : { ...doc, rollup_batch: batch }),
    );
    const taken = new Set(await insertNew(this.#attempts, stored));
    const inserted = stored.filter((_, i) => !taken.has(i));
    const uncounted = inserted.filter((doc) => doc.rollup_batch !== undefined);
    const takenIds = stored
      .filter((doc, i) => taken.has(i) && doc.rollup_batch !== undefined)
      .map((doc) => doc._id);
    if (takenIds.length > 0) uncounted.push(...(await this.#takeOverUncounted(takenIds, batch)));
    return { inserted: inserted.length, uncounted };
  }

  /**
   * The stored attempts among `ids` whose write never marked its rollups written (it failed between
   * the insert and the marker), now made part of `batch`. Read by `_id`, and only for a redelivery.
   */
  async #takeOverUncounted(ids: string[], batch: string): Promise<AttemptDocument[]> {
    const stored = await this.#attempts
      .find({ _id: { $in: ids }, rollup_batch: { $exists: true } }, { projection: { response_body: 0 } })
      .toArray();
    // Read before the markers: a write still under way here either marks its batch before it ends
    // (the marker read below then sees it) or fails, leaving its attempts to a redelivery.
    const theirs = stored.filter((doc) => this.#rollupsPending.has(doc.rollup_batch as string));
    const counted = await this.#health.countedBatches([
      ...new Set(stored.map((doc) => doc.rollup_batch as string)),
    ]);
    const uncounted = stored.filter(
      (doc) => !counted.has(doc.rollup_batch as string) && !theirs.includes(doc),
    );
    if (uncounted.length > 0) {
      await this.#attempts.updateMany(
        { _id: { $in: uncounted.map((doc) => doc._id) } },
        { $set: { rollup_batch: batch } },
      );
    }
    return uncounted;
  }

  /**
   * Records where events were routed; the deliveries to those endpoints are PENDING until their first
   * attempt. Routing the same event again (a redelivered event) only adds endpoints. An insert first,
   * as an insert is one cheap write on every MongoDB wire server while an upsert is a query and a
   * write; only the routes that already existed are merged with an upsert.
   */
  async recordRoutes(records: RouteRecord[]): Promise<void> {
    if (records.length === 0) return;
    const routes: EventRouteDocument[] = records.map((r) => ({
      _id: r.eventId,
      tenant_id: r.tenantId,
      endpoint_ids: r.endpointIds,
      route_time: r.routeTime,
      ...(r.skipped.length > 0 ? { skipped: r.skipped } : {}),
      ...(r.skippedOmitted > 0 ? { skipped_omitted: r.skippedOmitted } : {}),
    }));
    const existingRoutes = await insertNew(this.#routes, routes);
    if (existingRoutes.length > 0) {
      const merges: AnyBulkWriteOperation<EventRouteDocument>[] = existingRoutes.map((i) => {
        const r = records[i] as RouteRecord;
        return {
          updateOne: {
            filter: { _id: r.eventId },
            update: {
              $setOnInsert: { tenant_id: r.tenantId },
              $addToSet: { endpoint_ids: { $each: r.endpointIds } },
              $min: { route_time: r.routeTime },
            },
            upsert: true,
          },
        };
      });
      // Two upserts of one new _id racing each other make one fail with a duplicate key: the document
      // exists either way.
      await this.#routes.bulkWrite(merges, { ordered: false }).catch(ignoreDuplicateKeys);
    }
  }

  /**
   * Folds a batch's attempts into the statuses of their deliveries, in a few round trips whatever the
   * batch's size. The deliveries are read in one query; new ones are inserted with their folded status,
   * existing ones updated in one bulk write, each update guarded by the version it read. Should another
   * writer get in between, the deliveries concerned go the one-by-one way.
   *
   * A delivery gets its document with its first attempt (or a replay): until then the event's route
   * says it is PENDING (see `eventDeliveries` in documents.ts): one write per delivery, not an insert at
   * routing time and then an update (each a transaction of its own on some servers; see docs/storage.md).
   * A delivery whose first attempt was accepted gets none at all (see `needsDocument`): its attempt is
   * its status, until a later record (a replay, a duplicate task) writes a document that folds it in.
   * Attempts must therefore be stored before their deliveries' changes are applied.
   */
  applyDeliveryChanges(changes: DeliveryChange[], now: Date): Promise<void> {
    if (changes.length === 0) return Promise.resolve();
    const ids = changes.map((c) => deliveryId(c.ref.eventId, c.ref.endpointId));
    return this.#deliveryWrites.runAll(ids, () => this.#applyDeliveryChanges(changes, ids, now));
  }

  async #applyDeliveryChanges(changes: DeliveryChange[], ids: string[], now: Date): Promise<void> {
    // One read tells new deliveries (inserted) from stored ones (updated under their version), rather
    // than inserting all and catching duplicates, which costs more than the read (see docs/storage.md).
    const stored = new Map(
      (await this.#deliveries.find({ _id: { $in: ids } }).toArray()).map((doc) => [doc._id, doc]),
    );
    const unwritten: DeliveryChange[] = [];
    const updates: { change: DeliveryChange; op: AnyBulkWriteOperation<DeliveryDocument> }[] = [];
    changes.forEach((change, i) => {
      const doc = stored.get(ids[i] as string);
      if (!doc) {
        if (needsDocument(change.outcomes)) unwritten.push(change);
        return;
      }
      const current = statusOfDelivery(doc);
      const next = change.outcomes.reduce(nextDeliveryState, current);
      if (next === current) return;
      updates.push({
        change,
        op: {
          updateOne: { filter: { _id: doc._id, version: doc.version }, update: statusUpdate(next, now) },
        },
      });
    });
    const { fresh, succeeded } = await this.#newDocuments(unwritten, now);
    const taken = await insertNew(
      this.#deliveries,
      fresh.map((f) => f.doc),
    );
    // Created meanwhile by another writer: fold the attempts into what it wrote.
    const oneByOne = taken.map((i) => (fresh[i] as { change: DeliveryChange }).change);
    oneByOne.push(
      ...(await this.#lateSucceededAttempts(
        fresh.filter((_, i) => !taken.includes(i)).map((f) => f.change.ref),
        succeeded,
      )),
    );
    if (updates.length > 0) {
      const result = await this.#deliveries.bulkWrite(
        updates.map((u) => u.op),
        { ordered: false },
      );
      // Which guard missed is not reported; folding outcomes again into a status that has them already
      // changes nothing, so all of them are redone.
      if (result.matchedCount < updates.length) oneByOne.push(...updates.map((u) => u.change));
    }
    for (const change of oneByOne) await this.#applyOutcomes(change.ref, change.outcomes, now);
  }

  /**
   * The documents of deliveries that have none yet: each change's outcomes folded into what the
   * delivery's accepted attempts, stored without a document, already say.
   */
  async #newDocuments(
    changes: DeliveryChange[],
    now: Date,
  ): Promise<{
    fresh: { change: DeliveryChange; doc: DeliveryDocument }[];
    succeeded: Map<string, AttemptDocument[]>;
  }> {
    const succeeded = await this.#succeededAttempts(changes.map((c) => c.ref));
    const fresh = changes.map((change) => {
      const base = statusOfSucceededAttempts(
        succeeded.get(deliveryId(change.ref.eventId, change.ref.endpointId)) ?? [],
      );
      const status = change.outcomes.reduce(nextDeliveryState, base ?? PENDING_STATUS);
      return { change, doc: deliveryDocument(change.ref, status, now) };
    });
    return { fresh, succeeded };
  }

  /**
   * The accepted attempts of these just-written deliveries that were not in `seen`, as changes to fold
   * in. Another writer (another instance, or a batch written at once on MongoDB) may have stored an
   * accepted first attempt after `seen` was read and, finding no document, written none: read again
   * now that the documents exist. Whichever of the two writes came second sees the other's.
   */
  async #lateSucceededAttempts(
    refs: DeliveryRef[],
    seen: Map<string, AttemptDocument[]>,
  ): Promise<DeliveryChange[]> {
    const stored = await this.#succeededAttempts(refs);
    const late: DeliveryChange[] = [];
    for (const ref of refs) {
      const id = deliveryId(ref.eventId, ref.endpointId);
      const known = new Set((seen.get(id) ?? []).map((a) => a._id));
      const added = (stored.get(id) ?? []).filter((a) => !known.has(a._id));
      if (added.length > 0) late.push({ ref, outcomes: added.map(succeededOutcome) });
    }
    return late;
  }

  /** The status one delivery's stored accepted attempts give it; undefined without any. */
  async #succeededStatus(ref: DeliveryRef): Promise<DeliveryStatus | undefined> {
    const succeeded = await this.#succeededAttempts([ref]);
    return statusOfSucceededAttempts(succeeded.get(deliveryId(ref.eventId, ref.endpointId)) ?? []);
  }

  /**
   * The stored accepted attempts of these deliveries, by delivery `_id`: one read per tenant among
   * them, by the `tenant_id, event_id` index, without response bodies.
   */
  async #succeededAttempts(refs: DeliveryRef[]): Promise<Map<string, AttemptDocument[]>> {
    if (refs.length === 0) return new Map();
    const wanted = new Set(refs.map((r) => deliveryId(r.eventId, r.endpointId)));
    const eventsByTenant = new Map<string, Set<string>>();
    for (const r of refs) {
      const events = eventsByTenant.get(r.tenantId);
      if (events) events.add(r.eventId);
      else eventsByTenant.set(r.tenantId, new Set([r.eventId]));
    }
    const found: AttemptDocument[] = [];
    for (const [tenantId, events] of eventsByTenant) {
      const docs = await findSucceededAttempts(this.#attempts, tenantId, [...events]);
      found.push(...docs.filter((doc) => wanted.has(deliveryId(doc.event_id, doc.endpoint_id))));
    }
    return attemptsByDelivery(found);
  }

  /**
   * Folds attempt outcomes into one delivery's status with {@link nextDeliveryState}: read, compute,
   * write back only if the version read is still current, else again. Returns whether it changed.
   */
  async #applyOutcomes(ref: DeliveryRef, outcomes: AttemptOutcome[], now: Date): Promise<boolean> {
    const _id = deliveryId(ref.eventId, ref.endpointId);
    for (let round = 0; round < MAX_UPDATE_ROUNDS; round++) {
      const doc = await this.#deliveries.findOne({ _id });
      if (!doc && !needsDocument(outcomes)) return false;
      const current = doc ? statusOfDelivery(doc) : await this.#succeededStatus(ref);
      const next = outcomes.reduce<DeliveryStatus | undefined>(nextDeliveryState, current);
      if (next === undefined || (doc && next === current)) return false;
      if (!doc) {
        try {
          await this.#deliveries.insertOne(deliveryDocument(ref, next, now));
          return true;
        } catch (err) {
          if (!isDuplicateKeyError(err)) throw err;
        }
      } else {
        const result = await this.#deliveries.updateOne(
          { _id, version: doc.version },
          statusUpdate(next, now),
        );
        if (result.matchedCount === 1) return true;
      }
      // Lost a race with another writer of the same delivery: back off a little and read again.
      await sleep(Math.random() * 2 * (round + 1));
    }
    throw new Error(`delivery ${_id}: gave up after ${MAX_UPDATE_ROUNDS} conflicting updates`);
  }

  /**
   * Marks a delivery PENDING because attempt `attemptNumber` was just published for it, unless that
   * attempt (or a later one) is already recorded: a fast manual attempt must not be undone.
   */
  markPending(ref: DeliveryRef, attemptNumber: number, now: Date): Promise<void> {
    const _id = deliveryId(ref.eventId, ref.endpointId);
    return this.#deliveryWrites.run(_id, () => this.#markPending(_id, ref, attemptNumber, now));
  }

  async #markPending(_id: string, ref: DeliveryRef, attemptNumber: number, now: Date): Promise<void> {
    // A delivery whose first attempt was accepted has no document: write the one its attempts say
    // first, so the update below keeps its attempt count (and the next replay its number).
    if (!(await this.#deliveries.findOne({ _id }, { projection: { _id: 1 } }))) {
      const status = await this.#succeededStatus(ref);
      if (status) {
        await insertNew(this.#deliveries, [deliveryDocument(ref, status, now)]);
      }
    }
    try {
      await this.#deliveries.updateOne(
        { _id, attempt_count: { $lt: attemptNumber } },
        {
          $set: { state: DeliveryState.PENDING, next_attempt_time: now, update_time: now },
          $setOnInsert: {
            tenant_id: ref.tenantId,
            event_id: ref.eventId,
            endpoint_id: ref.endpointId,
            attempt_count: 0,
            last_attempt_number: 0,
            last_response_status: 0,
          },
          $inc: { version: 1 },
        },
        { upsert: true },
      );
    } catch (err) {
      // The filter missed an existing document, so the upsert clashed with it: the attempt is recorded.
      if (!isDuplicateKeyError(err)) throw err;
    }
  }
}

/**
 * Inserts the documents that do not exist yet (unordered: one duplicate does not stop the others) and
 * returns the indexes of those whose `_id` was already taken.
 */
async function insertNew<T extends { _id: string }>(collection: Collection<T>, docs: T[]): Promise<number[]> {
  if (docs.length === 0) return [];
  try {
    await collection.insertMany(docs as OptionalUnlessRequiredId<T>[], { ordered: false });
    return [];
  } catch (err) {
    if (!onlyDuplicateKeys(err)) throw err;
    const writeErrors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
    return writeErrors.map((e) => e.index);
  }
}

function onlyDuplicateKeys(err: unknown): err is MongoBulkWriteError {
  if (!(err instanceof MongoBulkWriteError) || err.writeConcernError) return false;
  const writeErrors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
  return writeErrors.length > 0 && writeErrors.every((e) => e.code === 11000);
}

function ignoreDuplicateKeys(err: unknown): void {
  if (!onlyDuplicateKeys(err)) throw err;
}

/** The update that writes `status` and moves the version on. */
function statusUpdate(status: DeliveryStatus, now: Date): UpdateFilter<DeliveryDocument> {
  return {
    $set: { ...statusFields(status), update_time: now },
    ...unsetStatusFields(status),
    $inc: { version: 1 },
  };
}
