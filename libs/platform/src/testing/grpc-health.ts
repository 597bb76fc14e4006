// The RPC server's integration tests: a Health service to call and a stock grpc-js client.
import { fileURLToPath } from "node:url";
import type { ConnectRouter } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Health } from "@herald/contracts";

/** Registers a Health service that always answers SERVING; Watch stays open until the client leaves. */
export function servingHealth(router: ConnectRouter): void {
  router.service(Health, {
    check: () => ({ status: 1 }),
    async *watch(_req, ctx) {
      yield { status: 1 };
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
    },
  });
}

/** grpc.health.v1.Health as a stock @grpc/grpc-js client sees it, loaded from the .proto. */
export interface GrpcHealthClient {
  Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res: { status: string }) => void): void;
  close(): void;
}

export function grpcHealthClient(
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): GrpcHealthClient {
  const protoPath = fileURLToPath(new URL("../../../../proto/grpc/health/v1/health.proto", import.meta.url));
  const definition = protoLoader.loadSync(protoPath, { keepCase: true, enums: String });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  return new loaded.grpc.health.v1.Health(address, credentials, options) as unknown as GrpcHealthClient;
}

/** One Check call: the status, or the error's gRPC code. */
export function checkHealth(client: GrpcHealthClient, deadlineMs = 5_000): Promise<string | number> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("no answer"), deadlineMs);
    client.Check({ service: "" }, (err, res) => {
      clearTimeout(timer);
      resolve(err ? err.code : res.status);
    });
  });
}
