import { AttemptTrigger, DeliveryState, ErrorClass } from "@herald/contracts";
import { Collections } from "@herald/platform/model";
import { testEnv } from "@herald/platform/testing";
import { type Db, MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptLogWriter } from "./attempt-log-writer.js";
import { type AttemptDocument, attemptsCollection, deliveriesCollection } from "./documents.js";
import { EndpointHealthStore } from "./endpoint-health-store.js";

const env = testEnv();
let client: MongoClient;
let db: Db;

beforeAll(async () => {
  client = new MongoClient(env.MONGO_URL as string);
  db = client.db(env.MONGO_DB);
});

afterAll(async () => {
  await db?.dropDatabase();
  await client?.close();
});

function attempt(id: string, endpointId: string, at: Date, success: boolean): AttemptDocument {
  return {
    _id: id,
    tenant_id: "t1",
    event_id: id,
    endpoint_id: endpointId,
    attempt_number: 1,
    trigger: 1,
    success,
    response_status: success ? 200 : 500,
    response_body: "",
    latency_ms: 20,
    error_class: success ? ErrorClass.NONE : ErrorClass.HTTP_STATUS,
    error_message: "",
    attempt_time: at,
    url: "",
  };
}

describe("EndpointHealthStore", () => {
  it("sums batches written by two stores at once (two instances), and counts backlogs by endpoint", async () => {
    const now = new Date();
    const a = new EndpointHealthStore(db);
    const b = new EndpointHealthStore(db);
    // Both create the same new rollups: one's upserts lose on the duplicate key and are sent again.
    await Promise.all([
      a.add(Array.from({ length: 30 }, (_, i) => attempt(`a${i}`, "ep1", now, i % 3 !== 0))),
      b.add(Array.from({ length: 20 }, (_, i) => attempt(`b${i}`, "ep1", now, true))),
    ]);
    const deliveries = deliveriesCollection(db);
    const delivery = (id: string, endpointId: string, state: DeliveryState) => ({
      _id: id,
      tenant_id: "t1",
      event_id: id,
      endpoint_id: endpointId,
      state,
      attempt_count: 1,
      last_attempt_number: 1,
      last_response_status: 500,
      update_time: now,
      version: 0,
    });
    await deliveries.insertMany([
      delivery("d1", "ep1", DeliveryState.FAILED),
      delivery("d2", "ep1", DeliveryState.PENDING),
      delivery("d3", "ep1", DeliveryState.DEAD),
      delivery("d4", "ep2", DeliveryState.FAILED),
    ]);
    expect(await a.countBacklogs(["t0", "t1"], now)).toBe(2);
    const health = await b.health("t1", "ep1", now);
    expect(health.windows[0]).toMatchObject({ attempts: 50n, succeeded: 40n, failed: 10n });
    expect(health.backlog).toBe(2n);
    expect(health.backlogTime?.seconds).toBe(BigInt(Math.floor(now.getTime() / 1000)));
    // Another tenant's call for the endpoint sees none of it.
    const other = await b.health("t2", "ep1", now);
    expect(other.windows[0]?.attempts).toBe(0n);
    expect(other.backlog).toBe(0n);

    // ep1's retries done: the next count leaves it out, and its stored figure no longer counts.
    await deliveries.updateMany({ endpoint_id: "ep1" }, { $set: { state: DeliveryState.SUCCEEDED } });
    const later = new Date(now.getTime() + 1000);
    expect(await a.countBacklogs(["t1"], later)).toBe(1);
    expect((await b.health("t1", "ep1", later)).backlog).toBe(0n);
    expect((await b.health("t1", "ep2", later)).backlog).toBe(1n);
    const many = await b.healthOfEndpoints("t1", ["ep2", "ep1"], later);
    expect(many.map((h) => [h.endpointId, h.windows[0]?.attempts, h.backlog])).toEqual([
      ["ep2", 0n, 1n],
      ["ep1", 50n, 0n],
    ]);
  });
});

/** A rollup store whose next `failures` writes fail, as a lost connection or a lock timeout would. */
class FailingHealthStore extends EndpointHealthStore {
  failures = 0;
  override add(attempts: readonly AttemptDocument[]): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      return Promise.reject(new Error("injected rollup write failure"));
    }
    return super.add(attempts);
  }
}

