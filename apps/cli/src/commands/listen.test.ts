import http from "node:http";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  EndpointService,
  EndpointTransport,
  type ListenResponse,
  ListenResponseSchema,
  ListenService,
  type ReportDeliveryRequest,
} from "@herald/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Io } from "../context.js";
import { run } from "../program.js";
import { checkLocalUrl } from "./listen.js";

// `herald listen` in-process against a fake Herald (routing's EndpointService and delivery's
// ListenService on one port) and a real local receiver: deliveries are POSTed as streamed, answers
// reported, a lost stream reopened, and the endpoint deleted on Ctrl-C.

let herald: http.Server;
let local: http.Server;
let heraldUrl = "";
let localUrl = "";
const reports: ReportDeliveryRequest[] = [];
const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
const deleted: string[] = [];
let opens = 0;

const delivery = (n: number): ListenResponse =>
  create(ListenResponseSchema, {
    message: {
      case: "delivery",
      value: {
        deliveryId: `ld_aa_${n}`,
        eventId: `evt_${n}`,
        eventType: "order.created",
        attempt: 1,
        headers: { "webhook-id": `evt_${n}`, "content-type": "application/json" },
        body: new TextEncoder().encode(`{"n":${n}}`),
      },
    },
  });
const ready = create(ListenResponseSchema, { message: { case: "ready", value: {} } });

function routes(router: ConnectRouter) {
  router.service(EndpointService, {
    createEndpoint: (req) => ({
      endpoint: {
        id: "ep_1",
        tenantId: req.tenantId,
        url: "herald-listen://ep_1",
        transport: req.transport,
        eventTypes: req.eventTypes,
      },
    }),
    getEndpoint: (req) => ({ endpoint: { id: req.endpointId, transport: EndpointTransport.LISTEN } }),
    getEndpointSecret: () => ({ secrets: [{ id: "s", secret: "whsec_test" }] }),
    deleteEndpoint: (req) => {
      deleted.push(req.endpointId);
      return {};
    },
  });
  router.service(ListenService, {
    async *listen(req, ctx) {
      if (req.endpointId !== "ep_1") throw new ConnectError("no such endpoint", Code.NotFound);
      opens += 1;
      yield ready;
      if (opens === 1) {
        yield delivery(1);
        // The first stream drops after its delivery.
        await new Promise((resolve) => setTimeout(resolve, 100));
        throw new ConnectError("going away", Code.Unavailable);
      }
      yield delivery(2);
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
    },
    reportDelivery: (req) => {
      reports.push(req);
      return {};
    },
  });
}

async function listenOn(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  herald = http.createServer(connectNodeAdapter({ routes }));
  local = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(received.length === 1 ? 201 : 500).end(received.length === 1 ? "made" : "boom");
    });
  });
  heraldUrl = await listenOn(herald);
  localUrl = `${await listenOn(local)}/hooks`;
});

afterAll(async () => {
  herald?.closeAllConnections();
  local?.closeAllConnections();
  await Promise.all([herald, local].map((s) => new Promise((resolve) => s?.close(resolve))));
});

function io(stop: AbortController): Io & { out(): string; err(): string } {
  let stdout = "";
  let stderr = "";
  return {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    readStdin: async () => new Uint8Array(),
    stdinIsTty: true,
    readLine: async () => "",
    readFile: async () => new Uint8Array(),
    env: { HERALD_API_KEY: "k", HERALD_ROUTING_URL: heraldUrl, HERALD_DELIVERY_URL: heraldUrl },
    now: () => new Date("2026-12-06T07:30:05Z"),
    interrupted: () => stop.signal,
    out: () => stdout,
    err: () => stderr,
  };
}

describe("herald listen", () => {
  it("forwards each delivery, reports the answers, reconnects, and deletes its endpoint when stopped", async () => {
    const stop = new AbortController();
    const cli = io(stop);
    const running = run(["listen", "--tenant", "acme", "--event-type", "order.*", localUrl], cli);
    const deadline = Date.now() + 10_000;
    while (reports.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    expect(await running).toBe(0);

    expect(received.map((r) => [r.headers["webhook-id"], r.body])).toEqual([
      ["evt_1", '{"n":1}'],
      ["evt_2", '{"n":2}'],
    ]);
    expect(reports.map((r) => [r.tenantId, r.endpointId, r.deliveryId, r.status, r.body])).toEqual([
      ["acme", "ep_1", "ld_aa_1", 201, "made"],
      ["acme", "ep_1", "ld_aa_2", 500, "boom"],
    ]);
    expect(cli.out()).toMatch(/^07:30:05 {2}order\.created {2}evt_1 {2}attempt 1 {2}→ 201 {2}\d+ ms$/m);
    expect(cli.out()).toMatch(/evt_2 {2}attempt 1 {2}→ 500/);
    expect(cli.err()).toContain("signing secret (verify deliveries with @herald/receiver): whsec_test");
    expect(cli.err()).toMatch(/stream lost \(.*going away.*\); reconnecting in/);
    expect(opens).toBe(2);
    expect(deleted).toEqual(["ep_1"]);
  });

  it("stops at an error a reconnect cannot cure, and refuses bad command lines", async () => {
    const stop = new AbortController();
    const cli = io(stop);
    // A resumed endpoint the stream does not know: NOT_FOUND ends the command, nothing deleted.
    expect(await run(["listen", "--tenant", "acme", "--session", "ep_9", localUrl], cli)).toBe(1);
    expect(cli.err()).toMatch(/not found/);
    expect(deleted).toEqual(["ep_1"]);
    const usage = io(stop);
    expect(
      await run(["listen", "--tenant", "acme", "--session", "ep_1", "--filter", "true", localUrl], usage),
    ).toBe(2);
    expect(usage.err()).toMatch(/a resumed one \(--session\) keeps its own/);
    expect(() => checkLocalUrl("localhost:3000")).toThrow(/is not an http\(s\) URL/);
    expect(() => checkLocalUrl("not a url")).toThrow(/is not a URL/);
    expect(checkLocalUrl("http://localhost:3000/hooks")).toBe("http://localhost:3000/hooks");
  });
});
