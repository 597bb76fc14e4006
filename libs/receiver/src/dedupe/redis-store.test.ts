import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisStore } from "./redis-store.js";
import { itBehavesLikeADedupeStore } from "./store-contract.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
// One prefix per run, deleted afterwards, so runs never see each other's keys.
const keyPrefix = `herald-receiver-test:${randomUUID()}:`;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const ioredis = new Redis(REDIS_URL, { lazyConnect: true });
const nodeRedis = createClient({ url: REDIS_URL });

beforeAll(async () => {
  await Promise.all([ioredis.connect(), nodeRedis.connect()]);
});

afterAll(async () => {
  const keys = await ioredis.keys(`${keyPrefix}*`);
  if (keys.length > 0) await ioredis.del(...keys);
  await Promise.all([ioredis.quit(), nodeRedis.quit()]);
});

describe("RedisStore with ioredis", () => {
  itBehavesLikeADedupeStore(() => ({ store: new RedisStore(ioredis, { keyPrefix }), elapse: sleep }));

  it("stores records under the key prefix, with an expiry", async () => {
    const store = new RedisStore(ioredis, { keyPrefix });
    await store.complete("msg_prefixed", 60_000);
    expect(await ioredis.get(`${keyPrefix}msg_prefixed`)).toBe("done");
    expect(await ioredis.pttl(`${keyPrefix}msg_prefixed`)).toBeGreaterThan(59_000);
  });
});

describe("RedisStore with node-redis", () => {
  itBehavesLikeADedupeStore(() => ({ store: new RedisStore(nodeRedis, { keyPrefix }), elapse: sleep }));
});

describe("RedisStore", () => {
  it("rejects a client it does not recognise", () => {
    expect(() => new RedisStore({} as never)).toThrow(/ioredis client.*node-redis/);
  });
});
