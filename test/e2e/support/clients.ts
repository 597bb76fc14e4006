import { fileURLToPath } from "node:url";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ApiKeyService, AuditService, EndpointService, TenantService } from "@herald/contracts";
import type { Stack } from "./stack.js";

const PROTO_ROOT = fileURLToPath(new URL("../../../proto/", import.meta.url));

/** Connect clients of the control plane and audit, authenticated with `token`. */
export function connectClients(stack: Stack, token: string) {
  const headers = { authorization: `Bearer ${token}` };
  const transport = (url: string): Transport =>
    createConnectTransport({
      baseUrl: url,
      httpVersion: "1.1",
      interceptors: [
        (next) => (req) => {
          for (const [k, v] of Object.entries(headers)) req.header.set(k, v);
          return next(req);
        },
      ],
    });
  return {
    tenants: createClient(TenantService, transport(stack.url("routing"))),
    endpoints: createClient(EndpointService, transport(stack.url("routing"))),
    apiKeys: createClient(ApiKeyService, transport(stack.url("routing"))),
    audit: createClient(AuditService, transport(stack.url("audit"))),
  };
}

export type HeraldClients = ReturnType<typeof connectClients>;

/** A gRPC (HTTP/2) Connect client, for calls that must go over the gRPC protocol. */
export function grpcClient<T extends Parameters<typeof createClient>[0]>(
  service: T,
  url: string,
  token: string,
): Client<T> {
  return createClient(
    service,
    createGrpcTransport({
      baseUrl: url,
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${token}`);
          return next(req);
        },
      ],
    }),
  );
}

/** The IngestService as a stock @grpc/grpc-js client sees it: loaded from the .proto files at run time. */
export interface GrpcIngestClient {
  publishEvent(
    request: object,
    token: string,
    metadata?: Record<string, string>,
  ): Promise<{ event_id: string; duplicate: boolean }>;
  publishEvents(
    request: object,
    token: string,
  ): Promise<{
    results: Array<{ event_id: string; duplicate: boolean; error_code: string; error_message: string }>;
  }>;
  close(): void;
}

export function grpcIngestClient(
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): GrpcIngestClient {
  const definition = protoLoader.loadSync("herald/v1/ingest.proto", {
    includeDirs: [PROTO_ROOT],
    keepCase: true,
    longs: String,
    defaults: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    herald: { v1: { IngestService: grpc.ServiceClientConstructor } };
  };
  const client = new loaded.herald.v1.IngestService(address, credentials);
  const call = <R>(method: string, request: object, token: string, extra: Record<string, string> = {}) =>
    new Promise<R>((resolve, reject) => {
      const metadata = new grpc.Metadata();
      metadata.set("authorization", `Bearer ${token}`);
      for (const [k, v] of Object.entries(extra)) metadata.set(k, v);
      (
        client[method] as (
          r: object,
          m: grpc.Metadata,
          cb: (e: grpc.ServiceError | null, r: R) => void,
        ) => void
      )(request, metadata, (err, res) => (err ? reject(err) : resolve(res)));
    });
  return {
    publishEvent: (request, token, metadata) => call("PublishEvent", request, token, metadata),
    publishEvents: (request, token) => call("PublishEvents", request, token),
    close: () => client.close(),
  };
}
