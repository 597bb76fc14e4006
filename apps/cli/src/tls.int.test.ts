// The CLI over TLS against Herald's real RPC server (platform's startRpcServer) serving a stand-in
// TenantService on a port that requires client certificates.
import { create } from "@bufbuild/protobuf";
import { ListTenantsResponseSchema, TenantService } from "@herald/contracts";
import {
  makeTestCertificates,
  type RpcServer,
  startRpcServer,
  type TestCertificates,
} from "@herald/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Io } from "./context.js";
import { run } from "./program.js";

let certs: TestCertificates;
let server: RpcServer;
let plain: RpcServer;

const routes = (router: Parameters<Parameters<typeof startRpcServer>[0]["routes"]>[0]) => {
  router.service(TenantService, {
    listTenants: () => create(ListTenantsResponseSchema, { tenants: [{ id: "acme", name: "Acme" }] }),
  });
};

beforeAll(async () => {
  certs = makeTestCertificates();
  server = await startRpcServer({
    host: "127.0.0.1",
    port: 0,
    routes,
    interceptors: [],
    tls: { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.ca },
  });
  plain = await startRpcServer({ host: "127.0.0.1", port: 0, routes, interceptors: [] });
});

afterAll(async () => {
  await server?.close(1_000);
  await plain?.close(1_000);
  certs?.remove();
});

async function cli(args: string[], env: Record<string, string>) {
  let stdout = "";
  let stderr = "";
  const io: Io = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    readStdin: async () => new Uint8Array(),
    readLine: async () => "",
    stdinIsTty: true,
    readFile: async () => new Uint8Array(),
    env: { HERALD_API_KEY: "k", ...env },
    now: () => new Date(),
  };
  const code = await run(args, io);
  return { code, stdout, stderr };
}

describe("the CLI over TLS", () => {
  it("lists tenants over https with the CA and a client certificate from the environment", async () => {
    const result = await cli(["tenants", "list", "--json"], {
      HERALD_ROUTING_URL: `https://127.0.0.1:${server.port}`,
      HERALD_TLS_CA_FILE: certs.ca,
      HERALD_TLS_CERT_FILE: certs.clientCert,
      HERALD_TLS_KEY_FILE: certs.clientKey,
    });
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout).tenants[0].id).toBe("acme");
  });

  it("takes the files as options too", async () => {
    const result = await cli(
      [
        "tenants",
        "list",
        "--routing-url",
        `https://localhost:${server.port}`,
        "--tls-ca-file",
        certs.ca,
        "--tls-cert-file",
        certs.clientCert,
        "--tls-key-file",
        certs.clientKey,
      ],
      {},
    );
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toContain("acme");
  });

  it("says to give the CA when the server's certificate is not trusted", async () => {
    const result = await cli(["tenants", "list"], { HERALD_ROUTING_URL: `https://127.0.0.1:${server.port}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^herald: TLS with https:\/\/127\.0\.0\.1:\d+ failed \(.+\): give the CA .*--tls-ca-file/,
    );
  });

  it("fails without a client certificate where the port requires one", async () => {
    const result = await cli(["tenants", "list"], {
      HERALD_ROUTING_URL: `https://127.0.0.1:${server.port}`,
      HERALD_TLS_CA_FILE: certs.ca,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
  });

  it("says when an https:// URL points at a cleartext port", async () => {
    const result = await cli(["tenants", "list"], { HERALD_ROUTING_URL: `https://127.0.0.1:${plain.port}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/does that port serve TLS\? use an http:\/\/ URL/);
  });

  it("refuses a certificate without its key, and an unreadable file, before any call", async () => {
    const half = await cli(["tenants", "list"], { HERALD_TLS_CERT_FILE: certs.clientCert });
    expect(half).toMatchObject({ code: 2 });
    expect(half.stderr).toMatch(/--tls-cert-file and --tls-key-file go together/);
    const missing = await cli(["tenants", "list", "--tls-ca-file", "/nonexistent/ca.pem"], {});
    expect(missing).toEqual({
      code: 2,
      stdout: "",
      stderr: "herald: --tls-ca-file: cannot read /nonexistent/ca.pem (ENOENT)\n",
    });
  });
});
