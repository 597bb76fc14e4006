import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseAllowlist } from "@herald/platform/model";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebhookClient, WebhookRequestError } from "./webhook-client.js";

let server: http.Server;
let base: string;
const open = new Set<http.ServerResponse>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    if (req.url === "/redirect") {
      res.writeHead(302, { location: "/ok" }).end();
    } else if (req.url === "/endless") {
      res.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, "x");
      const pump = () => {
        while (res.write(chunk)) {
          // keep writing until the socket pushes back
        }
      };
      res.on("drain", pump);
      pump();
    } else if (req.url?.startsWith("/hints")) {
      res.writeEarlyHints({ link: "</style.css>; rel=preload" });
      res.writeHead(201, { "x-url": req.url }).end("made");
    } else if (req.url === "/hang") {
      open.add(res);
    } else if (req.url === "/slow-body") {
      res.writeHead(200);
      open.add(res);
      const timer = setInterval(() => res.write("."), 100);
      res.on("close", () => clearInterval(timer));
    } else {
      res.writeHead(200, { "x-echo": String(req.headers["webhook-id"]) }).end("fine");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of open) res.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function client(
  allowlist = "127.0.0.1/32",
  requestTimeoutMs = 1_000,
  resolveHost?: (h: string) => Promise<Array<{ address: string; family: number }>>,
) {
  return new WebhookClient({
    resolveHost,
    connectTimeoutMs: 1_000,
    requestTimeoutMs,
    maxResponseBytes: 4096,
    connectionsPerOrigin: 4,
    allowlist: parseAllowlist(allowlist),
  });
}

async function failure(promise: Promise<unknown>): Promise<WebhookRequestError> {
  const err = await promise.then(
    () => undefined,
    (e) => e,
  );
  expect(err).toBeInstanceOf(WebhookRequestError);
  return err as WebhookRequestError;
}

describe("WebhookClient", () => {
  it("posts with the given headers and reads the answer", async () => {
    const c = client();
    const res = await c.post(`${base}/ok`, { "webhook-id": "evt_1" }, Buffer.from("{}"));
    expect(res.status).toBe(200);
    expect(res.body).toBe("fine");
    expect(res.headers["x-echo"]).toBe("evt_1");
    await c.close();
  });

  it("sends the path and query, and answers with the final status after an informational one", async () => {
    const c = client();
    const res = await c.post(`${base}/hints?token=abc&x=1`, {}, Buffer.from("{}"));
    expect(res.status).toBe(201);
    expect(res.headers["x-url"]).toBe("/hints?token=abc&x=1");
    expect(res.body).toBe("made");
    await c.close();
  });

  it("does not follow redirects", async () => {
    const c = client();
    const res = await c.post(`${base}/redirect`, {}, Buffer.from("{}"));
    expect(res.status).toBe(302);
    await c.close();
  });

  it("reads at most the cap of an endless body", async () => {
    const c = client();
    const res = await c.post(`${base}/endless`, {}, Buffer.from("{}"));
    expect(res.body.length).toBe(4096);
    await c.close();
  });

  it("times out a receiver that never answers, and one that dribbles its body", async () => {
    const c = client("127.0.0.1/32", 500);
    expect((await failure(c.post(`${base}/hang`, {}, Buffer.from("{}")))).errorClass).toBe("timeout");
    // /slow-body sends a byte per 100 ms forever; the total timeout still ends it.
    const slow = await c.post(`${base}/slow-body`, {}, Buffer.from("{}")).catch((e) => e);
    expect(slow instanceof WebhookRequestError ? slow.errorClass : "no timeout").toBe("timeout");
    await c.close();
  });

  it("times out a request still waiting for a connection to the receiver", async () => {
    const c = new WebhookClient({
      connectTimeoutMs: 1_000,
      requestTimeoutMs: 400,
      maxResponseBytes: 4096,
      connectionsPerOrigin: 1,
      allowlist: parseAllowlist("127.0.0.1/32"),
    });
    // The second waits for the one connection, which the first holds until it times out.
    const [first, second] = await Promise.all([
      failure(c.post(`${base}/hang`, {}, Buffer.from("{}"))),
      failure(c.post(`${base}/hang`, {}, Buffer.from("{}"))),
    ]);
    expect([first.errorClass, second.errorClass]).toEqual(["timeout", "timeout"]);
    await c.close();
  });

  it("refuses loopback addresses at connect time without the allowlist", async () => {
    const c = client("");
    const blocked = await failure(c.post(`${base}/ok`, {}, Buffer.from("{}")));
    expect(blocked.errorClass).toBe("blocked");
    expect(blocked.message).toContain("127.0.0.1");
    const byName = await failure(c.post(base.replace("127.0.0.1", "localhost"), {}, Buffer.from("{}")));
    expect(byName.errorClass).toBe("blocked");
    await c.close();
  });

  it("connects to an allowlisted host name at its loopback address, and only by that name", async () => {
    // Routing accepts http://localhost:… when "localhost" is allowlisted; delivery must then deliver.
    const c = client("localhost");
    const byName = await c.post(base.replace("127.0.0.1", "localhost"), {}, Buffer.from("{}"));
    expect(byName.status).toBe(200);
    // Naming a host allows that host, not the address it resolves to.
    const byAddress = await failure(c.post(`${base}/ok`, {}, Buffer.from("{}")));
    expect(byAddress.errorClass).toBe("blocked");
    expect(byAddress.message).toContain("a loopback address");
    await c.close();
  });

  it.each(["169.254.169.254", "10.1.2.3", "[::1]", "[::ffff:127.0.0.1]"])(
    "refuses %s by IP literal",
    async (host) => {
      const c = client("");
      const blocked = await failure(c.post(`http://${host}:9/x`, {}, Buffer.from("{}")));
      expect(blocked.errorClass).toBe("blocked");
      await c.close();
    },
  );

  it("refuses a host name that re-resolves to a private address at connect time (DNS rebinding)", async () => {
    // The URL was accepted when it resolved to a public address; now it answers loopback.
    const answers = [[{ address: "127.0.0.1", family: 4 }]];
    const c = client("", 1_000, async () => answers.shift() ?? []);
    const blocked = await failure(c.post("http://rebind.example:8080/hook", {}, Buffer.from("{}")));
    expect(blocked.errorClass).toBe("blocked");
    expect(blocked.message).toContain("127.0.0.1");
    await c.close();
  });

  it("refuses a host name with any forbidden address among public ones", async () => {
    const c = client("", 1_000, async () => [
      { address: "93.184.216.34", family: 4 },
      { address: "10.0.0.7", family: 4 },
    ]);
    const blocked = await failure(c.post("http://mixed.example/hook", {}, Buffer.from("{}")));
    expect(blocked.errorClass).toBe("blocked");
    expect(blocked.message).toContain("10.0.0.7");
    await c.close();
  });

  it("classifies a refused connection", async () => {
    const c = client();
    const refused = await failure(c.post("http://127.0.0.1:1/x", {}, Buffer.from("{}")));
    expect(refused.errorClass).toBe("connection");
    expect(refused.message).toContain("ECONNREFUSED");
    await c.close();
  });
});
