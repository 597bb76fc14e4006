import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { makeTestCertificates, TEST_ADMIN_KEY, type TestCertificates } from "@herald/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GrpcIngestClient, grpcIngestClient } from "./support/clients.js";
import { type Receiver, startReceiver } from "./support/receiver.js";
import { freePort, REPO_ROOT, type Stack, startStack } from "./support/stack.js";

// The whole of Herald with TLS and client certificates required on every RPC port, driven as an
// operator would: the CLI over https:// for the control plane, a stock grpc-js client publishing,
// curl probing readiness, the portal forwarding a browser's calls. Certificates are made at test time
// (scripts/tls-certs.sh).

const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../apps/cli/dist/main.js", import.meta.url));
let certs: TestCertificates;
let stack: Stack;
let receiver: Receiver;
let ingest: GrpcIngestClient;
const portals: ChildProcess[] = [];

beforeAll(async () => {
  certs = makeTestCertificates();
  stack = await startStack(
    {
      RPC_TLS_CERT_FILE: certs.serverCert,
      RPC_TLS_KEY_FILE: certs.serverKey,
      RPC_TLS_CLIENT_CA_FILE: certs.ca,
    },
    { tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } },
  );
  receiver = await startReceiver();
  ingest = grpcIngestClient(
    `127.0.0.1:${stack.ports.ingest}`,
    grpc.credentials.createSsl(
      readFileSync(certs.ca),
      readFileSync(certs.clientKey),
      readFileSync(certs.clientCert),
    ),
  );
});

afterAll(async () => {
  await Promise.all(
    portals.map((p) =>
      p.exitCode === null ? new Promise((r) => p.once("exit", r).kill("SIGTERM")) : undefined,
    ),
  );
  ingest?.close();
  await receiver?.close();
  await stack?.stop();
  certs?.remove();
});

/** The built CLI over https, with the CA and the client certificate from the environment. */
async function herald(args: string[], key = TEST_ADMIN_KEY): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, ...args], {
    env: {
      PATH: process.env.PATH ?? "",
      HERALD_API_KEY: key,
      HERALD_INGEST_URL: stack.url("ingest"),
      HERALD_ROUTING_URL: stack.url("routing"),
      HERALD_AUDIT_URL: stack.url("audit"),
      HERALD_TLS_CA_FILE: certs.ca,
      HERALD_TLS_CERT_FILE: certs.clientCert,
      HERALD_TLS_KEY_FILE: certs.clientKey,
    },
    timeout: 20_000,
  });
  return stdout;
}

describe("Herald with TLS and client certificates on every port", () => {
  it("is set up with the CLI over https and delivers what grpc-js publishes over TLS", async () => {
    expect(stack.url("routing")).toMatch(/^https:/);
    await herald(["tenants", "create", "acme", "--name", "Acme"]);
    const { token } = JSON.parse(
      await herald([
        "keys",
        "create",
        "--name",
        "publisher",
        "--tenant",
        "acme",
        "--scope",
        "events:publish",
        "--json",
      ]),
    ) as { token: string };
    await herald([
      "endpoints",
      "create",
      "--tenant",
      "acme",
      "--url",
      receiver.url,
      "--event-type",
      "order.*",
    ]);

    const { event_id } = await ingest.publishEvent(
      { tenant_id: "acme", event: { event_type: "order.created", payload: Buffer.from('{"id":"o_1"}') } },
      token,
    );
    const [delivered] = await receiver.waitFor(1, 15_000);
    expect(delivered?.headers["webhook-id"]).toBe(event_id);
    expect(await herald(["events", "get", event_id, "--tenant", "acme"])).toContain(event_id);
  });

  it("answers curl's readiness probe with a client certificate, and refuses one without", async () => {
    const withCert = await run("curl", [
      "-sS",
      "--max-time",
      "5",
      "--cacert",
      certs.ca,
      "--cert",
      certs.clientCert,
      "--key",
      certs.clientKey,
      `${stack.url("delivery")}/readyz`,
    ]);
    expect(withCert.stdout).toBe('{"service":"delivery","ready":true,"failing":[]}\n');
    const without = await run("curl", [
      "-sS",
      "--max-time",
      "5",
      "--cacert",
      certs.ca,
      `${stack.url("delivery")}/readyz`,
    ])
      .then(() => "answered")
      .catch(() => "refused");
    expect(without).toBe("refused");
  });

  it("refuses a grpc-js client without a certificate, and one speaking cleartext", async () => {
    for (const credentials of [
      grpc.credentials.createSsl(readFileSync(certs.ca)),
      grpc.credentials.createInsecure(),
    ]) {
      const client = grpcIngestClient(`127.0.0.1:${stack.ports.ingest}`, credentials);
      try {
        const err = await client
          .publishEvent(
            { tenant_id: "acme", event: { event_type: "order.x", payload: Buffer.from("{}") } },
            "k",
          )
          .then(() => undefined)
          .catch((e: grpc.ServiceError) => e);
        expect(err?.code).toBe(grpc.status.UNAVAILABLE);
      } finally {
        client.close();
      }
    }
  });
});

