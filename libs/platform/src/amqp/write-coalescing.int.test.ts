// rabbitmq-client is patched (patches/rabbitmq-client+5.0.8.patch) to uncork its socket on the next tick,
// so the frames written in one turn of the event loop leave in one write. These tests check that the
// patch is applied and that it loses and blocks nothing: under back-pressure, and when the connection
// drops in the middle of a burst.
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { Connection } from "rabbitmq-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testEnv } from "../testing.js";

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

async function waitFor(condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not done within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A TCP relay to the broker whose connections can all be cut at once. */
async function startRelay() {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(brokerPort, broker.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `amqp://${broker.username}:${broker.password}@127.0.0.1:${port}`,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
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
      await waitFor(() => got.size === bodies.length, 30_000);
      expect(bodies.every((b) => got.get(digest(b)) === 1)).toBe(true);
    } finally {
      await consumer.close();
      await publisher.close();
      await rabbit.close();
    }
  }, 60_000);

  it("goes on publishing after the connection drops mid-burst, and every confirmed message arrives", async () => {
    const relay = await startRelay();
    const rabbit = new Connection({ url: relay.url, retryLow: 50, retryHigh: 200 });
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
      await waitFor(() => confirmed.length >= 20, 10_000);
      relay.cut();
      await first;
      // The same connection object reconnects; a burst after the drop must not hang.
      await burst(400);
      await waitFor(() => confirmed.every((b) => got.has(digest(b))), 30_000);
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
