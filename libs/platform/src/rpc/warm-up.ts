import http from "node:http";
import http2 from "node:http2";

/** Options of {@link warmUpRpcPort}. */
export interface RpcWarmUpOptions {
  /** Where the service's cleartext RPC server listens. */
  host: string;
  port: number;
  /** Calls of each protocol; 0 skips the warm-up. */
  calls: number;
  /** Calls in flight at once, per protocol. */
  concurrency?: number;
}

/** The gRPC health check's path, callable without a key on every service. */
const HEALTH_CHECK = "/grpc.health.v1.Health/Check";
/** An empty HealthCheckRequest in a gRPC envelope: no compression flag, length 0. */
const EMPTY_GRPC_MESSAGE = Buffer.alloc(5);

/**
 * Calls the service's own RPC port over loopback before it reports ready: health checks as Connect JSON
 * over HTTP/1.1 and as gRPC over HTTP/2, through the same server, lean paths, interceptors and
 * (de)serialization as every call. A fresh process runs that code in V8's interpreter until it has run
 * often enough to be optimised; calls arriving in its first seconds otherwise pay for that, and for
 * the optimising itself, on top of their own work. Best effort: a call that fails is ignored, and it
 * gives up after `calls` rounds however they went.
 */
export async function warmUpRpcPort(options: RpcWarmUpOptions): Promise<void> {
  if (options.calls <= 0) return;
  const concurrency = options.concurrency ?? 8;
  await Promise.all([
    connectJsonCalls(options.host, options.port, options.calls, concurrency),
    grpcCalls(options.host, options.port, options.calls, concurrency),
  ]);
}

async function connectJsonCalls(
  host: string,
  port: number,
  calls: number,
  concurrency: number,
): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const call = () =>
    new Promise<void>((resolve) => {
      const req = http.request(
        {
          host,
          port,
          method: "POST",
          path: HEALTH_CHECK,
          agent,
          headers: { "content-type": "application/json" },
        },
        (res) => {
          res.resume();
          res.once("end", resolve);
          res.once("error", () => resolve());
        },
      );
      req.once("error", () => resolve());
      req.end("{}");
    });
  try {
    await inTurns(calls, concurrency, call);
  } finally {
    agent.destroy();
  }
}

async function grpcCalls(host: string, port: number, calls: number, concurrency: number): Promise<void> {
  const session = http2.connect(`http://${host.includes(":") ? `[${host}]` : host}:${port}`);
  session.on("error", () => undefined);
  const call = () =>
    new Promise<void>((resolve) => {
      if (session.destroyed || session.closed) return resolve();
      const stream = session.request({
        ":method": "POST",
        ":path": HEALTH_CHECK,
        "content-type": "application/grpc",
        te: "trailers",
      });
      stream.on("error", () => undefined);
      stream.resume();
      stream.once("close", resolve);
      stream.end(EMPTY_GRPC_MESSAGE);
    });
  try {
    await inTurns(calls, concurrency, call);
  } finally {
    session.close();
  }
}

async function inTurns(calls: number, concurrency: number, call: () => Promise<void>): Promise<void> {
  let started = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, calls) }, async () => {
      while (started++ < calls) await call();
    }),
  );
}
