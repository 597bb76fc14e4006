// Slow-loris against a real RPC server on loopback: sockets that send nothing or half a request are
// closed by the server within the headers timeout, excess connections are refused, and real calls from
// stock clients succeed all along.
import http2 from "node:http2";
import net from "node:net";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Health } from "@herald/contracts";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { checkHealth, grpcHealthClient, servingHealth } from "../testing/grpc-health.js";
import { type RpcServer, type RpcServerOptions, startRpcServer } from "./server.js";

const servers: RpcServer[] = [];
const clientSockets: net.Socket[] = [];

/** Reasons given to `onCut` by every server of this file. */
const cuts: string[] = [];

async function serve(limits: RpcServerOptions["limits"]): Promise<RpcServer> {
  const server = await startRpcServer({
    onCut: (reason) => cuts.push(reason),
    host: "127.0.0.1",
    port: 0,
    routes: servingHealth,
    interceptors: [],
    httpRoutes: { "/healthz": () => ({ status: 200, contentType: "text/plain", body: "ok\n" }) },
    limits,
  });
  servers.push(server);
  return server;
}

afterEach(() => {
  for (const socket of clientSockets.splice(0)) socket.destroy();
});

afterAll(async () => {
  for (const server of servers) await server.close(1_000);
});

/**
 * A client socket that sends `bytes` once connected. `closed` resolves when the connection ends, with
 * whether it had connected first (a refused connect is not a close by the server).
 */
function openSocket(
  port: number,
  bytes: Buffer | string | undefined,
): { socket: net.Socket; connected: Promise<void>; closed: Promise<boolean> } {
  const socket = net.connect(port, "127.0.0.1");
  clientSockets.push(socket);
  socket.on("error", () => undefined);
  socket.on("data", () => undefined);
  let wasConnected = false;
  const connected = new Promise<void>((resolve) =>
    socket.once("connect", () => {
      wasConnected = true;
      if (bytes !== undefined) socket.write(bytes);
      resolve();
    }),
  );
  const closed = new Promise<boolean>((resolve) => socket.once("close", () => resolve(wasConnected)));
  return { socket, connected, closed };
}

/** How many of `closes` resolved true within `ms` (all of them, or fewer when the wait ran out). */
async function closedWithin(closes: Promise<boolean>[], ms: number): Promise<number> {
  let count = 0;
  const counted = closes.map((close) => close.then((afterConnect) => (count += afterConnect ? 1 : 0)));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(counted), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
  return count;
}

/** Retries `attempt` until it returns `expected` or `ms` ran out; returns the last answer. */
async function eventually<T>(attempt: () => Promise<T>, expected: T, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let answer = await attempt();
  while (answer !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    answer = await attempt();
  }
  return answer;
}

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/** An empty HTTP/2 SETTINGS frame: length 0, type 4, no flags, stream 0. */
const EMPTY_SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
/** An HTTP/2 HEADERS frame header on stream 1 announcing 100 bytes of header block, none of which follow. */
const HEADERS_START = Buffer.from([0, 0, 100, 1, 0x4, 0, 0, 0, 1]);

/** The ways a client can stop before its request is complete, each 100 times in the test below. */
const HALF_REQUESTS: Record<string, Buffer | string> = {
  "half a request line": "POST /grpc.health.v1.Heal",
  "half the headers": "POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: x\r\nContent-Ty",
  "the headers and half the body": `POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"serv`,
  "half the HTTP/2 preface": PREFACE.slice(0, 10),
  "the HTTP/2 preface and settings": Buffer.concat([Buffer.from(PREFACE), EMPTY_SETTINGS]),
  "the preface, settings and half a HEADERS frame": Buffer.concat([
    Buffer.from(PREFACE),
    EMPTY_SETTINGS,
    HEADERS_START,
    Buffer.from([0x83, 0x86]),
  ]),
};

