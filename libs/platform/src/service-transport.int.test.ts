// A whole service's RPC port as configured from the environment: TLS (health probes and gRPC health
// over it), the connection deadline, and the configuration errors of TLS settings.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, serviceConfigSchema } from "./config.js";
import { apiKeyAuthentication } from "./model/authentication.js";
import { type RunningService, rpcPortOptionsOf, runService } from "./service.js";
import { checkHealth, grpcHealthClient } from "./testing/grpc-health.js";
import { cleanupTestEnv, testEnv } from "./testing/index.js";
import { makeTestCertificates, type TestCertificates } from "./testing/tls.js";

const run = promisify(execFile);
let certs: TestCertificates;
let env: Record<string, string>;
let service: RunningService;

beforeAll(async () => {
  certs = makeTestCertificates();
  env = testEnv({
    RETRY_TIERS: "1s",
    RPC_TLS_CERT_FILE: certs.serverCert,
    RPC_TLS_KEY_FILE: certs.serverKey,
    RPC_HEADERS_TIMEOUT: "500ms",
  });
  service = await runService(
    {
      name: "transport-test",
      configSchema: serviceConfigSchema(0),
      authentication: apiKeyAuthentication,
      start: async () => ({}),
    },
    env,
  );
});

afterAll(async () => {
  await service?.stop();
  if (env) await cleanupTestEnv(env);
  certs?.remove();
});

describe("a service with RPC_TLS_CERT_FILE and RPC_TLS_KEY_FILE", () => {
  it("serves /healthz and /readyz over https", async () => {
    const { stdout } = await run("curl", [
      "-sS",
      "--max-time",
      "5",
      "--cacert",
      certs.ca,
      `https://127.0.0.1:${service.port}/healthz`,
      `https://127.0.0.1:${service.port}/readyz`,
    ]);
    expect(stdout).toBe('ok\n{"service":"transport-test","ready":true,"failing":[]}\n');
  });

  it("answers gRPC health to grpc-js over TLS, and not in cleartext", async () => {
    const secure = grpcHealthClient(
      `127.0.0.1:${service.port}`,
      grpc.credentials.createSsl(readFileSync(certs.ca)),
    );
    const plain = grpcHealthClient(`127.0.0.1:${service.port}`);
    try {
      expect(await checkHealth(secure)).toBe("SERVING");
      expect(await checkHealth(plain)).toBe(grpc.status.UNAVAILABLE);
    } finally {
      secure.close();
      plain.close();
    }
  });

  it("closes a connection that never completes its handshake within RPC_HEADERS_TIMEOUT", async () => {
    const socket = net.connect(service.port, "127.0.0.1");
    socket.on("error", () => undefined);
    const closed = new Promise<string>((resolve) => socket.once("close", () => resolve("closed")));
    const waited = new Promise<string>((resolve) => setTimeout(() => resolve("still open"), 10_000).unref());
    expect(await Promise.race([closed, waited])).toBe("closed");
    const { stdout } = await run("curl", [
      "-sS",
      "--cacert",
      certs.ca,
      `https://127.0.0.1:${service.port}/metrics`,
    ]);
    expect(stdout).toMatch(/^herald_rpc_connections_cut_total\{reason="headers_timeout"[^}]*\} [1-9]/m);
  });
});

describe("rpcPortOptionsOf", () => {
  const base = {
    AMQP_URL: "amqp://127.0.0.1",
    MONGO_URL: "mongodb://127.0.0.1",
    HERALD_ADMIN_KEY: "x".repeat(32),
  };
  const problemsOf = (vars: Record<string, string>) => {
    try {
      rpcPortOptionsOf(loadConfig(serviceConfigSchema(0), { ...base, ...vars }));
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  };

  it("takes the defaults: cleartext, 10 s for a request head, 10,000 connections", () => {
    const options = rpcPortOptionsOf(loadConfig(serviceConfigSchema(0), base));
    expect(options.tls).toBeUndefined();
    expect(options.limits).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 60_000,
      keepAliveTimeoutMs: 5_000,
      idleTimeoutMs: 300_000,
      maxConnections: 10_000,
    });
  });

  it("names the missing half of a certificate and key pair, and a client CA without TLS", () => {
    expect(problemsOf({ RPC_TLS_CERT_FILE: certs.serverCert })).toEqual([
      "RPC_TLS_KEY_FILE: required with RPC_TLS_CERT_FILE (TLS needs both)",
    ]);
    expect(problemsOf({ RPC_TLS_KEY_FILE: certs.serverKey })).toEqual([
      "RPC_TLS_CERT_FILE: required with RPC_TLS_KEY_FILE (TLS needs both)",
    ]);
    expect(problemsOf({ RPC_TLS_CLIENT_CA_FILE: certs.ca })[0]).toMatch(
      /^RPC_TLS_CLIENT_CA_FILE: client certificates need TLS/,
    );
  });

  it("refuses an unreadable file, or a key that does not match the certificate, naming the file", () => {
    expect(
      problemsOf({ RPC_TLS_CERT_FILE: "/nonexistent/cert.pem", RPC_TLS_KEY_FILE: certs.serverKey }),
    ).toEqual(["RPC_TLS_CERT_FILE: cannot read the TLS certificate file /nonexistent/cert.pem: ENOENT"]);
    expect(problemsOf({ RPC_TLS_CERT_FILE: certs.serverCert, RPC_TLS_KEY_FILE: certs.clientKey })[0]).toMatch(
      /^RPC_TLS_CERT_FILE \/ RPC_TLS_KEY_FILE: the TLS certificate .* and key .* are not usable/,
    );
  });

  it("refuses a zero or malformed timeout and a zero connection cap", () => {
    expect(
      problemsOf({ RPC_HEADERS_TIMEOUT: "0s", RPC_IDLE_TIMEOUT: "soon", RPC_MAX_CONNECTIONS: "0" }),
    ).toEqual([
      "RPC_HEADERS_TIMEOUT: must be more than 0, e.g. 10s",
      'RPC_IDLE_TIMEOUT: bad duration "soon"; use e.g. 500ms, 30s, 5m, 2h or 5d',
      "RPC_MAX_CONNECTIONS: Too small: expected number to be >0",
    ]);
  });
});
