import { ensureIndexes } from "@herald/platform";
import type { EventDocument } from "@herald/platform/model";
import { explainRead, recordReads, testEnv } from "@herald/platform/testing";
import { Binary, type Db, MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventStore, eventIndexes } from "./event-store.js";
import { MongoRateBudgetStore, rateBudgetIndexes } from "./rate-budget-store.js";

// Every read ingest sends, explained: an index (or an _id key range) serves each, on MongoDB and on
// the embedded server (issue 23).
const env = testEnv();
const mongo = {} as { client: MongoClient; db: Db };

beforeAll(async () => {
  mongo.client = new MongoClient(env.MONGO_URL as string, { monitorCommands: true });
  await mongo.client.connect();
  mongo.db = mongo.client.db(env.MONGO_DB);
  await ensureIndexes(mongo.db, { ...eventIndexes, ...rateBudgetIndexes });
});

afterAll(async () => {
  await mongo?.db.dropDatabase();
  await mongo?.client.close();
});

const event = (id: string, at: Date): EventDocument => ({
  _id: id,
  tenant_id: "t1",
  event_type: "order.created",
  payload: new Binary(new Uint8Array([1])),
  channels: [],
  idempotency_key: "key-1",
  dedupe_key: "key-1",
  create_time: at,
  published: false,
});

describe("ingest's reads use an index", () => {
  it("the dedupe lookup, the publish marks, the republish sweep and the rate budget", async () => {
    const store = new EventStore(mongo.db);
    const budget = new MongoRateBudgetStore(mongo.db);
    const at = new Date(Date.now() - 600_000);
    const reads = await recordReads(mongo.client, async () => {
      await store.markUnpublished(event("e1", at));
      await store.insertOrGet(event("e1", at));
      const duplicate = await store.insertOrGet(event("e2", at));
      expect(duplicate.inserted).toBe(false);
      await store.flush();
      await store.isPublished("e1");
      const claimed = await store.claimUnpublished(new Date(), new Date(), new Date(Date.now() + 60_000), 10);
      await store.findEvents(claimed.flatMap((m) => m.event_ids));
      await store.markPublished(event("e1", at));
      await store.forgetIdempotencyKey(event("e1", at));
      await budget.claim("t1", Math.floor(Date.now() / 1000), 0);
      await budget.sweep();
    });
    expect(reads.length).toBeGreaterThan(3);
    const plans = await Promise.all(reads.map((read) => explainRead(mongo.client, read)));
    expect(plans.filter((p) => !p.usesIndex).map((p) => ({ read: p.read, plan: p.plan }))).toEqual([]);
  });
});
