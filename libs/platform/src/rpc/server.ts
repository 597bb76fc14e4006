import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  ClientConnection,
  type ConnectionCutReason,
  type ConnectionLimits,
  DEFAULT_CONNECTION_LIMITS,
} from "./connection-limits.js";
import { refuseUnknownEnumNames } from "./enum-names.js";
import { withJsonRequestSteps } from "./json-request.js";
import {
  presentedInvalidCertificate,
  type RpcTlsOptions,
  tlsServerOptions,
  watchCertificates,
} from "./tls.js";
import { withUnreadRequestsClosed } from "./vendor/close-unread-request.js";
import { withSpecGrpcMessages } from "./vendor/grpc-message.js";
import { takeStreamsFirst } from "./vendor/http2-stream-takeover.js";
import type { JsonRequestRewrite } from "./vendor/json-request-rewrite.js";
import { withParseErrorsAsInvalidArgument } from "./vendor/parse-error-status.js";
import { createUnaryConnectHandler } from "./vendor/unary-connect.js";
import { createUnaryGrpcHandler } from "./vendor/unary-grpc.js";

export type { JsonRequestRewrite };

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
  /**
   * Methods that read their Connect JSON request body themselves, by request path
   * ("/herald.v1.IngestService/PublishEvent"); see vendor/json-request-rewrite.ts.
   */
  jsonRequestRewrites?: Record<string, JsonRequestRewrite>;
  /** Largest request message accepted, in bytes; larger ones fail with RESOURCE_EXHAUSTED. */
  readMaxBytes?: number;
  /**
   * Serves plain unary gRPC calls on Herald's lean path (vendor/unary-grpc.ts) rather than
   * connect-es's own; default true. Its tests turn it off to compare the two.
   */
  unaryGrpcFastPath?: boolean;
  /**
   * Serves plain unary Connect calls over HTTP/1.1 on Herald's lean path (vendor/unary-connect.ts)
   * rather than connect-es's own; default true. Its tests turn it off to compare the two.
   */
  unaryConnectFastPath?: boolean;
  /** Timeouts and the connection cap; each one left out takes its default. */
  limits?: Partial<ConnectionLimits>;
  /** Serves TLS only (no cleartext) when set; the files are reloaded when they change. */
  tls?: RpcTlsOptions;
  /** Told each time the limits cut a connection or stream, e.g. to count it; must not throw. */
  onCut?: (reason: ConnectionCutReason) => void;
}

export interface RpcServer {
  readonly port: number;
  /** Stops accepting connections and waits for in-flight calls, then closes every connection. */
  close(graceMs: number): Promise<void>;
}

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * Reads a connection's first bytes until they tell HTTP/2 (its connection preface) from HTTP/1.1,
 * puts them back and calls `decide` with the socket paused. A client that stops inside the preface
 * is left waiting, and closed by its connection deadline.
 */
function sniffProtocol(socket: net.Socket, decide: (protocol: "h1" | "h2") => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const compared = Math.min(seen.length, HTTP2_PREFACE.length);
    const looksLikeH2 = seen.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
    if (looksLikeH2 && seen.length < HTTP2_PREFACE.length) return;
    socket.off("data", onData);
    socket.pause();
    socket.unshift(seen);
    decide(looksLikeH2 ? "h2" : "h1");
  };
  socket.on("data", onData);
}

/**
 * Serves gRPC, gRPC-Web and Connect on one port, in cleartext or TLS. Over TLS, ALPN says whether a
 * connection speaks HTTP/2 or HTTP/1.1; in cleartext gRPC clients speak HTTP/2 with prior knowledge
 * while `fetch` and curl speak HTTP/1.1, so each connection is handed to the HTTP/2 or the HTTP/1.1
 * server by its first bytes. Every connection must send a complete request in time (see
 * {@link ConnectionLimits}), and connections beyond the cap are closed as they arrive.
 */
