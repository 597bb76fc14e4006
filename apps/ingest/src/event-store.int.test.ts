// The event store's writer gathers the inserts of concurrent one-event calls into rounds: one marker
// and one insertMany each.
import { ensureIndexes } from "@herald/platform";
import { Collections, type EventDocument } from "@herald/platform/model";
import { connectMongo, type MongoHandle, testEnv } from "@herald/platform/testing";
import { Binary } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventStore, eventIndexes, type UnpublishedEventsDocument } from "./event-store.js";

const env = testEnv();
let mongo: MongoHandle;

beforeAll(async () => {
  mongo = await connectMongo(env.MONGO_URL as string, env.MONGO_DB as string, "ingest-test", 10_000);
  await ensureIndexes(mongo.db, eventIndexes);
});

afterAll(async () => {
  await mongo?.db.dropDatabase();
  await mongo?.client.close();
});

let n = 0;
function event(): EventDocument {
  const id = `evt_gather_${String(n++).padStart(4, "0")}`;
  return {
    _id: id,
    tenant_id: "t-gather",
    event_type: "a.b",
    payload: new Binary(Buffer.from("{}")),
    channels: [],
    dedupe_key: id,
    create_time: new Date(),
    published: false,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The event ids of each round marker stored for `ids`, sorted. */
async function roundsOf(ids: string[]): Promise<string[][]> {
  const markers = await mongo.db
    .collection<UnpublishedEventsDocument>(Collections.unpublishedEvents)
    .find({ event_ids: { $in: ids } })
    .toArray();
  return markers.map((m) => [...m.event_ids].sort()).sort((a, b) => (a[0] ?? "").localeCompare(b[0] ?? ""));
}

describe("EventStore gathering", () => {
  it("puts inserts arriving within the gathering window into one round", async () => {
    const store = new EventStore(mongo.db, { gatherMs: 100 });
    const docs = [event(), event(), event()];
    const inserted: Promise<unknown>[] = [];
    for (const doc of docs) {
      inserted.push(store.insertOrGet(doc));
      await sleep(10);
    }
    expect(await Promise.all(inserted)).toEqual(docs.map(() => ({ inserted: true })));
    expect(await roundsOf(docs.map((d) => d._id))).toEqual([docs.map((d) => d._id).sort()]);
    expect(
      await mongo.db.collection("events").countDocuments({ _id: { $in: docs.map((d) => d._id) } as never }),
    ).toBe(3);
  });

  it("writes at once without a window, each insert arriving at an idle writer in a round of its own", async () => {
    const store = new EventStore(mongo.db, { gatherMs: 0 });
    const docs = [event(), event()];
    for (const doc of docs) await store.insertOrGet(doc);
    expect(await roundsOf(docs.map((d) => d._id))).toEqual(docs.map((d) => [d._id]));
  });

  it("answers each insert only once its round is written, and flush writes a gathering round at once", async () => {
    const store = new EventStore(mongo.db, { gatherMs: 60_000 });
    const doc = event();
    let answered = false;
    const inserting = store.insertOrGet(doc).then((result) => {
      answered = true;
      return result;
    });
    await sleep(50);
    expect(answered).toBe(false);
    expect(await mongo.db.collection("events").countDocuments({ _id: doc._id as never })).toBe(0);
    await store.flush();
    expect(await inserting).toEqual({ inserted: true });
    expect(await mongo.db.collection("events").countDocuments({ _id: doc._id as never })).toBe(1);
  });
});
