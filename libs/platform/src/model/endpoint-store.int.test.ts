import { DisabledReason } from "@herald/contracts";
import { type Db, MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testEndpoint, testEnv } from "../testing/index.js";
import type { EndpointDocument } from "./documents.js";
import { EndpointStore } from "./endpoint-store.js";

const env = testEnv();
let mongo: MongoClient;
let db: Db;

beforeAll(async () => {
  mongo = new MongoClient(env.MONGO_URL as string);
  db = mongo.db(env.MONGO_DB);
});

afterAll(async () => {
  await db?.dropDatabase();
  await mongo?.close();
});

function endpoint(id: string, patch: Partial<EndpointDocument> = {}): EndpointDocument {
  return testEndpoint({ _id: id, create_time: new Date("2026-01-01T00:00:00Z"), ...patch });
}

describe("EndpointStore", () => {
  it("records what delivery learns: a run of failures, and a receiver gone", async () => {
    const store = new EndpointStore(db);
    const ep = endpoint("ep_failing");
    await store.insert(ep);
    const since = new Date("2026-01-02T00:00:00Z");
    expect(await store.setFailingSince(ep, since)).toBe(true);
    // A second instance beginning the same run finds it begun: only the first tells of it.
    expect(await store.setFailingSince(ep, new Date("2026-01-02T00:00:01Z"))).toBe(false);
    expect((await store.get("t1", ep._id)).failing_since).toEqual(since);
    await store.setFailingSince(ep, undefined);
    expect((await store.get("t1", ep._id)).failing_since).toBeUndefined();

    const now = new Date("2026-01-03T00:00:00Z");
    expect(await store.disable(ep, DisabledReason.GONE, now)).toBe(true);
    expect(await store.get("t1", ep._id)).toMatchObject({
      disabled: true,
      disabled_reason: DisabledReason.GONE,
      update_time: now,
    });
    // An endpoint disabled already keeps its reason: an operator's or the first one.
    expect(await store.disable(ep, DisabledReason.FAILING, new Date())).toBe(false);
    expect((await store.get("t1", ep._id)).disabled_reason).toBe(DisabledReason.GONE);
  });

  it("finds the endpoints, of any tenant, with a rotation overlap ending in a time range", async () => {
    const store = new EndpointStore(db);
    const at = (s: number) => new Date(Date.UTC(2026, 0, 5, 0, 0, s));
    const secret = (id: string, expire?: Date) => ({
      id,
      sealed: "x",
      create_time: at(0),
      ...(expire ? { expire_time: expire } : {}),
    });
    await store.insert(
      endpoint("ep_rot_in", { tenant_id: "r1", secrets: [secret("s2"), secret("s1", at(30))] }),
    );
    await store.insert(endpoint("ep_rot_other", { tenant_id: "r2", secrets: [secret("s1", at(60))] }));
    await store.insert(endpoint("ep_rot_later", { tenant_id: "r1", secrets: [secret("s1", at(90))] }));
    await store.insert(endpoint("ep_rot_none", { tenant_id: "r1", secrets: [secret("s1")] }));
    const found = await store.withSecretsExpiring(at(10), at(60));
    expect(found.map((e) => e._id).sort()).toEqual(["ep_rot_in", "ep_rot_other"]);
    // The range is (from, to]: an overlap ending exactly at `from` was found by the look before.
    expect((await store.withSecretsExpiring(at(30), at(60))).map((e) => e._id)).toEqual(["ep_rot_other"]);
  });

  it("lists a tenant's endpoints in id order after a given id, and finds none of another tenant", async () => {
    const store = new EndpointStore(db);
    for (const id of ["ep_b", "ep_a", "ep_c"]) await store.insert(endpoint(id, { tenant_id: "lister" }));
    expect((await store.list("lister", undefined, 2)).map((e) => e._id)).toEqual(["ep_a", "ep_b"]);
    expect((await store.list("lister", "ep_b", 2)).map((e) => e._id)).toEqual(["ep_c"]);
    await expect(store.get("t1", "ep_a")).rejects.toThrow(/ep_a/);
  });
});
