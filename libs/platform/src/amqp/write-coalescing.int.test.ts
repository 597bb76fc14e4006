// rabbitmq-client is patched (patches/rabbitmq-client+5.0.8.patch) to uncork its socket on the next tick,
// so the frames written in one turn of the event loop leave in one write. These tests check that the
// patch is applied and that it loses and blocks nothing: under back-pressure, and when the connection
// drops in the middle of a burst.
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { Connection } from "rabbitmq-client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTcpProxy, testEnv } from "../testing/index.js";

const env = testEnv();
const queue = `${env.AMQP_NAMESPACE}.coalescing`;
const queueOptions = { queue, durable: true, arguments: { "x-queue-type": "quorum" as const } };
const broker = new URL(env.AMQP_URL as string);
const brokerPort = Number(broker.port || 5672);
let admin: Connection;

beforeAll(async () => {
  admin = new Connection(env.AMQP_URL);
  await admin.queueDeclare(queueOptions);
});

afterAll(async () => {
  await admin?.queueDelete({ queue }).catch(() => undefined);
  await admin?.close();
});

const digest = (body: Buffer) => createHash("sha256").update(body).digest("hex");

/** Counts the writes sockets to the broker make, until restored. */
function countBrokerWrites() {
  const proto = net.Socket.prototype as unknown as Record<"_write" | "_writev", (...args: unknown[]) => void>;
  const original = { _write: proto._write, _writev: proto._writev };
  const counter = { writes: 0, restore: () => Object.assign(proto, original) };
  for (const name of ["_write", "_writev"] as const) {
    proto[name] = function (this: net.Socket, ...args: unknown[]) {
      if (this.remotePort === brokerPort) counter.writes++;
      return original[name].apply(this, args);
    };
  }
  return counter;
}

/** Takes messages off the queue into `got` (body digests) until closed. */
function collect(rabbit: Connection, got: Map<string, number>) {
  return rabbit.createConsumer(
    { queue, queueOptions, qos: { prefetchCount: 64 }, concurrency: 64 },
    async (msg) => {
      const key = digest(msg.body as Buffer);
      got.set(key, (got.get(key) ?? 0) + 1);
    },
  );
}

describe("rabbitmq-client with writes coalesced per tick", () => {
  it("sends 200 publishes made in one turn in a handful of socket writes", async () => {
    const rabbit = new Connection(env.AMQP_URL);
    const publisher = rabbit.createPublisher({ confirm: true });
    try {
      await publisher.send({ routingKey: queue, durable: true }, Buffer.from("warm-up"));
      const writes = countBrokerWrites();
      try {
        const sends = Array.from({ length: 200 }, (_, i) =>
          publisher.send({ routingKey: queue, durable: true }, Buffer.from(`burst ${i}`)),
        );
        await Promise.all(sends);
      } finally {
        writes.restore();
      }
      // Unpatched, each publish is its own write: 200 at least.
      expect(writes.writes).toBeGreaterThan(0);
      expect(writes.writes).toBeLessThan(20);
    } finally {
      await publisher.close();
      await rabbit.close();
      await admin.queuePurge({ queue });
    }
  });

  it("delivers every confirmed message when 128 KiB bodies fill the socket's buffer", async () => {
    const rabbit = new Connection(env.AMQP_URL);
    const publisher = rabbit.createPublisher({ confirm: true });
    const got = new Map<string, number>();
    const consumer = collect(rabbit, got);
    const bodies = Array.from({ length: 160 }, () => randomBytes(128 * 1024));
    try {
      let next = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < bodies.length) {
            const body = bodies[next++] as Buffer;
            await publisher.send({ routingKey: queue, durable: true }, body);
          }
        }),
      );
      await vi.waitFor(() => expect(got.size).toBe(bodies.length), { timeout: 30_000, interval: 20 });
      expect(bodies.every((b) => got.get(digest(b)) === 1)).toBe(true);
    } finally {
      await consumer.close();
      await publisher.close();
      await rabbit.close();
    }
  }, 60_000);

  it("goes on publishing after the connection drops mid-burst, and every confirmed message arrives", async () => {
    const relay = await startTcpProxy(broker.hostname, brokerPort);
    const relayUrl = new URL(broker);
    relayUrl.host = `127.0.0.1:${relay.port}`;
    const rabbit = new Connection({ url: relayUrl.href, retryLow: 50, retryHigh: 200 });
    rabbit.on("error", () => undefined);
    let connections = 0;
    rabbit.on("connection", () => connections++);
    const publisher = rabbit.createPublisher({ confirm: true, maxAttempts: 3 });
    const got = new Map<string, number>();
    const consumer = collect(admin, got);
    const confirmed: Buffer[] = [];
    let failed = 0;
    const burst = (count: number) =>
      Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const body = randomBytes(i % 7 === 0 ? 64 * 1024 : 200);
          try {
            await publisher.send({ routingKey: queue, durable: true }, body);
            confirmed.push(body);
          } catch {
            failed++; // lost with the connection after its attempts: the caller knows, as Herald's would
          }
        }),
      );
    try {
      const first = burst(400);
      // Cut once the connection carries traffic, with most of the burst still unconfirmed.
      await vi.waitFor(() => expect(confirmed.length).toBeGreaterThanOrEqual(20), {
        timeout: 10_000,
        interval: 5,
      });
      await relay.cut();
      await relay.restore();
      await first;
      // The same connection object reconnects; a burst after the drop must not hang.
      await burst(400);
      await vi.waitFor(() => expect(confirmed.every((b) => got.has(digest(b)))).toBe(true), {
        timeout: 30_000,
        interval: 20,
      });
      expect(connections).toBeGreaterThanOrEqual(2);
      expect(confirmed.length).toBeGreaterThanOrEqual(400);
      expect(confirmed.length + failed).toBe(800);
    } finally {
      await consumer.close();
      await publisher.close();
      await rabbit.close();
      await relay.close();
    }
  }, 60_000);
});
