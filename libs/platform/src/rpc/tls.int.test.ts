// TLS on a real RPC server on loopback, called by stock clients: @grpc/grpc-js, curl and connect-node;
// plaintext refused, client certificates required when configured, certificates reloaded on change.
import { execFile } from "node:child_process";
import crypto from "node:crypto";
import { readFileSync } from "node:fs";
import tls from "node:tls";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { Health } from "@herald/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkHealth, grpcHealthClient, servingHealth } from "../testing/grpc-health.js";
import { makeTestCertificates, type TestCertificates } from "../testing/tls.js";
import { type RpcServer, startRpcServer } from "./server.js";
import type { RpcTlsOptions } from "./tls.js";

const run = promisify(execFile);
let certs: TestCertificates;
const servers: RpcServer[] = [];
const reloads: Array<Error | undefined> = [];

async function serveTls(tlsOptions: Partial<RpcTlsOptions> = {}): Promise<RpcServer> {
  const server = await startRpcServer({
    host: "127.0.0.1",
    port: 0,
    routes: servingHealth,
    interceptors: [],
    httpRoutes: { "/healthz": () => ({ status: 200, contentType: "text/plain", body: "ok\n" }) },
    tls: { certFile: certs.serverCert, keyFile: certs.serverKey, ...tlsOptions },
  });
  servers.push(server);
  return server;
}

beforeAll(() => {
  certs = makeTestCertificates();
});

afterAll(async () => {
  for (const server of servers) await server.close(1_000);
  certs?.remove();
});

/** curl's exit code and output for `args`; never throws. */
async function curl(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run("curl", ["-sS", "--max-time", "5", ...args]);
    return { code: 0, out: stdout };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, out: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

const sslCredentials = (withClientCert = false) =>
  withClientCert
    ? grpc.credentials.createSsl(
        readFileSync(certs.ca),
        readFileSync(certs.clientKey),
        readFileSync(certs.clientCert),
      )
    : grpc.credentials.createSsl(readFileSync(certs.ca));

/** The serial number of the certificate a new TLS connection to `port` is shown. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: "127.0.0.1", ca: readFileSync(certs.ca) }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.on("error", reject);
  });
}

const fileSerial = () => new crypto.X509Certificate(readFileSync(certs.serverCert)).serialNumber;

describe("an RPC port with TLS", () => {
  let port: number;
  beforeAll(async () => {
    port = (await serveTls({ reloadIntervalMs: 100, onReload: (err) => reloads.push(err) })).port;
  });

  it("answers a stock @grpc/grpc-js client using the CA", async () => {
    const client = grpcHealthClient(`127.0.0.1:${port}`, sslCredentials());
    try {
      expect(await checkHealth(client)).toBe("SERVING");
    } finally {
      client.close();
    }
  });

  it("answers curl: Connect JSON over HTTP/2 and HTTP/1.1, and /healthz", async () => {
    const check = [
      "--cacert",
      certs.ca,
      "-H",
      "content-type: application/json",
      "-d",
      "{}",
      `https://127.0.0.1:${port}/grpc.health.v1.Health/Check`,
    ];
    expect(await curl(check)).toEqual({ code: 0, out: '{"status":"SERVING"}' });
    expect(await curl(["--http1.1", ...check])).toEqual({ code: 0, out: '{"status":"SERVING"}' });
    expect(await curl(["--cacert", certs.ca, `https://localhost:${port}/healthz`])).toEqual({
      code: 0,
      out: "ok\n",
    });
  });

  it("answers connect-node's gRPC transport over https", async () => {
    const client = createClient(
      Health,
      createGrpcTransport({
        baseUrl: `https://127.0.0.1:${port}`,
        nodeOptions: { ca: readFileSync(certs.ca) },
      }),
    );
    expect((await client.check({})).status).toBe(1);
  });

  it("refuses plaintext: HTTP/1.1, gRPC, and a client that does not trust the CA", async () => {
    const plain = await curl([`http://127.0.0.1:${port}/healthz`]);
    expect(plain.code).not.toBe(0);
    const insecure = grpcHealthClient(`127.0.0.1:${port}`);
    const untrusting = grpcHealthClient(`127.0.0.1:${port}`, grpc.credentials.createSsl());
    try {
      expect(await checkHealth(insecure)).toBe(grpc.status.UNAVAILABLE);
      expect(await checkHealth(untrusting)).toBe(grpc.status.UNAVAILABLE);
    } finally {
      insecure.close();
      untrusting.close();
    }
    expect((await curl([`https://127.0.0.1:${port}/healthz`])).code).toBe(60);
  });

  it("serves a renewed certificate to new connections once its files change", async () => {
    const before = await servedSerial(port);
    expect(before).toBe(fileSerial());
    certs.renew();
    const renewed = fileSerial();
    expect(renewed).not.toBe(before);
    const deadline = Date.now() + 10_000;
    let served = before;
    while (served !== renewed && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      served = await servedSerial(port);
    }
    expect(served).toBe(renewed);
    expect(reloads.filter((err) => err === undefined).length).toBeGreaterThan(0);
    // And calls still work on the new certificate.
    const client = grpcHealthClient(`127.0.0.1:${port}`, sslCredentials());
    try {
      expect(await checkHealth(client)).toBe("SERVING");
    } finally {
      client.close();
    }
  });
});

describe("an RPC port requiring client certificates", () => {
  let port: number;
  beforeAll(async () => {
    port = (await serveTls({ clientCaFile: certs.ca })).port;
  });

  it("answers grpc-js and curl presenting a client certificate", async () => {
    const client = grpcHealthClient(`127.0.0.1:${port}`, sslCredentials(true));
    try {
      expect(await checkHealth(client)).toBe("SERVING");
    } finally {
      client.close();
    }
    const withCert = ["--cacert", certs.ca, "--cert", certs.clientCert, "--key", certs.clientKey];
    expect(await curl([...withCert, `https://127.0.0.1:${port}/healthz`])).toEqual({ code: 0, out: "ok\n" });
  });

  it("refuses grpc-js and curl without one", async () => {
    const client = grpcHealthClient(`127.0.0.1:${port}`, sslCredentials(false));
    try {
      expect(await checkHealth(client)).toBe(grpc.status.UNAVAILABLE);
    } finally {
      client.close();
    }
    const without = await curl(["--cacert", certs.ca, `https://127.0.0.1:${port}/healthz`]);
    expect(without.code).not.toBe(0);
    expect(without.out).not.toContain("ok");
  });
});

describe("an RPC port with optional client certificates", () => {
  it("admits a client without a certificate and one with a valid certificate", async () => {
    const { port } = await serveTls({ clientCaFile: certs.ca, clientAuth: "optional" });
    for (const withCert of [false, true]) {
      const client = grpcHealthClient(`127.0.0.1:${port}`, sslCredentials(withCert));
      try {
        expect(await checkHealth(client)).toBe("SERVING");
      } finally {
        client.close();
      }
    }
  });

  it("refuses a client whose certificate the CA did not sign", async () => {
    const other = makeTestCertificates();
    try {
      const { port } = await serveTls({ clientCaFile: certs.ca, clientAuth: "optional" });
      const client = grpcHealthClient(
        `127.0.0.1:${port}`,
        grpc.credentials.createSsl(
          readFileSync(certs.ca),
          readFileSync(other.clientKey),
          readFileSync(other.clientCert),
        ),
      );
      try {
        expect(await checkHealth(client)).toBe(grpc.status.UNAVAILABLE);
      } finally {
        client.close();
      }
    } finally {
      other.remove();
    }
  });
});
