// Microbenchmark of the RPC port's cost per unary call: a server process with Herald's RPC server (its
// interceptors as the services run them, an IngestService answering at once) serves the same calls
// on Herald's lean paths and on connect-es's own; this process calls it and reads the server's CPU
// time from /proc, so the client's own work is not counted. Rounds alternate between the paths, so a
// machine whose load changes meanwhile weighs on both alike. Not part of `npm run bench`; run it on its own:
//   npx nx run @herald/platform:build && node test/bench/micro/rpc-unary-call.ts
// MODE=cold compares the first calls of a fresh server with and without the warm-up services run before
// they report ready. Results: docs/decisions/single-event-speed.md.
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { IngestService, PublishEventResponseSchema } from "@herald/contracts";
import { Pool } from "undici";

const CALLS = Number(process.env.CALLS ?? 4_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const IN_FLIGHT = 64;
const PAYLOAD = Buffer.from(JSON.stringify({ order: "ord_1234567890", total: 24.1, note: "x".repeat(220) }));

async function serve(warm: boolean): Promise<void> {
  // The built platform (its RPC server is not part of the package's exports).
  const platform = "../../../libs/platform/dist";
  const { startRpcServer } = await import(`${platform}/rpc/server.js`);
  const { authInterceptor, errorInterceptor, tracingInterceptor } = await import(
    `${platform}/rpc/interceptors.js`
  );
  const { rpcMetricsInterceptor } = await import(`${platform}/rpc/rpc-metrics.js`);
  const { createLogger } = await import("@herald/platform");
  const { Registry } = await import("prom-client");
  const principal = { keyId: "k", tenantId: "t", scopes: new Set([1]) };
  const interceptors = [
    rpcMetricsInterceptor(new Registry()),
    tracingInterceptor(),
    errorInterceptor(createLogger({ service: "micro", level: "warn" })),
    authInterceptor({ authenticate: async () => principal }),
  ];
  const routes = (router: import("@connectrpc/connect").ConnectRouter) =>
    router.service(IngestService, {
      publishEvent: (req) => create(PublishEventResponseSchema, { eventId: `evt_${req.tenantId}` }),
      publishEvents: () => ({ results: [] }),
    });
  const options = { host: "127.0.0.1", port: 0, routes, interceptors };
  const lean = await startRpcServer(options);
  const stock = await startRpcServer({ ...options, unaryGrpcFastPath: false, unaryConnectFastPath: false });
  if (warm) {
    const { warmUpRpcPort } = await import(`${platform}/rpc/warm-up.js`);
    const { RPC_WARM_UP_CALLS } = await import(`${platform}/service.js`);
    await warmUpRpcPort({ host: "127.0.0.1", port: lean.port, calls: RPC_WARM_UP_CALLS });
  }
  process.send?.({ lean: lean.port, stock: stock.port });
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function drive(call: () => Promise<unknown>): Promise<void> {
  let sent = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (sent++ < CALLS) await call();
    }),
  );
}

async function main(): Promise<void> {
  const child = fork(new URL(import.meta.url), ["serve"], { stdio: "inherit" });
  const ports = await new Promise<{ lean: number; stock: number }>((resolve) =>
    child.once("message", resolve),
  );
  const pid = child.pid as number;
  const jsonBody = JSON.stringify({
    tenantId: "t",
    event: { eventType: "bench.event", payload: PAYLOAD.toString("base64") },
  });
  const pools = new Map<number, Pool>();
  const jsonCall = (port: number) => {
    const pool = pools.get(port) ?? new Pool(`http://127.0.0.1:${port}`, { connections: IN_FLIGHT });
    pools.set(port, pool);
    return async () => {
      const res = await pool.request({
        method: "POST",
        path: "/herald.v1.IngestService/PublishEvent",
        headers: { "content-type": "application/json", authorization: "Bearer k" },
        body: jsonBody,
      });
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
    };
  };
  const grpcCall = (port: number) => {
    const client = createClient(IngestService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
    return () =>
      client.publishEvent(
        { tenantId: "t", event: { eventType: "bench.event", payload: PAYLOAD } },
        { headers: { authorization: "Bearer k" } },
      );
  };
  const cases: Array<[string, () => Promise<unknown>]> = [
    ["Connect JSON / HTTP/1.1, lean path", jsonCall(ports.lean)],
    ["Connect JSON / HTTP/1.1, connect-es", jsonCall(ports.stock)],
    ["gRPC / HTTP/2, lean path", grpcCall(ports.lean)],
    ["gRPC / HTTP/2, connect-es", grpcCall(ports.stock)],
  ];
  // Warm up: past V8's optimising of every path.
  for (const [, call] of cases) for (let i = 0; i < 3; i++) await drive(call);
  const perCall = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, call] of cases) {
      const before = cpuMs(pid);
      await drive(call);
      perCall.set(name, [...(perCall.get(name) ?? []), ((cpuMs(pid) - before) * 1000) / CALLS]);
    }
  }
  for (const [name, values] of perCall) {
    const sorted = [...values].sort((a, b) => a - b);
    console.log(
      `${name}: ${sorted.map((v) => Math.round(v)).join(" / ")} µs of server CPU per call (median ${Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0)})`,
    );
  }
  for (const pool of pools.values()) await pool.close();
  child.kill();
}

/**
 * From a start: a fresh server process (warmed up as services are before they report ready, or not),
 * then calls in blocks, each block's server CPU and slowest calls, first block first.
 */
async function cold(): Promise<void> {
  const BLOCK = 250;
  const BLOCKS = 8;
  for (const warm of [false, true, false, true]) {
    const started = performance.now();
    const child = fork(new URL(import.meta.url), [warm ? "serve-warm" : "serve"], { stdio: "inherit" });
    const ports = await new Promise<{ lean: number }>((resolve) => child.once("message", resolve));
    const readyMs = performance.now() - started;
    const pid = child.pid as number;
    const pool = new Pool(`http://127.0.0.1:${ports.lean}`, { connections: IN_FLIGHT });
    const body = JSON.stringify({
      tenantId: "t",
      event: { eventType: "bench.event", payload: PAYLOAD.toString("base64") },
    });
    const blocks: string[] = [];
    let firstBlocksCpu = 0;
    for (let b = 0; b < BLOCKS; b++) {
      const before = cpuMs(pid);
      const latencies: number[] = [];
      let sent = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (sent++ < BLOCK) {
            const t = performance.now();
            const res = await pool.request({
              method: "POST",
              path: "/herald.v1.IngestService/PublishEvent",
              headers: { "content-type": "application/json", authorization: "Bearer k" },
              body,
            });
            await res.body.text();
            latencies.push(performance.now() - t);
          }
        }),
      );
      const cpu = cpuMs(pid) - before;
      if (b < 4) firstBlocksCpu += cpu;
      latencies.sort((x, y) => x - y);
      blocks.push(
        `${Math.round((cpu * 1000) / BLOCK)} µs/p99 ${Math.round(latencies[Math.floor(latencies.length * 0.99)] ?? 0)} ms`,
      );
    }
    console.log(
      `${warm ? "warmed" : "cold  "}: ready after ${Math.round(readyMs)} ms; first ${4 * BLOCK} calls ${Math.round((firstBlocksCpu * 1000) / (4 * BLOCK))} µs of server CPU each; by block of ${BLOCK}: ${blocks.join(", ")}`,
    );
    await pool.close();
    child.kill();
    await new Promise((resolve) => child.once("exit", resolve));
  }
}

if (process.argv[2] === "serve") await serve(false);
else if (process.argv[2] === "serve-warm") await serve(true);
else if (process.env.MODE === "cold") await cold();
else await main();
