import { randomUUID } from "node:crypto";
import { type IndexPlan, isDuplicateKeyError } from "@herald/platform";
import { Collections } from "@herald/platform/model";
import type { Collection, Db } from "mongodb";

/**
 * One admitted request in an endpoint's log: `_id` is "<endpoint>:<seq>" with dense sequence numbers,
 * so a sequence number can be taken once.
 */
interface RateHitDocument {
  _id: string;
  endpoint_id: string;
  seq: number;
  at: Date;
  expires_at: Date;
}

/** Log entries older than this cannot matter to a one-second window; the sweeper deletes them. */
const RATE_LOG_RETENTION_MS = 5_000;
/** Racing instances each retry a lost sequence number this often before asking the task to wait. */
const RATE_TAKE_ATTEMPTS = 5;

/** One leased concurrency slot: `_id` is "<endpoint>:<slot number>", so a slot can be held once. */
interface SlotDocument {
  _id: string;
  endpoint_id: string;
  holder: string;
  expires_at: Date;
}

export const endpointLimitIndexes: IndexPlan = {
  [Collections.rateLimits]: [
    { key: { endpoint_id: 1, seq: -1 }, name: "endpoint_seq" },
    { key: { expires_at: 1 }, name: "expires_at" },
  ],
  [Collections.concurrencySlots]: [{ key: { endpoint_id: 1 }, name: "endpoint" }],
};

/** A granted delivery slot; release it when the request is done. */
export interface Admission {
  release(): Promise<void>;
}

/**
 * Per-endpoint rate limits and concurrency limits shared by every delivery instance through MongoDB,
 * so N replicas together respect an endpoint's limits. The rate is a sliding window: no more than
 * `perSecond` requests in any one second, so a receiver never sees the double burst that fixed
 * windows allow across a boundary. Concurrency is numbered slot documents, each leased with an expiry
 * so a crashed instance cannot hold one forever. Only endpoints that set a limit pay for the round
 * trips.
 */
export class EndpointLimits {
  readonly #hits: Collection<RateHitDocument>;
  readonly #slots: Collection<SlotDocument>;
  readonly #leaseMs: number;
  readonly #now: () => number;

  constructor(db: Db, options: { leaseMs: number; now?: () => number }) {
    this.#hits = db.collection<RateHitDocument>(Collections.rateLimits);
    this.#slots = db.collection<SlotDocument>(Collections.concurrencySlots);
    this.#leaseMs = options.leaseMs;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Takes a request out of the endpoint's budget. Returns an admission, or how long to wait before
   * trying again.
   */
  async admit(
    endpointId: string,
    limits: { perSecond: number; maxConcurrency: number },
  ): Promise<{ admission: Admission } | { waitMs: number }> {
    const now = this.#now();
    if (limits.perSecond > 0) {
      const taken = await this.#takeRate(endpointId, limits.perSecond, now);
      if (taken !== true) return taken;
    }
    if (limits.maxConcurrency <= 0) return { admission: { release: async () => undefined } };
    const slot = await this.#leaseSlot(endpointId, limits.maxConcurrency, now);
    if (!slot) return { waitMs: 250 };
    return {
      admission: {
        release: async () => {
          await this.#slots.deleteOne({ _id: slot.id, holder: slot.holder });
        },
      },
    };
  }

  /**
   * Appends the request to the endpoint's log as the next sequence number, if the request `limit`
   * places earlier is at least a second old. Inserting the unique `_id` "<endpoint>:<seq>" is atomic,
   * unlike an `$inc` on some servers (see docs/storage.md), so racing instances cannot both take a number
   * and any `limit + 1` consecutive requests span a second.
   */
  async #takeRate(endpointId: string, limit: number, now: number): Promise<true | { waitMs: number }> {
    for (let attempt = 0; attempt < RATE_TAKE_ATTEMPTS; attempt++) {
      const latest = await this.#hits.findOne(
        { endpoint_id: endpointId },
        { sort: { seq: -1 }, projection: { seq: 1 } },
      );
      const seq = (latest?.seq ?? -1) + 1;
      if (seq >= limit) {
        const bound = await this.#hits.findOne({ _id: `${endpointId}:${seq - limit}` });
        const waitMs = bound ? bound.at.getTime() + 1_000 - now : 0;
        if (waitMs > 0) return { waitMs };
      }
      try {
        await this.#hits.insertOne({
          _id: `${endpointId}:${seq}`,
          endpoint_id: endpointId,
          seq,
          at: new Date(now),
          expires_at: new Date(now + RATE_LOG_RETENTION_MS),
        });
        return true;
      } catch (err) {
        // Another instance took this number meanwhile: read the log again.
        if (!isDuplicateKeyError(err)) throw err;
      }
    }
    return { waitMs: 50 };
  }

  async #leaseSlot(
    endpointId: string,
    max: number,
    now: number,
  ): Promise<{ id: string; holder: string } | undefined> {
    await this.#slots.deleteMany({ endpoint_id: endpointId, expires_at: { $lt: new Date(now) } });
    const taken = new Set(
      (await this.#slots.find({ endpoint_id: endpointId }, { projection: { _id: 1 } }).toArray()).map(
        (d) => d._id,
      ),
    );
    const holder = randomUUID();
    for (let slot = 0; slot < max; slot++) {
      const id = `${endpointId}:${slot}`;
      if (taken.has(id)) continue;
      try {
        await this.#slots.insertOne({
          _id: id,
          endpoint_id: endpointId,
          holder,
          expires_at: new Date(now + this.#leaseMs),
        });
        return { id, holder };
      } catch (err) {
        // Another instance took this slot meanwhile: try the next free one.
        if (!isDuplicateKeyError(err)) throw err;
      }
    }
    return undefined;
  }

  /** Deletes log entries too old to matter: a sweep rather than a TTL index (see docs/storage.md). */
  async sweep(): Promise<void> {
    await this.#hits.deleteMany({ expires_at: { $lt: new Date(this.#now()) } });
  }
}
