import { randomUUID } from "node:crypto";
import { Collections, type IndexPlan, isDuplicateKeyError } from "@herald/platform";
import type { Collection, Db } from "mongodb";

/** One request's place in an endpoint's one-second window. */
interface RateHitDocument {
  _id: string;
  window: string;
  expires_at: Date;
}

/** One leased concurrency slot: `_id` is "<endpoint>:<slot number>", so a slot can be held once. */
interface SlotDocument {
  _id: string;
  endpoint_id: string;
  holder: string;
  expires_at: Date;
}

export const endpointLimitIndexes: IndexPlan = {
  [Collections.rateLimits]: [
    { key: { window: 1 }, name: "window" },
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
 * so N replicas together respect an endpoint's limits. Requests per second are counted in one-second
 * windows; concurrency as numbered slot documents, each leased with an expiry so a crashed instance
 * cannot hold one forever. Only endpoints that set a limit pay for the round trips.
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
      const second = Math.floor(now / 1000);
      const window = `${endpointId}:${second}`;
      if (!(await this.#takePlace(window, limits.perSecond, new Date((second + 60) * 1000)))) {
        return { waitMs: (second + 1) * 1000 - now };
      }
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
   * Takes one of the window's `limit` numbered places, or returns false when all are taken. Places are
   * documents with ids "<window>:<n>": an insert is atomic on every MongoDB wire server (FerretDB loses
   * concurrent `$inc`s), so racing instances can never take more than `limit` between them. Counting
   * first makes the usual case two round trips.
   */
  async #takePlace(window: string, limit: number, expiresAt: Date): Promise<boolean> {
    for (let place = await this.#hits.countDocuments({ window }); place < limit; place++) {
      try {
        await this.#hits.insertOne({ _id: `${window}:${place}`, window, expires_at: expiresAt });
        return true;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
    }
    return false;
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

  /** Deletes windows that ended (MongoDB wire servers without TTL indexes need this). */
  async sweep(): Promise<void> {
    await this.#hits.deleteMany({ expires_at: { $lt: new Date(this.#now()) } });
  }
}
