import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import {
  createAsyncIterable,
  type UniversalHandler,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { isRequestParseError, withSpecGrpcMessages } from "./grpc-message.js";
import { createUnaryGrpcHandler } from "./unary-grpc.js";

/** The whole answer of a plain HTTP route. */
export interface HttpResponse {
  status: number;
  contentType: string;
  body: string;
}

/** A plain HTTP GET route served beside the RPCs on the same port (health probes, metrics). */
export type HttpRoute = () => HttpResponse | Promise<HttpResponse>;

/** Options of {@link startRpcServer}. */
export interface RpcServerOptions {
  host: string;
  /** 0 picks a free port; read it back from the returned server. */
  port: number;
  /** Registers the services. */
  routes: (router: ConnectRouter) => void;
  /** Outermost first. */
  interceptors: Interceptor[];
  /** Plain HTTP GET routes by exact path, e.g. "/healthz". */
  httpRoutes?: Record<string, HttpRoute>;
  /** Largest request message accepted, in bytes; larger ones fail with RESOURCE_EXHAUSTED. */
  readMaxBytes?: number;
  /**
   * Serves plain unary gRPC calls on Herald's lean path (unary-grpc.ts) rather than connect-es's own;
   * default true. Its tests turn it off to compare the two.
   */
  unaryGrpcFastPath?: boolean;
}

export interface RpcServer {
  readonly port: number;
  /** Stops accepting connections and waits for in-flight calls, then closes every connection. */
  close(graceMs: number): Promise<void>;
}

const HTTP2_PREFACE = "PRI * HTTP/2.0";

/**
 * connect-es answers a Connect-protocol request whose body is not valid protobuf with 500 "internal".
 * It is the caller's mistake, so this answers 400 "invalid_argument" instead, as for malformed JSON
 * (found by test/e2e/bad-input.test.ts; gRPC's status is fixed in grpc-message.ts). Only unary
 * Connect errors come back as a 500, with the error as one small JSON body.
 */
function withParseErrorsAsInvalidArgument(handler: UniversalHandler): UniversalHandler {
  const wrapped = async (req: UniversalServerRequest): Promise<UniversalServerResponse> => {
    const res = await handler(req);
    if (res.status !== 500 || !res.body || res.header?.has("content-encoding")) return res;
    const chunks: Uint8Array[] = [];
    for await (const chunk of res.body) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    let error: { code?: unknown; message?: unknown } | undefined;
    try {
      error = JSON.parse(bytes.toString("utf8"));
    } catch {
      // Not a Connect error body: pass it on as it was.
    }
    if (
      error?.code !== "internal" ||
      typeof error.message !== "string" ||
      !isRequestParseError(error.message)
    )
      return { ...res, body: createAsyncIterable([bytes]) };
    const fixed = Buffer.from(JSON.stringify({ ...error, code: "invalid_argument" }));
    res.header?.set("content-length", String(fixed.byteLength));
    return { ...res, status: 400, body: createAsyncIterable([fixed]) };
  };
  return Object.assign(wrapped, handler);
}

/**
 * Serves gRPC, gRPC-Web and Connect on one cleartext port. gRPC clients speak HTTP/2 with prior
 * knowledge while `fetch` and curl speak HTTP/1.1, so each connection is handed to the HTTP/2 or the
 * HTTP/1.1 server by its first bytes.
 */
export async function startRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  const httpRoutes = options.httpRoutes ?? {};
  const readMaxBytes = options.readMaxBytes ?? 4 * 1024 * 1024;
  const unaryGrpc = createUnaryGrpcHandler({ interceptors: options.interceptors, readMaxBytes });
  const handler = connectNodeAdapter({
    routes(router) {
      options.routes(unaryGrpc.capture(router));
      router.handlers.forEach((h, i) => {
        router.handlers[i] = withParseErrorsAsInvalidArgument(h);
      });
    },
    interceptors: options.interceptors,
    grpc: true,
    grpcWeb: true,
    connect: true,
    readMaxBytes,
    fallback(req, res) {
      const path = (req.url ?? "").split("?")[0] ?? "";
      const route = httpRoutes[path];
      if (route && (req.method === "GET" || req.method === "HEAD")) {
        Promise.resolve()
          .then(route)
          .then(
            (answer) => {
              res.writeHead(answer.status, { "content-type": answer.contentType });
              res.end(req.method === "HEAD" ? "" : answer.body);
            },
            () => {
              res.writeHead(500, { "content-type": "text/plain" });
              res.end("internal error\n");
            },
          );
        return;
      }
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found\n");
    },
  });

  const h2 = http2.createServer({}, withSpecGrpcMessages(handler));
  if (options.unaryGrpcFastPath !== false) {
    // The server's 'stream' event is where Node's compatibility layer builds the request and response
    // objects connect-es reads; a stream the lean path takes must never reach it, so it is taken here.
    const emit = h2.emit.bind(h2) as (event: string | symbol, ...args: unknown[]) => boolean;
    h2.emit = ((event: string | symbol, ...args: unknown[]) =>
      (event === "stream" &&
        unaryGrpc.handle(args[0] as http2.ServerHttp2Stream, args[1] as http2.IncomingHttpHeaders)) ||
      emit(event, ...args)) as typeof h2.emit;
  }
  const h1 = http.createServer(handler);
  h1.keepAliveTimeout = 5_000;
  // Requests in flight per HTTP/1.1 connection. Node tracks idle connections only for servers that
  // listen themselves, and h1 gets its sockets handed over, so shutdown needs this to drop idle ones.
  const h1Active = new Map<net.Socket, number>();
  let closing = false;
  h1.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    h1Active.set(socket, (h1Active.get(socket) ?? 0) + 1);
    res.once("close", () => {
      const active = (h1Active.get(socket) ?? 1) - 1;
      h1Active.set(socket, active);
      if (closing && active === 0) socket.destroy();
    });
  });
  const sockets = new Set<net.Socket>();
  const h2Sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    h2Sessions.add(session);
    session.once("close", () => h2Sessions.delete(session));
  });

  const front = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.once("data", (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      if (first.toString("latin1", 0, HTTP2_PREFACE.length) === HTTP2_PREFACE) {
        // The HTTP/2 session drains what was unshifted, then reads the socket itself: leave it paused.
        h2.emit("connection", socket);
      } else {
        h1Active.set(socket, 0);
        socket.once("close", () => h1Active.delete(socket));
        h1.emit("connection", socket);
        socket.resume();
      }
    });
    socket.on("error", () => socket.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.listen(options.port, options.host, () => {
      front.off("error", reject);
      resolve();
    });
  });
  const address = front.address() as net.AddressInfo;

  return {
    port: address.port,
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => front.close(() => resolve()));
      // Ask HTTP/2 clients to stop opening streams; drop idle HTTP/1.1 connections now and busy ones as
      // soon as their last response is sent.
      closing = true;
      for (const session of h2Sessions) session.close();
      for (const [socket, active] of h1Active) if (active === 0) socket.destroy();
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
    },
  };
}
