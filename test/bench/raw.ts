// The machine's ceilings, measured in the same run as Herald: RabbitMQ publish-confirm and consume of
// persistent messages through a quorum queue, undici POSTs to a local receiver, MongoDB-wire writes.
import { randomBytes } from "node:crypto";
import { amqpConnectionOptions } from "@herald/platform/testing";
import { MongoClient } from "mongodb";
import { Connection } from "rabbitmq-client";
import { Agent, request } from "undici";
import { Recorder, startBenchReceiver } from "./receivers.js";
import { nowMs, round } from "./system.js";

export interface RawResult {
  name: string;
  /** Operations (messages, requests, documents) per second. */
  perSecond: number;
  detail: string;
}

const rate = (count: number, ms: number) => (ms > 0 ? Math.round((count * 1000) / ms) : 0);

/**
 * Publishes persistent messages with publisher confirms (a window of `inFlight` unconfirmed, as Herald's
 * services do with many handlers publishing at once) into a quorum queue in a namespace of its own, while
 * a consumer with manual acks takes them; the queue is deleted afterwards.
 */
export async function rabbitRaw(
  amqpUrl: string,
  options = { messages: 30_000, maxMs: 8_000, bytes: 300, inFlight: 256, prefetch: 256 },
): Promise<RawResult[]> {
  const queue = `bench-${randomBytes(4).toString("hex")}.raw`;
  const rabbit = new Connection({ ...amqpConnectionOptions(amqpUrl), connectionName: "herald-bench-raw" });
  rabbit.on("error", () => undefined); // a failed publish or consume below says what went wrong
  const queueOptions = { queue, durable: true, arguments: { "x-queue-type": "quorum" as const } };
  let consumed = 0;
  let lastConsumedAt = 0;
  const consumer = rabbit.createConsumer(
    { queue, queueOptions, qos: { prefetchCount: options.prefetch }, concurrency: options.prefetch },
    async () => {
      consumed++;
      lastConsumedAt = nowMs();
    },
  );
  consumer.on("error", () => undefined); // it reconnects; a shortfall shows in the consumed count
  const publisher = rabbit.createPublisher({ confirm: true, maxAttempts: 1 });
  try {
    // The consumer declares the queue. On a broker just started, the first quorum queue's first consume
    // can fail (INTERNAL_ERROR, which closes the connection) and succeed when the consumer tries again.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the consumer was not ready within 20 s")), 20_000);
      consumer.once("ready", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const body = randomBytes(options.bytes);
    const started = nowMs();
    const deadline = started + options.maxMs;
    let published = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: options.inFlight }, async () => {
        while (next < options.messages && nowMs() < deadline) {
          next++;
          await publisher.send({ routingKey: queue, durable: true }, body);
          published++;
        }
      }),
    );
    const publishMs = nowMs() - started;
    const drainDeadline = nowMs() + 10_000;
    while (consumed < published && nowMs() < drainDeadline) await new Promise((r) => setTimeout(r, 20));
    const consumeMs = (lastConsumedAt || nowMs()) - started;
    return [
      {
        name: "RabbitMQ publish (confirmed, persistent, quorum)",
        perSecond: rate(published, publishMs),
        detail: `${published} × ${options.bytes} B, ${options.inFlight} unconfirmed at most`,
      },
      {
        name: "RabbitMQ publish → consume (manual ack)",
        perSecond: rate(consumed, consumeMs),
        detail: `${consumed} of ${published} consumed, prefetch ${options.prefetch}`,
      },
    ];
  } finally {
    await consumer.close();
    await publisher.close();
    await rabbit.queueDelete({ queue }).catch(() => undefined);
    await rabbit.close();
  }
}

/** POSTs to a local receiver (the benchmark's fast one) over keep-alive connections, as delivery does. */
export async function undiciRaw(
  options = { ms: 4_000, concurrency: 64, connections: 32 },
): Promise<RawResult> {
  const receiver = await startBenchReceiver("fast", new Recorder("raw"));
  const agent = new Agent({ connections: options.connections, keepAliveTimeout: 30_000 });
  try {
    const started = nowMs();
    const deadline = started + options.ms;
    let done = 0;
    const body = Buffer.from(JSON.stringify({ seq: 0, t: 0, pad: "x".repeat(200) }));
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (nowMs() < deadline) {
          const res = await request(receiver.url, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
            dispatcher: agent,
          });
          await res.body.dump();
          done++;
        }
      }),
    );
    return {
      name: "undici POST → local receiver (keep-alive)",
      perSecond: rate(done, nowMs() - started),
      detail: `${options.concurrency} in flight over ${options.connections} connections, answered 204`,
    };
  } finally {
    await agent.close();
    await receiver.close();
  }
}

/** Writes to the MongoDB wire server in a database of its own, dropped afterwards. */
export async function mongoRaw(mongoUrl: string, options = { msEach: 2_000 }): Promise<RawResult[]> {
  const client = new MongoClient(mongoUrl);
  const db = client.db(`bench_raw_${randomBytes(4).toString("hex")}`);
  const docs = db.collection<{ _id: string; n: number; pad: string }>("docs");
  const pad = "x".repeat(300);
  const results: RawResult[] = [];
  try {
    await docs.insertOne({ _id: "warm-up", n: 0, pad });
    let id = 0;
    const timed = async (name: string, detail: string, concurrency: number, op: () => Promise<number>) => {
      const started = nowMs();
      const deadline = started + options.msEach;
      let count = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (nowMs() < deadline) {
            const done = await op();
            count += done;
          }
        }),
      );
      const ms = nowMs() - started;
      results.push({ name, perSecond: rate(count, ms), detail: `${detail}; ${round(ms / 1000)} s` });
    };
    await timed("MongoDB insertOne, 1 at a time", "one document per round trip", 1, async () => {
      await docs.insertOne({ _id: `d${id++}`, n: id, pad });
      return 1;
    });
    await timed("MongoDB insertOne, 16 at once", "one document per round trip", 16, async () => {
      await docs.insertOne({ _id: `d${id++}`, n: id, pad });
      return 1;
    });
    await timed("MongoDB insertMany (200 per call)", "documents per second", 1, async () => {
      await docs.insertMany(Array.from({ length: 200 }, () => ({ _id: `d${id++}`, n: id, pad })));
      return 200;
    });
    const written = id;
    let k = 0;
    await timed("MongoDB updateOne by _id, 16 at once", `over ${written} documents`, 16, async () => {
      await docs.updateOne({ _id: `d${(k++ * 7919) % written}` }, { $set: { n: k } });
      return 1;
    });
    // A lookup by _id of a recent document, in a collection of 1,000 then of 20,000: flat on MongoDB
    // (the _id index), growing with the collection where the index is not used.
    const lookups = db.collection<{ _id: string; pad: string }>("lookups");
    let size = 0;
    for (const target of [1_000, 20_000]) {
      while (size < target) {
        const n = Math.min(2_000, target - size);
        await lookups.insertMany(Array.from({ length: n }, (_, i) => ({ _id: `k${size + i}`, pad })));
        size += n;
      }
      let j = 0;
      await timed(
        `MongoDB findOne by _id, ${target.toLocaleString("en-US")} documents`,
        "one of the last 100 inserted, 1 at a time",
        1,
        async () => {
          await lookups.findOne({ _id: `k${target - 1 - (j++ % 100)}` });
          return 1;
        },
      );
    }
    return results;
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}
