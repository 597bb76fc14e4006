import { randomBytes } from "node:crypto";
import { MongoClient } from "mongodb";
import { Connection } from "rabbitmq-client";
import { DEFAULT_RETRY_TIERS_MS, topologyNames } from "../amqp/topology.js";
import { amqpConnectionOptions } from "../amqp/urls.js";
import { parseDurationListMs } from "../duration.js";

/** Admin key of test environments. */
export const TEST_ADMIN_KEY = "test-admin-key-0123456789abcdef0123456789abcdef";

/** A fixed key ring for tests: never use it anywhere else. */
export const TEST_SECRET_KEYS = `test1:${Buffer.alloc(32, 7).toString("base64")}`;

/**
 * Environment for a service under test, isolated from every other test: its own MongoDB database and
 * its own RabbitMQ namespace. `MONGO_URL` and `AMQP_URL` are taken from the environment when set.
 */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const id = randomBytes(4).toString("hex");
  return {
    AMQP_URL: process.env.AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672",
    MONGO_URL: process.env.MONGO_URL ?? "mongodb://127.0.0.1:27017",
    MONGO_DB: `test_${id}`,
    AMQP_NAMESPACE: `test-${id}`,
    HERALD_ADMIN_KEY: TEST_ADMIN_KEY,
    HERALD_SECRET_KEYS: TEST_SECRET_KEYS,
    HOST: "127.0.0.1",
    PORT: "0",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    OTEL_SDK_DISABLED: "true",
    ...overrides,
  };
}

/** Deletes the test namespace's queues and exchanges and drops its database. */
export async function cleanupTestEnv(env: Record<string, string>): Promise<void> {
  const names = topologyNames(env.AMQP_NAMESPACE);
  const rabbit = new Connection(amqpConnectionOptions(env.AMQP_URL as string));
  try {
    const tiers = env.RETRY_TIERS ? parseDurationListMs(env.RETRY_TIERS).ms : DEFAULT_RETRY_TIERS_MS;
    const queues = [
      ...Object.values(names.queues),
      ...names.shardQueues(names.queues.routingEvents),
      ...names.shardQueues(names.queues.deliveryTasks),
      ...tiers.map(names.retryQueue),
    ];
    for (const queue of queues) await rabbit.queueDelete({ queue }).catch(() => undefined);
    for (const exchange of [...Object.values(names.exchanges), ...Object.values(names.shardExchanges)])
      await rabbit.exchangeDelete({ exchange }).catch(() => undefined);
  } finally {
    await rabbit.close();
  }
  const mongo = new MongoClient(env.MONGO_URL as string);
  try {
    await mongo.db(env.MONGO_DB).dropDatabase();
    // Audit's own database, when the environment gives it one.
    if (env.AUDIT_MONGO_DB) await mongo.db(env.AUDIT_MONGO_DB).dropDatabase();
  } finally {
    await mongo.close();
  }
}
