import { ensureIndexes, FailedPreconditionError } from "@herald/platform";
import type { EventDocument } from "@herald/platform/model";
import { connectMongo, type MongoHandle, testEnv } from "@herald/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventStore, eventIndexes } from "./event-store.js";
import { type PublishDeps, publishEvent } from "./publish-event.js";

const env = testEnv();
let mongo: MongoHandle;
let store: EventStore;

beforeAll(async () => {
  mongo = await connectMongo(env.MONGO_URL as string, env.MONGO_DB as string, "ingest-test", 10_000);
  await ensureIndexes(mongo.db, eventIndexes);
  store = new EventStore(mongo.db);
});

afterAll(async () => {
  await mongo?.db.dropDatabase();
  await mongo?.client.close();
});

const payload = (text: string) => new TextEncoder().encode(text);

/** Deps whose publish can be made to fail, recording what was published. */
function deps(fail = () => false): PublishDeps & { published: string[]; steps: string[] } {
  const published: string[] = [];
  const steps: string[] = [];
  return {
    events: store,
    published,
    steps,
    observeStep: (step, ms) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      steps.push(step);
    },
    now: () => new Date(),
    concurrentPublishWaitMs: 300,
    async publish(event: EventDocument) {
      if (fail()) throw new Error("no publisher confirm");
      published.push(event._id);
    },
  };
}

describe("publishEvent", () => {
  it("stores then publishes an event, marking it published", async () => {
    const d = deps();
    const result = await publishEvent(d, "t1", {
      eventType: "a.b",
      payload: payload('{"a":1}'),
      idempotencyKey: "k-first",
      channels: [],
    });
    expect(result.duplicate).toBe(false);
    expect(d.published).toEqual([result.eventId]);
    expect(d.steps).toEqual(["store", "confirm"]);
    const doc = await mongo.db.collection<EventDocument>("events").findOne({ _id: result.eventId });
    expect(doc?.published).toBe(true);
    expect(Buffer.from(doc?.payload.buffer ?? []).toString()).toBe('{"a":1}');
  });

  it("does not mark an event without an idempotency key, which no retry can find", async () => {
    const d = deps();
    const event = { eventType: "a.b", payload: payload('{"a":2}'), idempotencyKey: "", channels: [] };
    const result = await publishEvent(d, "t1", event);
    expect(d.published).toEqual([result.eventId]);
    const doc = await mongo.db.collection<EventDocument>("events").findOne({ _id: result.eventId });
    expect(doc).toMatchObject({ dedupe_key: result.eventId, published: false });
    // The same call again is a new event.
    const again = await publishEvent(d, "t1", event);
    expect(again.eventId).not.toBe(result.eventId);
  });

  it("publishes a stored but unconfirmed event when the call is retried with its key", async () => {
    const event = {
      eventType: "a.b",
      payload: payload('{"retry":1}'),
      idempotencyKey: "k-retry",
      channels: [],
    };
    const failing = deps(() => true);
    await expect(publishEvent(failing, "t1", event)).rejects.toThrow("no publisher confirm");
    // A failed publish is not timed as a confirm.
    expect(failing.steps).toEqual(["store"]);
    const stored = await mongo.db.collection<EventDocument>("events").findOne({ dedupe_key: "k-retry" });
    expect(stored?.published).toBe(false);

    const retry = deps();
    const result = await publishEvent(retry, "t1", event);
    expect(result).toEqual({ eventId: stored?._id, duplicate: true });
    expect(retry.published).toEqual([stored?._id]);
    // Steps time new events only.
    expect(retry.steps).toEqual([]);
    // A third call finds it published and publishes nothing.
    const third = deps();
    expect(await publishEvent(third, "t1", event)).toEqual({ eventId: stored?._id, duplicate: true });
    expect(third.published).toEqual([]);
  });

  it("keeps idempotency keys per tenant", async () => {
    const event = { eventType: "a.b", payload: payload("{}"), idempotencyKey: "shared-key", channels: [] };
    const a = await publishEvent(deps(), "tenant-a", event);
    const b = await publishEvent(deps(), "tenant-b", event);
    expect(a.eventId).not.toBe(b.eventId);
    expect([a.duplicate, b.duplicate]).toEqual([false, false]);
  });

  it("refuses a reused key with a different event", async () => {
    await publishEvent(deps(), "t1", {
      eventType: "a.b",
      payload: payload('{"v":1}'),
      idempotencyKey: "k-diff",
      channels: [],
    });
    await expect(
      publishEvent(deps(), "t1", {
        eventType: "a.b",
        payload: payload('{"v":2}'),
        idempotencyKey: "k-diff",
        channels: [],
      }),
    ).rejects.toThrow(FailedPreconditionError);
  });

  it("publishes once when two calls with one key race", async () => {
    const d = deps();
    const event = {
      eventType: "a.b",
      payload: payload('{"race":1}'),
      idempotencyKey: "k-race",
      channels: [],
    };
    const [first, second] = await Promise.all([publishEvent(d, "t1", event), publishEvent(d, "t1", event)]);
    expect(first.eventId).toBe(second.eventId);
    expect([first.duplicate, second.duplicate].sort()).toEqual([false, true]);
    expect(d.published).toEqual([first.eventId]);
  });

  it("remembers an idempotency key for the window, then publishes a new event with it", async () => {
    const windowMs = 60_000;
    const first = new Date("2026-01-01T00:00:00Z");
    const at = (ms: number) => ({
      ...deps(),
      idempotencyWindowMs: windowMs,
      now: () => new Date(first.getTime() + ms),
    });
    const event = { eventType: "a.b", payload: payload('{"w":1}'), idempotencyKey: "k-window", channels: [] };
    const original = await publishEvent(at(0), "t1", event);
    expect(original.duplicate).toBe(false);

    const within = at(windowMs - 1);
    expect(await publishEvent(within, "t1", event)).toEqual({ eventId: original.eventId, duplicate: true });
    expect(within.published).toEqual([]);

    const after = at(windowMs);
    const fresh = await publishEvent(after, "t1", event);
    expect(fresh.duplicate).toBe(false);
    expect(fresh.eventId).not.toBe(original.eventId);
    expect(after.published).toEqual([fresh.eventId]);
    // The old event is kept (retention removes it), without the key; the new one holds it now.
    const events = mongo.db.collection<EventDocument>("events");
    expect(await events.findOne({ _id: original.eventId })).toMatchObject({ dedupe_key: original.eventId });
    expect(await publishEvent(at(windowMs + 1), "t1", event)).toEqual({
      eventId: fresh.eventId,
      duplicate: true,
    });
  });
});