describe("AttemptLogWriter rollups", () => {
  it("counts a redelivered batch's attempts left out by a failed rollup write, once", async () => {
    const now = new Date();
    const store = new FailingHealthStore(db);
    const writer = new AttemptLogWriter(db, { health: store });
    const batch = Array.from({ length: 10 }, (_, i) =>
      attempt(`redeliver-${i}`, "ep-redeliver", now, i % 2 === 0),
    );
    const testSend = {
      ...attempt("redeliver-test", "ep-redeliver", now, true),
      trigger: AttemptTrigger.TEST,
    };

    // An earlier batch counted the first four; the next holds them again, and its rollup write fails
    // after its attempts are stored.
    expect(await writer.insertAttempts(batch.slice(0, 4))).toBe(4);
    store.failures = 1;
    await expect(writer.insertAttempts([...batch, testSend])).rejects.toThrow(
      "injected rollup write failure",
    );
    expect(await attemptsCollection(db).countDocuments({ endpoint_id: "ep-redeliver" })).toBe(11);
    expect((await store.health("t1", "ep-redeliver", now)).windows[0]?.attempts).toBe(4n);

    // Redelivered: nothing new to insert, but the six left out are counted now; a second redelivery
    // (and the first four again) adds nothing.
    expect(await writer.insertAttempts([...batch, testSend])).toBe(0);
    expect(await writer.insertAttempts([...batch, testSend])).toBe(0);
    const health = await store.health("t1", "ep-redeliver", now);
    expect(health.windows[0]).toMatchObject({ attempts: 10n, succeeded: 5n, failed: 5n });
    // The test delivery is stored but never part of a rollup write.
    expect(await attemptsCollection(db).findOne({ _id: "redeliver-test" })).not.toHaveProperty(
      "rollup_batch",
    );
  });
});

describe("AttemptLogWriter rollup interval", () => {
  it("writes the rollups of the writes in one interval together, each write counted once they are", async () => {
    const now = new Date();
    const store = new EndpointHealthStore(db);
    const writer = new AttemptLogWriter(db, { health: store, rollupIntervalMs: 60_000 });
    const first = await writer.writeAttempts([
      attempt("gather-1", "ep-gather", now, true),
      attempt("gather-2", "ep-gather-b", now, false),
    ]);
    const second = await writer.writeAttempts([attempt("gather-3", "ep-gather", now, true)]);
    expect([first.inserted, second.inserted]).toEqual([2, 1]);
    let counted = false;
    void Promise.all([first.counted, second.counted]).then(() => (counted = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Stored, not yet counted: no rollup and no marker until the interval ends (here, a flush).
    expect(counted).toBe(false);
    expect((await store.health("t1", "ep-gather", now)).windows[0]?.attempts).toBe(0n);
    const batches = [
      ...new Set(
        (
          await attemptsCollection(db)
            .find({ _id: { $in: ["gather-1", "gather-3"] } })
            .toArray()
        ).map((a) => a.rollup_batch as string),
      ),
    ];
    expect(batches).toHaveLength(2);
    expect(await store.countedBatches(batches)).toEqual(new Set());

    writer.flushRollups();
    await Promise.all([first.counted, second.counted]);
    expect(counted).toBe(true);
    expect((await store.health("t1", "ep-gather", now)).windows[0]).toMatchObject({
      attempts: 2n,
      succeeded: 2n,
    });
    expect((await store.health("t1", "ep-gather-b", now)).windows[0]).toMatchObject({
      attempts: 1n,
      failed: 1n,
    });
    expect(await store.countedBatches(batches)).toEqual(new Set(batches));
    // Two rollups (5 minutes, 1 hour) per endpoint, whatever the writes.
    expect(await db.collection(Collections.endpointHealth).countDocuments({ endpoint_id: "ep-gather" })).toBe(
      2,
    );

    // The same records again (a redelivery after the ack was lost): nothing new, nothing counted twice.
    expect(await writer.insertAttempts([attempt("gather-1", "ep-gather", now, true)])).toBe(0);
    expect((await store.health("t1", "ep-gather", now)).windows[0]?.attempts).toBe(2n);
  });
});
