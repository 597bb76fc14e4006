// The load generator in a worker thread, against a Connect JSON ingest stand-in on loopback: what it
// sends, what it counts, and that an interruption in the calling thread reaches it.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoadGenerator, LoadStats } from "./load.js";
import { loadInWorkerThread } from "./load-thread.js";
import { nowMs } from "./system.js";

interface Received {
  tenantId: string;
  seq: number;
  /** Send time written by the worker, ms since the epoch. */
  t: number;
  /** When this thread's server read it. */
  at: number;
}

/** Answers PublishEvent with an event id, or with `refuse`'s Connect error for the tenant it names. */
function ingestStandIn(received: Received[], refuse: string) {
  return http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk));
    req.on("end", () => {
      const { tenantId, event } = JSON.parse(body) as { tenantId: string; event: { payload: string } };
      const payload = JSON.parse(Buffer.from(event.payload, "base64").toString()) as {
        seq: number;
        t: number;
      };
      received.push({ tenantId, seq: payload.seq, t: payload.t, at: nowMs() });
      if (tenantId === refuse) {
        res.writeHead(429, { "content-type": "application/json" });
        res.end(JSON.stringify({ code: "resource_exhausted", message: "slow down" }));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ eventId: `ev_${payload.seq}` }));
    });
  });
}

describe("loadInWorkerThread", () => {
  const received: Received[] = [];
  const server = ingestStandIn(received, "tenant-refused");
  let load: LoadGenerator;
  const publishers = [
    { tenantId: "tenant-a", token: "a" },
    { tenantId: "tenant-b", token: "b" },
  ];

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    load = loadInWorkerThread({
      protocol: "connect-json",
      baseUrl: `http://127.0.0.1:${port}`,
      connections: 4,
    });
  });

  afterAll(async () => {
    await load.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it("publishes as fast as possible from the worker and hands its figures back", async () => {
    received.length = 0;
    const stats = new LoadStats();
    const before = nowMs();
    await load.asFastAsPossible(
      { publishers, maxEvents: 200, maxMs: 30_000, batchSize: 1, concurrency: 4, stop: () => false },
      stats,
    );
    expect(stats.sent).toBe(200);
    expect(stats.accepted).toBe(200);
    expect(stats.errors).toEqual({});
    expect(stats.callLatencyMs.length).toBe(200);
    expect(stats.startedAt).toBeGreaterThanOrEqual(before);
    expect(stats.endedAt).toBeGreaterThanOrEqual(stats.startedAt);
    expect(received.map((r) => r.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 200 }, (_, i) => i),
    );
    // Tenants in turn, and send times on this thread's clock: never after the server read them.
    expect(received.filter((r) => r.tenantId === "tenant-a")).toHaveLength(100);
    for (const r of received) expect(r.at - r.t).toBeGreaterThanOrEqual(-1);
  });

  it("counts refused calls by their code", async () => {
    const stats = new LoadStats();
    await load.asFastAsPossible(
      {
        publishers: [{ tenantId: "tenant-refused", token: "r" }],
        maxEvents: 10,
        maxMs: 30_000,
        batchSize: 1,
        concurrency: 2,
        stop: () => false,
      },
      stats,
    );
    expect(stats.sent).toBe(10);
    expect(stats.accepted).toBe(0);
    expect(stats.errors).toEqual({ "connect resource_exhausted (slow down)": 10 });
  });

  it("publishes at a fixed rate and stops when the calling thread says so", async () => {
    received.length = 0;
    const stats = new LoadStats();
    let stopping = false;
    const run = load.atFixedRate(
      {
        publishers,
        ratePerSecond: 100,
        durationMs: 60_000,
        maxInFlight: 10,
        answerWaitMs: 5_000,
        stop: () => stopping,
      },
      stats,
    );
    // Progress crosses from the worker while the run goes on.
    const deadline = nowMs() + 10_000;
    while (stats.accepted < 20 && nowMs() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(stats.accepted).toBeGreaterThanOrEqual(20);
    stopping = true;
    await run;
    expect(stats.sent).toBeLessThan(6_000);
    expect(stats.unsent).toBe(6_000 - stats.sent);
    expect(stats.accepted).toBe(stats.sent);
    expect(received).toHaveLength(stats.sent);
  });

  it("overlapping runs keep their own figures", async () => {
    const a = new LoadStats();
    const b = new LoadStats();
    const run = (maxEvents: number, stats: LoadStats) =>
      load.asFastAsPossible(
        { publishers, maxEvents, maxMs: 30_000, batchSize: 1, concurrency: 2, stop: () => false },
        stats,
      );
    await Promise.all([run(30, a), run(50, b)]);
    expect([a.accepted, b.accepted]).toEqual([30, 50]);
  });
});
