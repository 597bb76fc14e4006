import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { makeTestCertificates, TEST_ADMIN_KEY, type TestCertificates } from "@herald/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GrpcIngestClient, grpcIngestClient } from "./support/clients.js";
import { type Receiver, startReceiver } from "./support/receiver.js";
import { type Stack, startStack } from "./support/stack.js";

// The whole of Herald with TLS and client certificates required on every RPC port, driven as an
// operator would: the CLI over https:// for the control plane, a stock grpc-js client publishing,
// curl probing readiness. Certificates are made at test time (scripts/tls-certs.sh).

const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../apps/cli/dist/main.js", import.meta.url));
let certs: TestCertificates;
let stack: Stack;
let receiver: Receiver;
let ingest: GrpcIngestClient;

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
    expect(withCert.stdout).toBe('{"ready":true,"failing":[]}\n');
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
