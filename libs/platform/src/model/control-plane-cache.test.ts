import { create } from "@bufbuild/protobuf";
import { ControlNotificationSchema } from "@herald/contracts";
import type { Db } from "mongodb";
import { describe, expect, it } from "vitest";
import { ControlPlaneCache } from "./control-plane-cache.js";

/** A Db whose tenants answer when told, counting the reads. */
function fakeDb() {
  const reads: Array<(doc: object | null) => void> = [];
  const db = {
    collection: () => ({
      findOne: () => new Promise((resolve) => reads.push(resolve)),
    }),
  } as unknown as Db;
  return { db, reads };
}

describe("ControlPlaneCache", () => {
  it("reads MongoDB once for a burst of misses of one key", async () => {
    const { db, reads } = fakeDb();
    const cache = new ControlPlaneCache(db);
    const burst = Promise.all([cache.tenant("t1"), cache.tenant("t1"), cache.tenant("t1")]);
    expect(reads).toHaveLength(1);
    reads[0]?.({ _id: "t1" });
    expect(await burst).toEqual([{ _id: "t1" }, { _id: "t1" }, { _id: "t1" }]);
    expect(await cache.tenant("t1")).toEqual({ _id: "t1" });
    expect(reads).toHaveLength(1);
  });

  it("answers a tenant's weight from memory only: 1 until the tenant is cached, and after it is dropped", async () => {
    const { db, reads } = fakeDb();
    const cache = new ControlPlaneCache(db);
    expect(cache.tenantWeight("gold")).toBe(1);
    expect(reads).toHaveLength(0);
    const read = cache.tenant("gold");
    reads[0]?.({ _id: "gold", settings: { delivery_weight: 3 } });
    await read;
    expect(cache.tenantWeight("gold")).toBe(3);
    const plain = cache.tenant("plain");
    reads[1]?.({ _id: "plain", settings: {} });
    await plain;
    expect(cache.tenantWeight("plain")).toBe(1);
    cache.invalidate("gold");
    expect(cache.tenantWeight("gold")).toBe(1);
    expect(reads).toHaveLength(2);
  });

  it("does not keep a read that an invalidation overtook", async () => {
    const { db, reads } = fakeDb();
    const cache = new ControlPlaneCache(db);
    const stale = cache.tenant("t1");
    cache.invalidate("t1");
    const fresh = cache.tenant("t1");
    expect(reads).toHaveLength(2);
    reads[0]?.({ _id: "t1", name: "old" });
    reads[1]?.({ _id: "t1", name: "new" });
    expect(await stale).toEqual({ _id: "t1", name: "old" });
    expect(await fresh).toEqual({ _id: "t1", name: "new" });
    expect(await cache.tenant("t1")).toEqual({ _id: "t1", name: "new" });
    expect(reads).toHaveLength(2);
  });

  it("drops one event type on its notification, and a tenant's types with the tenant", async () => {
    const { db, reads } = fakeDb();
    const cache = new ControlPlaneCache(db);
    const load = async (name: string) => {
      const read = cache.eventType("t1", name);
      reads.at(-1)?.({ _id: `t1:${name}`, schema_version: reads.length });
      return read;
    };
    await load("a");
    await load("b");
    expect(reads).toHaveLength(2);
    await cache.eventType("t1", "a");
    expect(reads).toHaveLength(2);
    cache.onControlChange(create(ControlNotificationSchema, { tenantId: "t1", eventType: "a" }));
    await load("a");
    await cache.eventType("t1", "b");
    expect(reads).toHaveLength(3);
    cache.onControlChange(create(ControlNotificationSchema, { tenantId: "t1", apiKeyId: "k1" }));
    cache.invalidate("t1", "ep_1");
    await cache.eventType("t1", "b");
    expect(reads).toHaveLength(3);
    cache.invalidate("t1");
    await load("b");
    expect(reads).toHaveLength(4);
  });
});
