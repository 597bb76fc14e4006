import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  connectMongo,
  ensureIndexes,
  isDuplicateKeyError,
  type MongoHandle,
  pingMongo,
  storageCapabilitiesOf,
} from "./mongo.js";
import { testEnv } from "./testing/index.js";

const env = testEnv();
let mongo: MongoHandle;

beforeAll(async () => {
  mongo = await connectMongo(env.MONGO_URL as string, env.MONGO_DB as string, "platform-test", 10_000);
});

afterAll(async () => {
  await mongo?.db.dropDatabase();
  await mongo?.client.close();
});

describe("MongoDB access", () => {
  it("answers a ping", async () => {
    expect(await pingMongo(mongo.db)).toBe(true);
  });

  it("writes with majority by default, and with the concerns given, which this server accepts", async () => {
    expect(mongo.db.writeConcern?.w).toBe("majority");
    const two = await connectMongo(env.MONGO_URL as string, env.MONGO_DB as string, "platform-test", 10_000, {
      w: 2,
      readConcern: "majority",
    });
    try {
      expect(two.db.writeConcern?.w).toBe(2);
      expect(two.db.readConcern?.level).toBe("majority");
      // Written with majority, read through the w: 2 client (a standalone MongoDB refuses w: 2 writes).
      await mongo.db.collection("concerns").insertOne({ _id: "c1" as never });
      expect(await two.db.collection("concerns").countDocuments({ _id: "c1" as never })).toBe(1);
    } finally {
      await two.client.close();
    }
  });

  it("creates indexes idempotently and enforces a unique compound key", async () => {
    const plan = {
      events: [{ key: { tenant_id: 1, idempotency_key: 1 }, name: "tenant_idem", unique: true }],
    };
    await ensureIndexes(mongo.db, plan);
    await ensureIndexes(mongo.db, plan);
    const indexes = await mongo.db.collection("events").listIndexes().toArray();
    expect(indexes.find((i) => i.name === "tenant_idem")).toMatchObject({ unique: true });

    const events = mongo.db.collection("events");
    await events.insertOne({ _id: "e1" as never, tenant_id: "t1", idempotency_key: "k1" });
    const duplicate = await events
      .insertOne({ _id: "e2" as never, tenant_id: "t1", idempotency_key: "k1" })
      .catch((e) => e);
    expect(isDuplicateKeyError(duplicate)).toBe(true);
    await events.insertOne({ _id: "e3" as never, tenant_id: "t2", idempotency_key: "k1" });

    // Read back through a second, independent driver connection.
    const other = new MongoClient(env.MONGO_URL as string);
    try {
      const docs = await other
        .db(env.MONGO_DB)
        .collection("events")
        .find({ idempotency_key: "k1" })
        .sort({ _id: 1 })
        .toArray();
      expect(docs.map((d) => d._id)).toEqual(["e1", "e3"]);
    } finally {
      await other.close();
    }
  });

  it("finds the server's capabilities at connect, unless the setting names them", async () => {
    const buildInfo = await mongo.client.db("admin").command({ buildInfo: 1 });
    expect(mongo.capabilities).toEqual(storageCapabilitiesOf(buildInfo));
    // The embedded server reports itself; MongoDB does not.
    expect(mongo.capabilities.concurrentWrites).toBe(!("ferretdbVersion" in buildInfo));
    for (const setting of ["true", "false"] as const) {
      const set = await connectMongo(
        env.MONGO_URL as string,
        env.MONGO_DB as string,
        "platform-test",
        10_000,
        {
          w: "majority",
          readConcern: "local",
          concurrentWrites: setting,
        },
      );
      try {
        expect(set.capabilities.concurrentWrites).toBe(setting === "true");
      } finally {
        await set.client.close();
      }
    }
  });

  it("fails to connect to a server that is not there, within the timeout", async () => {
    const started = Date.now();
    await expect(connectMongo("mongodb://127.0.0.1:1", "x", "test", 500)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