describe("an RPC port under slow-loris", () => {
  it("closes 500 silent sockets and 500 half-sent requests, and answers real calls all along", async () => {
    const server = await serve({ headersTimeoutMs: 1_000, requestTimeoutMs: 1_000 });
    const port = server.port;
    const grpcJs = grpcHealthClient(`127.0.0.1:${port}`);
    const connectH2 = createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
    const connectH1 = createClient(
      Health,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1" }),
    );
    const answers: Array<string | number> = [];
    let calling = true;
    const calls = (async () => {
      while (calling) {
        answers.push(await checkHealth(grpcJs));
        answers.push((await connectH2.check({})).status === 1 ? "SERVING" : "wrong");
        answers.push((await connectH1.check({})).status === 1 ? "SERVING" : "wrong");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();

    try {
      const closes: Promise<boolean>[] = [];
      const kinds = Object.values(HALF_REQUESTS);
      // In batches of 100, so the listen backlog never drops a connection attempt.
      for (let batch = 0; batch < 10; batch++) {
        const opened = Array.from({ length: 100 }, (_, i) =>
          batch < 5 ? openSocket(port, undefined) : openSocket(port, kinds[i % kinds.length]),
        );
        await Promise.all(opened.map((o) => o.connected));
        closes.push(...opened.map((o) => o.closed));
      }
      // Without deadlines these stay open for minutes; with a 1 s timeout they are all closed well
      // within the bounded wait.
      expect(await closedWithin(closes, 15_000)).toBe(1_000);
    } finally {
      calling = false;
      await calls;
      grpcJs.close();
    }
    expect(answers.length).toBeGreaterThan(3);
    expect(new Set(answers)).toEqual(new Set(["SERVING"]));
  });

  it.each(Object.entries(HALF_REQUESTS))("closes a connection that sends %s and stops", async (_, bytes) => {
    const server = await serve({ headersTimeoutMs: 500, requestTimeoutMs: 500 });
    expect(await closedWithin([openSocket(server.port, bytes).closed], 10_000)).toBe(1);
  });

  it("still speaks HTTP/2 to a client whose preface arrives in pieces", async () => {
    const server = await serve({});
    const { socket } = openSocket(server.port, PREFACE.slice(0, 5));
    const frames: Buffer[] = [];
    socket.on("data", (data: Buffer) => frames.push(data));
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.write(Buffer.concat([Buffer.from(PREFACE.slice(5)), EMPTY_SETTINGS]));
    // The server's first frame is its SETTINGS (type 4 at byte 3); an HTTP/1.1 server would answer 400.
    const deadline = Date.now() + 5_000;
    while (frames.length === 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(Buffer.concat(frames)[3]).toBe(4);
  });

  it("closes a kept-alive HTTP/1.1 connection that trickles its next request head", async () => {
    const server = await serve({ headersTimeoutMs: 500, keepAliveTimeoutMs: 500 });
    const { socket, closed } = openSocket(server.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    const answered = new Promise<string>((resolve) => socket.once("data", (data) => resolve(String(data))));
    expect(await answered).toMatch(/^HTTP\/1\.1 200/);
    // One byte every 200 ms keeps Node's idle keep-alive timer from firing; the deadline still does.
    socket.write("GET /healthz HTTP/1.1\r\nx-slow: ");
    const trickle = setInterval(() => socket.write("a"), 200);
    try {
      expect(await closedWithin([closed], 10_000)).toBe(1);
    } finally {
      clearInterval(trickle);
    }
  });

  it("closes an HTTP/2 connection left without an open stream for the idle timeout", async () => {
    const server = await serve({ idleTimeoutMs: 500 });
    const session = http2.connect(`http://127.0.0.1:${server.port}`);
    session.on("error", () => undefined);
    const closed = new Promise<boolean>((resolve) => session.once("close", () => resolve(true)));
    const stream = session.request({ ":path": "/healthz" });
    stream.resume();
    await new Promise((resolve) => stream.once("close", resolve));
    expect(await closedWithin([closed], 10_000)).toBe(1);
  });

  it("cancels an HTTP/2 stream whose request never ends within the request timeout", async () => {
    const server = await serve({ requestTimeoutMs: 500 });
    const session = http2.connect(`http://127.0.0.1:${server.port}`);
    session.on("error", () => undefined);
    try {
      // A unary gRPC call whose headers arrive but whose message and end never do.
      const stream = session.request(
        {
          ":method": "POST",
          ":path": "/grpc.health.v1.Health/Check",
          "content-type": "application/grpc",
          te: "trailers",
        },
        { endStream: false },
      );
      stream.on("error", () => undefined);
      stream.resume();
      const closed = new Promise<number>((resolve) =>
        stream.once("close", () => resolve(stream.rstCode ?? -1)),
      );
      const waited = new Promise<string>((resolve) =>
        setTimeout(() => resolve("still open"), 10_000).unref(),
      );
      expect(await Promise.race([closed, waited])).toBe(http2.constants.NGHTTP2_CANCEL);
    } finally {
      session.destroy();
    }
  });

  it("keeps a connection whose call is in flight past the headers timeout", async () => {
    const server = await serve({ headersTimeoutMs: 300 });
    const client = createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` }));
    // Watch streams for as long as the client listens: 1 s here, over three headers timeouts.
    const abort = new AbortController();
    const seen: number[] = [];
    setTimeout(() => abort.abort(), 1_000);
    try {
      for await (const update of client.watch({}, { signal: abort.signal })) seen.push(update.status);
    } catch (err) {
      expect(String(err)).toMatch(/abort|cancel/i);
    }
    expect(seen).toEqual([1]);
  });
});

describe("the connection cap", () => {
  it("closes connections beyond it as they arrive, and serves again once below it", async () => {
    const server = await serve({ maxConnections: 20, headersTimeoutMs: 30_000 });
    const held = Array.from({ length: 20 }, () => openSocket(server.port, undefined));
    await Promise.all(held.map(({ socket }) => new Promise((resolve) => socket.once("connect", resolve))));
    // The server counts a connection once it accepted it: wait until it has all 20 by checking that
    // one more is refused.
    const excess = Array.from({ length: 10 }, () => openSocket(server.port, undefined));
    expect(
      await closedWithin(
        excess.map((e) => e.closed),
        10_000,
      ),
    ).toBe(10);
    expect(held.filter(({ socket }) => socket.destroyed)).toHaveLength(0);
    expect(cuts.filter((reason) => reason === "refused")).toHaveLength(10);

    for (const { socket } of held) socket.destroy();
    await Promise.all(held.map(({ closed }) => closed));
    const grpcJs = grpcHealthClient(`127.0.0.1:${server.port}`);
    try {
      // The server counts the closed sockets out as it sees them close: a call may be refused before.
      expect(await eventually(() => checkHealth(grpcJs), "SERVING", 5_000)).toBe("SERVING");
    } finally {
      grpcJs.close();
    }
  });
});