export async function startRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  const httpRoutes = options.httpRoutes ?? {};
  const readMaxBytes = options.readMaxBytes ?? 4 * 1024 * 1024;
  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
  const cut = (reason: ConnectionCutReason) => options.onCut?.(reason);
  const unaryGrpc = createUnaryGrpcHandler({ interceptors: options.interceptors, readMaxBytes });
  const handler = connectNodeAdapter({
    routes(router) {
      options.routes(unaryGrpc.capture(router));
      router.handlers.forEach((h, i) => {
        router.handlers[i] = withJsonRequestSteps(
          withParseErrorsAsInvalidArgument(h),
          options.jsonRequestRewrites?.[h.requestPath],
          readMaxBytes,
        );
      });
    },
    interceptors: [...(options.interceptors ?? []), refuseUnknownEnumNames],
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

  // connect-es's workarounds (vendor/): each says what upstream does and when it can go.
  const h2 = http2.createServer({}, withUnreadRequestsClosed(withSpecGrpcMessages(handler)));
  if (options.unaryGrpcFastPath !== false)
    takeStreamsFirst(h2, (stream, headers) => unaryGrpc.handle(stream, headers));
  const unaryConnect =
    options.unaryConnectFastPath === false
      ? undefined
      : createUnaryConnectHandler({
          interceptors: [...(options.interceptors ?? []), refuseUnknownEnumNames],
          readMaxBytes,
          methods: unaryGrpc.methods,
          jsonRequestRewrites: options.jsonRequestRewrites,
        });
  const h1 = http.createServer(
    unaryConnect ? (req, res) => unaryConnect(req, res) || handler(req, res) : handler,
  );
  h1.keepAliveTimeout = limits.keepAliveTimeoutMs;

  let closing = false;
  const sockets = new Set<net.Socket>();
  // Node tracks idle connections only for servers that listen themselves, and h1 gets its sockets
  // handed over, so shutdown uses these to drop idle HTTP/1.1 connections.
  const h1Connections = new Map<net.Socket, ClientConnection>();
  h1.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    const connection = h1Connections.get(socket);
    if (!connection) return;
    connection.active += 1;
    connection.cancelDeadline();
    // The body must arrive in time too; HTTP/1.1 carries no client-streaming RPCs, so every request
    // body is one message.
    const bodyDeadline = setTimeout(() => {
      cut("request_timeout");
      socket.destroy();
    }, limits.requestTimeoutMs);
    bodyDeadline.unref();
    req.once("end", () => clearTimeout(bodyDeadline));
    const headersTimedOut = () => {
      cut("headers_timeout");
      socket.destroy();
    };
    res.once("close", () => {
      clearTimeout(bodyDeadline);
      connection.active -= 1;
      if (connection.active > 0) return;
      // Idle, Node closes it after the keep-alive timeout it announced; one that trickles a request
      // head in gets the headers timeout on top.
      if (closing) socket.destroy();
      else connection.closeWithin(limits.keepAliveTimeoutMs + limits.headersTimeoutMs, headersTimedOut);
    });
  });
  const h2Sessions = new Set<http2.ServerHttp2Session>();
  /** The connection whose socket is being handed to h2, which opens its session synchronously. */
  let handingToH2: ClientConnection | undefined;
  h2.on("session", (session: http2.ServerHttp2Session) => {
    h2Sessions.add(session);
    session.once("close", () => h2Sessions.delete(session));
    const connection = handingToH2;
    if (!connection) return;
    session.on("stream", (stream: http2.ServerHttp2Stream) => {
      connection.active += 1;
      connection.cancelDeadline();
      // The request must end in time, as over HTTP/1.1; the one client-streaming RPC, reflection, is
      // done within seconds by grpcurl and its kind.
      const requestDeadline = setTimeout(() => {
        cut("request_timeout");
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }, limits.requestTimeoutMs);
      requestDeadline.unref();
      stream.once("end", () => clearTimeout(requestDeadline));
      stream.once("close", () => {
        clearTimeout(requestDeadline);
        connection.active -= 1;
        if (connection.active === 0 && !closing)
          connection.closeWithin(limits.idleTimeoutMs, () => session.close());
      });
    });
  });

  const handTo = (protocol: "h1" | "h2", socket: net.Socket, connection: ClientConnection) => {
    if (protocol === "h2") {
      // The HTTP/2 session drains what was unshifted, then reads the socket itself: leave it paused.
      handingToH2 = connection;
      try {
        h2.emit("connection", socket);
      } finally {
        handingToH2 = undefined;
      }
      return;
    }
    h1Connections.set(socket, connection);
    socket.once("close", () => h1Connections.delete(socket));
    h1.emit("connection", socket);
    socket.resume();
  };

  const front = options.tls
    ? tls.createServer(tlsServerOptions(options.tls, limits.headersTimeoutMs))
    : net.createServer();
  front.maxConnections = limits.maxConnections;
  front.on("drop", () => cut("refused"));
  /** TCP connections of a TLS port waiting for their handshake, by remote address and port. */
  const handshaking = new Map<string, ClientConnection>();
  const remoteOf = (socket: net.Socket) => `${socket.remoteAddress}|${socket.remotePort}`;
  front.on("connection", (raw: net.Socket) => {
    sockets.add(raw);
    raw.once("close", () => sockets.delete(raw));
    raw.on("error", () => raw.destroy());
    const connection = new ClientConnection(raw);
    // Whatever the protocol, a complete request head is due within the headers timeout.
    connection.closeWithin(limits.headersTimeoutMs, () => {
      cut("headers_timeout");
      raw.destroy();
    });
    if (!options.tls) {
      sniffProtocol(raw, (protocol) => handTo(protocol, raw, connection));
      return;
    }
    const remote = remoteOf(raw);
    handshaking.set(remote, connection);
    raw.once("close", () => {
      if (handshaking.get(remote) === connection) handshaking.delete(remote);
    });
  });
  let stopWatchingCertificates = () => {};
  if (options.tls) {
    const tlsOptions = options.tls;
    const server = front as tls.Server;
    server.on("secureConnection", (socket: tls.TLSSocket) => {
      socket.on("error", () => socket.destroy());
      const remote = remoteOf(socket);
      const connection = handshaking.get(remote);
      handshaking.delete(remote);
      if (!connection || presentedInvalidCertificate(socket)) {
        socket.destroy();
        return;
      }
      if (socket.alpnProtocol === "h2") handTo("h2", socket, connection);
      else if (socket.alpnProtocol === "http/1.1") handTo("h1", socket, connection);
      else sniffProtocol(socket, (protocol) => handTo(protocol, socket, connection));
    });
    server.on("tlsClientError", () => {
      // A failed handshake (no or a bad client certificate, plaintext on the TLS port): Node has closed it.
    });
    stopWatchingCertificates = watchCertificates(server, tlsOptions);
  }

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
      stopWatchingCertificates();
      for (const session of h2Sessions) session.close();
      for (const [socket, connection] of h1Connections) if (connection.active === 0) socket.destroy();
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
    },
  };
}
