import { Code, type Interceptor } from "@connectrpc/connect";
import type { Registry } from "prom-client";
import { toConnectError } from "../errors.js";
import { Histogram } from "../metrics.js";

/** A gRPC status code's canonical name, e.g. "INVALID_ARGUMENT"; "OK" for success. */
export function grpcCodeName(code: Code | undefined): string {
  if (code === undefined) return "OK";
  const name = Code[code];
  return name ? name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase() : "UNKNOWN";
}

/**
 * Times every call the RPC port serves, by method ("herald.v1.IngestService/PublishEvent") and gRPC
 * code: `_count` is the call count, so no separate counter. Methods are the registered ones only (an
 * unknown path never reaches interceptors), so the labels stay bounded. Placed outermost, it sees the
 * code the client gets, authentication failures included.
 */
export function rpcMetricsInterceptor(registry: Registry): Interceptor {
  const seconds = new Histogram({
    name: "herald_rpc_server_duration_seconds",
    help: "Time to handle one RPC, by method and gRPC status code; _count counts calls",
    labelNames: ["method", "code"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return (next) => async (req) => {
    const method = `${req.service.typeName}/${req.method.name}`;
    const stop = seconds.startTimer({ method });
    try {
      const res = await next(req);
      stop({ code: "OK" });
      return res;
    } catch (err) {
      stop({ code: grpcCodeName(toConnectError(err).error.code) });
      throw err;
    }
  };
}
