import { Code, ConnectError, type UnaryRequest } from "@connectrpc/connect";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../errors.js";
import { grpcCodeName, rpcMetricsInterceptor } from "./rpc-metrics.js";

const request = (service: string, method: string) =>
  ({ service: { typeName: service }, method: { name: method } }) as unknown as UnaryRequest;

describe("grpcCodeName", () => {
  it("names codes as gRPC does", () => {
    expect(grpcCodeName(undefined)).toBe("OK");
    expect(grpcCodeName(Code.InvalidArgument)).toBe("INVALID_ARGUMENT");
    expect(grpcCodeName(Code.Unauthenticated)).toBe("UNAUTHENTICATED");
    expect(grpcCodeName(Code.ResourceExhausted)).toBe("RESOURCE_EXHAUSTED");
    expect(grpcCodeName(99 as Code)).toBe("UNKNOWN");
  });
});

describe("rpcMetricsInterceptor", () => {
  it("times each call by method and the code the client gets, and passes errors on", async () => {
    const registry = new Registry();
    const intercept = rpcMetricsInterceptor(registry);
    const ok = intercept(async () => ({}) as never);
    const invalid = intercept(async () => {
      throw new InvalidArgumentError("event", "bad");
    });
    const crash = intercept(async () => {
      throw new Error("boom");
    });
    await ok(request("herald.v1.IngestService", "PublishEvent"));
    await ok(request("herald.v1.IngestService", "PublishEvent"));
    await expect(invalid(request("herald.v1.IngestService", "PublishEvent"))).rejects.toThrow("bad");
    await expect(crash(request("herald.v1.AuditService", "ListAttempts"))).rejects.toThrow("boom");
    const denied = intercept(async () => {
      throw new ConnectError("no", Code.PermissionDenied);
    });
    await expect(denied(request("herald.v1.AuditService", "ListAttempts"))).rejects.toThrow();
    const text = await registry.metrics();
    const count = (labels: string) =>
      Number(
        text
          .split("\n")
          .find((l) => l.startsWith(`herald_rpc_server_duration_seconds_count{${labels}}`))
          ?.split(" ")[1],
      );
    expect(count('method="herald.v1.IngestService/PublishEvent",code="OK"')).toBe(2);
    expect(count('method="herald.v1.IngestService/PublishEvent",code="INVALID_ARGUMENT"')).toBe(1);
    // An unexpected error reaches the client as INTERNAL.
    expect(count('method="herald.v1.AuditService/ListAttempts",code="INTERNAL"')).toBe(1);
    expect(count('method="herald.v1.AuditService/ListAttempts",code="PERMISSION_DENIED"')).toBe(1);
  });
});
