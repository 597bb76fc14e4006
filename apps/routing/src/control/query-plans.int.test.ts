import { ensureIndexes } from "@herald/platform";
import { ControlPlaneCache, EndpointStore } from "@herald/platform/model";
import { explainRead, recordReads, testEnv } from "@herald/platform/testing";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyStore } from "./api-key-store.js";
import { EventTypeStore } from "./event-type-store.js";
import { controlPlaneIndexes } from "./index.js";

// The control plane's reads of a tenant's endpoints, keys and event types, explained: an index (or an
// _id key range) serves each, on MongoDB and on the embedded server (issue 23).
const env = testEnv();
const client = new MongoClient(env.MONGO_URL as string, { monitorCommands: true });

beforeAll(async () => {
  await client.connect();
  await ensureIndexes(client.db(env.MONGO_DB), controlPlaneIndexes);
});

afterAll(async () => {
  await client.db(env.MONGO_DB).dropDatabase();
  await client.close();
});

describe("the control plane's reads use an index", () => {
  it("endpoints and API keys of a tenant, pages of them (a portal session's too), and the data plane's endpoint list", async () => {
    const db = client.db(env.MONGO_DB);
    const endpoints = new EndpointStore(db);
    const keys = new ApiKeyStore(db);
    const reads = await recordReads(client, async () => {
      await endpoints.list("t1", undefined, 11);
      await endpoints.list("t1", "ep1", 11);
      await endpoints.list("t1", "ep1", 11, ["ep2", "ep3"]);
      await endpoints.get("t1", "ep1").catch(() => undefined);
      await endpoints.idsOfTenant("t1");
      await keys.list("t1", { size: 10 });
      await keys.list("t1", { size: 10, afterId: "k1" });
      await new ControlPlaneCache(db).endpointsOf("t1");
      await endpoints.deleteByTenant("t1");
      await keys.deleteByTenant("t1");
    });
    expect(reads.length).toBeGreaterThan(5);
    const plans = await Promise.all(reads.map((read) => explainRead(client, read)));
    expect(plans.filter((p) => !p.usesIndex).map((p) => ({ read: p.read, plan: p.plan }))).toEqual([]);
  });

  it("a tenant's event types, pages of them, one type, and the data plane's cached type", async () => {
    const db = client.db(env.MONGO_DB);
    const types = new EventTypeStore(db);
    const reads = await recordReads(client, async () => {
      await types.list("t1", { size: 10 }, false);
      await types.list("t1", { size: 10, afterId: "t1:order.created" }, true);
      await types.get("t1", "order.created").catch(() => undefined);
      await new ControlPlaneCache(db).eventType("t1", "order.created");
      await types.deleteByTenant("t1");
    });
    expect(reads.length).toBeGreaterThan(3);
    const plans = await Promise.all(reads.map((read) => explainRead(client, read)));
    expect(plans.filter((p) => !p.usesIndex).map((p) => ({ read: p.read, plan: p.plan }))).toEqual([]);
  });
});
