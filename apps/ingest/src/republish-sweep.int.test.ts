import { ensureIndexes } from "@herald/platform";
import { Collections, type EventDocument } from "@herald/platform/model";
import { connectMongo, type MongoHandle, testEnv } from "@herald/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventStore, eventIndexes } from "./event-store.js";
import { type PublishDeps, publishEvent } from "./publish-event.js";
import { type RepublishDeps, republishStranded, SWEEP_LEASE_MS } from "./republish-sweep.js";

const env = testEnv();
const AFTER_MS = 5_000;
let mongo: MongoHandle;
let store: EventStore;

beforeAll(async () => {
  mongo = await connectMongo(env.MONGO_URL as string, env.MONGO_DB as string, "ingest-test", 10_000);
  await ensureIndexes(mongo.db, eventIndexes);
  store = new EventStore(mongo.db);
});

afterAll(async () => {
  await store?.flush();
  await mongo?.db.dropDatabase();
  await mongo?.client.close();
});

const payload = (text: string) => new TextEncoder().encode(text);

/** Stores an event whose publish is never confirmed, as a crash between the two would leave it. */
async function strand(tenantId: string, idempotencyKey = "", at = new Date()): Promise<string> {
  let id = "";
  const deps: PublishDeps = {
    events: store,
    now: () => at,
    async publish(event) {
      id = event._id;
      throw new Error("killed before the confirm");
    },
  };
  await expect(
    publishEvent(deps, tenantId, {
      eventType: "a.b",
      payload: payload('{"x":1}'),
      idempotencyKey,
      channels: [],
    }),
  ).rejects.toThrow("killed");
  return id;
}

/** A sweep at `at` that records what it publishes; `fail` makes its publishes fail. */
function sweep(at: Date, published: string[], fail = false, events = store): RepublishDeps {
  return {
    events,
    afterMs: AFTER_MS,
    now: () => at,
    async publish(event: EventDocument) {
      if (fail) throw new Error("no confirm");
      published.push(event._id);
    },
  };
}

const later = (ms: number) => new Date(Date.now() + ms);
const markers = () => mongo.db.collection(Collections.unpublishedEvents);

describe("republishStranded", () => {
  it("publishes an event stored but never confirmed, once it is old enough, and only once", async () => {
    const id = await strand("t-stranded");
    const published: string[] = [];
    expect(await republishStranded(sweep(later(1_000), published))).toBe(0);
    expect(await republishStranded(sweep(later(AFTER_MS + 1_000), published))).toBe(1);
    expect(published).toEqual([id]);
    await store.flush();
    expect(await markers().countDocuments({ event_ids: id })).toBe(0);
    expect(await republishStranded(sweep(later(AFTER_MS + 2_000), published))).toBe(0);
    expect(published).toEqual([id]);
  });

  it("marks an event with an idempotency key published, so a retried call publishes nothing", async () => {
    const id = await strand("t-keyed", "key-1");
    const published: string[] = [];
    expect(await republishStranded(sweep(later(AFTER_MS + 1_000), published))).toBe(1);
    expect(published).toEqual([id]);
    const retried: string[] = [];
    const result = await publishEvent(
      {
        events: store,
        now: () => new Date(),
        async publish(event) {
          retried.push(event._id);
        },
      },
      "t-keyed",
      { eventType: "a.b", payload: payload('{"x":1}'), idempotencyKey: "key-1", channels: [] },
    );
    expect(result).toEqual({ eventId: id, duplicate: true });
    expect(retried).toEqual([]);
  });

  it("leaves confirmed events alone, and forgets the marker of a duplicate call", async () => {
    const published: string[] = [];
    const deps: PublishDeps = {
      events: store,
      now: () => new Date(),
      async publish(event) {
        published.push(event._id);
      },
    };
    const event = { eventType: "a.b", payload: payload('{"x":2}'), idempotencyKey: "key-2", channels: [] };
    const first = await publishEvent(deps, "t-confirmed", event);
    const again = await publishEvent(deps, "t-confirmed", event);
    const other = await publishEvent(deps, "t-confirmed", { ...event, idempotencyKey: "" });
    await store.flush();
    expect(again).toEqual({ eventId: first.eventId, duplicate: true });
    expect(published).toEqual([first.eventId, other.eventId]);
    expect(await markers().countDocuments({ event_ids: { $in: [first.eventId, other.eventId] } })).toBe(0);
    const swept: string[] = [];
    await republishStranded(sweep(later(AFTER_MS + 1_000), swept));
    expect(swept).toEqual([]);
  });

  it("publishes only the event whose publish failed, not the others stored with it", async () => {
    const published: string[] = [];
    let failed = "";
    const deps: PublishDeps = {
      events: store,
      now: () => new Date(),
      async publish(event) {
        if (JSON.parse(Buffer.from(event.payload.buffer).toString()).n === 3) {
          failed = event._id;
          throw new Error("no confirm");
        }
        published.push(event._id);
      },
    };
    const calls = Array.from({ length: 6 }, (_, n) =>
      publishEvent(deps, "t-round", {
        eventType: "a.b",
        payload: payload(`{"n":${n}}`),
        idempotencyKey: "",
        channels: [],
      }),
    );
    const results = await Promise.allSettled(calls);
    expect(results.filter((r) => r.status === "rejected")).toHaveLength(1);
    await store.flush();
    const swept: string[] = [];
    expect(await republishStranded(sweep(later(AFTER_MS + 1_000), swept))).toBe(1);
    expect(swept).toEqual([failed]);
  });

  it("leaves an event claimed by another sweep until its lease ends", async () => {
    const id = await strand("t-leased");
    const crashed: string[] = [];
    await expect(republishStranded(sweep(later(AFTER_MS + 1_000), crashed, true))).rejects.toThrow(
      "no confirm",
    );
    const other: string[] = [];
    expect(await republishStranded(sweep(later(AFTER_MS + 2_000), other))).toBe(0);
    expect(await republishStranded(sweep(later(AFTER_MS + SWEEP_LEASE_MS + 2_000), other))).toBe(1);
    expect(other).toEqual([id]);
  });

  it("has two instances sweeping at once share the stranded events, not publish each twice", async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => strand(`t-race-${i}`)));
    await store.flush();
    const second = new EventStore(mongo.db);
    const a: string[] = [];
    const b: string[] = [];
    const at = later(AFTER_MS + 1_000);
    await Promise.all([republishStranded(sweep(at, a)), republishStranded(sweep(at, b, false, second))]);
    expect([...new Set([...a, ...b])].sort()).toEqual([...ids].sort());
    // Each takes a share, and an event goes twice only when both claim it at the same moment: never on
    // MongoDB, rarely on FerretDB (it checks an update's filter and writes in separate steps).
    expect(Math.min(a.length, b.length)).toBeGreaterThan(0);
    expect(a.length + b.length - ids.length).toBeLessThanOrEqual(2);
    await second.flush();
  });
});