/** The built portal server forwarding to the stack over https, with `tls` (HERALD_TLS_*); its URL. */
async function startPortal(tls: Record<string, string>): Promise<{ url: string; logs: () => string }> {
  const port = await freePort();
  const lines: string[] = [];
  const child = spawn(process.execPath, [`${REPO_ROOT}apps/portal/dist/server/main.js`], {
    env: {
      PATH: process.env.PATH ?? "",
      PORTAL_PORT: String(port),
      HERALD_ROUTING_URL: stack.url("routing"),
      HERALD_AUDIT_URL: stack.url("audit"),
      HERALD_ADMIN_KEY: TEST_ADMIN_KEY,
      ...tls,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  portals.push(child);
  child.stdout?.on("data", (chunk: Buffer) => lines.push(chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => lines.push(chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const up = await fetch(`${url}/healthz`).then(
      (res) => res.ok,
      () => false,
    );
    if (up) break;
    if (child.exitCode !== null || i > 150) throw new Error(`the portal did not start:\n${lines.join("")}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, logs: () => lines.join("") };
}

/** What the test reads of an answer: ListEndpoints' list, or a Connect error. */
interface PortalAnswer {
  endpoints?: Array<{ url: string }>;
  code?: string;
  message?: string;
}

/** A Connect JSON call through the portal's /rpc entry, as the browser app makes it. */
async function viaPortal(
  portalUrl: string,
  method: string,
  body: object,
): Promise<{ status: number; body: PortalAnswer }> {
  const res = await fetch(`${portalUrl}/rpc/${method}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "connect-protocol-version": "1",
      authorization: `Bearer ${TEST_ADMIN_KEY}`,
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as PortalAnswer };
}

describe("the portal in front of services that require client certificates", () => {
  it("forwards calls presenting HERALD_TLS_CERT_FILE, trusting HERALD_TLS_CA_FILE", async () => {
    await herald(["tenants", "update", "acme", "--portal-frame-ancestors", "https://app.example.com"]);
    const portal = await startPortal({
      HERALD_TLS_CA_FILE: certs.ca,
      HERALD_TLS_CERT_FILE: certs.clientCert,
      HERALD_TLS_KEY_FILE: certs.clientKey,
    });
    const listed = await viaPortal(portal.url, "herald.v1.EndpointService/ListEndpoints", {
      tenantId: "acme",
    });
    expect(listed.status).toBe(200);
    expect(listed.body.endpoints?.map((e) => e.url)).toEqual([receiver.url]);
    const events = await viaPortal(portal.url, "herald.v1.AuditService/ListEvents", { tenantId: "acme" });
    expect(events.status).toBe(200);
    // The page's frame ancestors are read from routing through the same client.
    const page = await fetch(`${portal.url}/t/acme/`);
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors https://app.example.com");
  });

  it("answers unavailable, without the cause, when it has no certificate to present", async () => {
    const portal = await startPortal({ HERALD_TLS_CA_FILE: certs.ca });
    const refused = await viaPortal(portal.url, "herald.v1.EndpointService/ListEndpoints", {
      tenantId: "acme",
    });
    expect(refused).toEqual({
      status: 503,
      body: { code: "unavailable", message: "the routing service cannot be reached" },
    });
    // The operator finds the reason in the portal's log.
    expect(portal.logs()).toContain('"msg":"service unavailable","service":"routing"');
  });

  it("refuses to start with a client certificate but no key", async () => {
    await expect(startPortal({ HERALD_TLS_CERT_FILE: certs.clientCert })).rejects.toThrow(
      "HERALD_TLS_KEY_FILE: required with HERALD_TLS_CERT_FILE (a client certificate needs its key)",
    );
  });
});
