import { randomUUID } from "node:crypto";
import { type Collection, type Db, MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MongoDedupeDocument, MongoStore } from "./mongodb-store.js";
import { fakeClock, freshId, itBehavesLikeADedupeStore } from "./store-contract.js";

const MONGO_URL = process.env.MONGO_URL;

describe.skipIf(MONGO_URL === undefined)(
  "MongoStore (needs MONGO_URL, e.g. `bash scripts/ferretdb.sh start 27150 /tmp/ferretdb` and MONGO_URL=mongodb://127.0.0.1:27150/)",
  () => {
    let client: MongoClient;
    let db: Db;
    let collection: Collection<MongoDedupeDocument>;

    beforeAll(async () => {
      client = new MongoClient(MONGO_URL ?? "");
      await client.connect();
      db = client.db(`herald_receiver_test_${randomUUID().replaceAll("-", "")}`);
      collection = db.collection<MongoDedupeDocument>("webhook_dedupe");
    });

    afterAll(async () => {
      await db?.dropDatabase();
      await client?.close();
    });

    itBehavesLikeADedupeStore(() => {
      const clock = fakeClock();
      return { store: new MongoStore(collection, { now: clock.now }), elapse: clock.elapse };
    });

    it("keeps working whether or not the server accepts a TTL index", async () => {
      const store = new MongoStore(db.collection<MongoDedupeDocument>("webhook_dedupe_ttl"));
      const created = await store.ensureTtlIndex();
      const id = freshId();
      expect(await store.claim(id, "owner", 60_000)).toBe("claimed");
      expect(await store.claim(id, "other", 60_000)).toBe("in_progress");
      const indexes = await db.collection("webhook_dedupe_ttl").indexes();
      const ttlIndex = indexes.find((index) => index.key.expiresAt === 1);
      expect(ttlIndex?.expireAfterSeconds).toBe(created ? 0 : undefined);
    });

    it("stores the lease owner and expiry, and drops the owner when done", async () => {
      const store = new MongoStore(collection);
      const id = freshId();
      await store.claim(id, "owner", 60_000);
      expect(await collection.findOne({ _id: id })).toMatchObject({ state: "in_progress", token: "owner" });
      await store.complete(id, 60_000);
      const done = await collection.findOne({ _id: id });
      expect(done).toMatchObject({ state: "done" });
      expect(done?.token).toBeUndefined();
      expect(done?.expiresAt.getTime()).toBeGreaterThan(Date.now() + 59_000);
    });
  },
);
