/**
 * Vendor shim: a lean path for plain unary gRPC calls over HTTP/2.
 *
 * - Upstream behaviour: connect-es serves every call, unary ones too, through its streaming pipeline
 *   (async generators compiled to ES2017, Web Headers and AbortSignals between Node's objects and its
 *   own), on top of Node's HTTP/2 compatibility layer; per call that costs about twice the CPU of this
 *   path and promotes far more to V8's old generation.
 * - Upstream issue: none found; to be filed, text in docs/upstream/connect-es-unary-call-cost.md.
 * - Measured: CPU per call and ingest's CPU and GC at 500 events/s, before and after
 *   (docs/decisions/lean-unary-grpc-path.md); unary-grpc.test.ts compares its answers with connect-es's.
 * - Delete when: connect-es's own path costs about as little per unary call (rerun the decision
 *   record's measurement with `unaryGrpcFastPath: false`); then delete this file, its test and
 *   http2-stream-takeover.ts, and the `unaryGrpcFastPath` option of server.ts.
 */
import http2 from "node:http2";
import type { DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createHandlerContext,
  createMethodImplSpec,
  createServiceImplSpec,
  type HandlerContext,
  type Interceptor,
  type MethodImpl,
  type MethodImplSpec,
} from "@connectrpc/connect";
import {
  createMethodSerializationLookup,
  encodeEnvelope,
  invokeUnaryImplementation,
  type MethodSerializationLookup,
  type Serialization,
  type UniversalHandlerOptions,
  validateReadWriteMaxBytes,
} from "@connectrpc/connect/protocol";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { closeUnreadRequest } from "./close-unread-request.js";
import { specGrpcStatus } from "./grpc-message.js";

/** Options of {@link createUnaryGrpcHandler}. */
export interface UnaryGrpcOptions {
  /** The same interceptors, outermost first, as the connect-es handler runs. */
  interceptors: Interceptor[];
  /** Largest request message accepted, in bytes. */
  readMaxBytes: number;
}

/** Serves the plain unary gRPC calls of the services captured from a {@link ConnectRouter}. */
export interface UnaryGrpcHandler {
  /** Wraps a router so that every service and unary method registered on it is served here too. */
  capture(router: ConnectRouter): ConnectRouter;
  /** Takes the HTTP/2 stream and answers it, or returns false (the call is not one it serves). */
  handle(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean;
  /** The unary methods captured, by request path: the lean Connect path (unary-connect.ts) serves them too. */
  readonly methods: ReadonlyMap<string, CapturedUnaryMethod>;
}

type UnarySpec = Extract<MethodImplSpec, { kind: "unary" }>;
type Message = Parameters<UnarySpec["impl"]>[0];

/** A unary method as the lean paths serve it: its implementation and connect-es's serializations. */
export interface CapturedUnaryMethod {
  spec: UnarySpec;
  serialization: MethodSerializationLookup<DescMessage, DescMessage>;
}

/** A unary method as this path serves it: its implementation and connect-es's binary serialization. */
interface UnaryMethod {
  spec: UnarySpec;
  input: Serialization<Message>;
  output: Serialization<Message>;
}

/** connect-es answers every gRPC call with this content type, whichever of the two the call used. */
const GRPC_PROTO = "application/grpc+proto";
const ENVELOPE_HEADER_BYTES = 5;
const COMPRESSED_FLAG = 0b1;
/** Why a call's context is aborted once it is answered; a reason given up front spares a DOMException. */
const CALL_ANSWERED = new ConnectError("the call was answered", Code.Canceled);

/**
 * A lean path for unary gRPC calls over HTTP/2, the shape of every call a service publishing events
 * makes. It still runs connect-es's handler context, interceptors, status trailers and timeout parsing,
 * and it answers malformed input with the same codes and messages (unary-grpc.test.ts compares the
 * two). Anything else (a compressed request, JSON, a streaming method, a method registered with
 * options of its own) goes to connect-es.
 */
export function createUnaryGrpcHandler(options: UnaryGrpcOptions): UnaryGrpcHandler {
  const methods = new Map<string, UnaryMethod>();
  const captured = new Map<string, CapturedUnaryMethod>();
  const limits = validateReadWriteMaxBytes(options.readMaxBytes, undefined, undefined);
  const add = (spec: MethodImplSpec) => {
    if (spec.kind !== "unary") return;
    const serialization = createMethodSerializationLookup(spec.method, undefined, undefined, limits);
    const path = `/${spec.method.parent.typeName}/${spec.method.name}`;
    captured.set(path, { spec, serialization });
    methods.set(path, { spec, input: serialization.getI(true), output: serialization.getO(true) });
  };

  return {
    methods: captured,
    capture(router) {
      const captured: ConnectRouter = {
        get handlers() {
          return router.handlers;
        },
        service(service: DescService, impl, handlerOptions) {
          if (!handlerOptions)
            for (const spec of Object.values(createServiceImplSpec(service, impl).methods)) add(spec);
          router.service(service, impl, handlerOptions);
          return captured;
        },
        rpc<M extends DescMethod>(
          method: M,
          impl: MethodImpl<M>,
          handlerOptions?: Partial<UniversalHandlerOptions>,
        ) {
          if (!handlerOptions) add(createMethodImplSpec(method, impl));
          router.rpc(method, impl, handlerOptions);
          return captured;
        },
      };
      return captured;
    },

    handle(stream, headers) {
      if (headers[":method"] !== "POST") return false;
      const contentType = headers["content-type"];
      if (contentType !== "application/grpc" && contentType !== GRPC_PROTO) return false;
      const encoding = headers["grpc-encoding"];
      if (encoding !== undefined && encoding !== "identity") return false;
      const method = methods.get(headers[":path"] ?? "");
      if (!method) return false;
      serve(method, stream, headers, options).catch(() => {
        // Only answering can throw here (every failure of the call itself becomes its status): reset
        // the stream rather than leave a rejection that would stop the process.
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      });
      return true;
    },
  };
}

async function serve(
  { spec, input, output }: UnaryMethod,
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  options: UnaryGrpcOptions,
): Promise<void> {
  let answered = false;
  const request = new AbortController();
  // A client that cancels resets the stream: the call's signal tells the implementation to stop.
  stream.on("error", () => undefined);
  stream.once("close", () => {
    if (!answered) request.abort(new ConnectError("the client closed the call", Code.Canceled));
  });
  const timeout = parseTimeout(single(headers["grpc-timeout"]), Number.MAX_SAFE_INTEGER);
  const context = createHandlerContext({
    ...spec,
    service: spec.method.parent,
    requestMethod: "POST",
    protocolName: "grpc",
    timeoutMs: timeout.timeoutMs,
    requestSignal: request.signal,
    requestHeader: requestHeaders(headers),
    url: `http://${headers[":authority"] ?? "localhost"}${headers[":path"]}`,
    responseHeader: { "content-type": GRPC_PROTO },
    responseTrailer: { "grpc-status": "0" },
  });

  let body: Uint8Array | undefined;
  try {
    if (timeout.error) throw timeout.error;
    const message = await readUnaryInput(stream, input, options.readMaxBytes);
    const reply = await invokeUnaryImplementation(spec, context, message, options.interceptors);
    body = encodeEnvelope(0, output.serialize(reply));
  } catch (err) {
    setTrailerStatus(
      context.responseTrailer,
      err instanceof ConnectError
        ? err
        : new ConnectError("internal error", Code.Internal, undefined, undefined, err),
    );
  }
  answered = true;
  context.abort(CALL_ANSWERED);
  answer(stream, context, body);
}

function answer(
  stream: http2.ServerHttp2Stream,
  context: HandlerContext,
  body: Uint8Array | undefined,
): void {
  if (stream.destroyed || stream.closed) return;
  stream.respond({ ":status": 200, ...outgoing(context.responseHeader) }, { waitForTrailers: true });
  stream.once("wantTrailers", () => {
    const trailers = outgoing(context.responseTrailer);
    specGrpcStatus(trailers);
    stream.sendTrailers(trailers);
    closeUnreadRequest(stream, () => stream.readableEnded);
  });
  stream.end(body);
}

/**
 * Reads and decodes the one message of a unary call, failing as connect-es does and when it does: as
 * soon as a length prefix is over `readMaxBytes` (nothing more is read), as soon as the first message
 * does not decode, when a second message arrives, or when the body ends with no message or part of
 * one. So at most two messages' worth of bytes are ever held.
 */
function readUnaryInput(
  stream: http2.ServerHttp2Stream,
  input: Serialization<Message>,
  readMaxBytes: number,
): Promise<Message> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let firstEnd: number | undefined;
    let secondEnd: number | undefined;
    let message: Message | undefined;

    const fail = (err: unknown) => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.pause();
      reject(err);
    };
    // Where the message whose length prefix starts at `offset` ends.
    const messageEnd = (offset: number): number => {
      const length = join(chunks, received).readUInt32BE(offset + 1);
      if (length > readMaxBytes) {
        throw new ConnectError(
          `message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`,
          Code.ResourceExhausted,
        );
      }
      return offset + ENVELOPE_HEADER_BYTES + length;
    };
    const decode = (start: number, end: number): Message => {
      const all = join(chunks, received);
      if ((all[start] ?? 0) & COMPRESSED_FLAG) {
        throw new ConnectError(
          "received compressed envelope, but do not know how to decompress",
          Code.Internal,
        );
      }
      return input.parse(all.subarray(start + ENVELOPE_HEADER_BYTES, end));
    };

    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      try {
        if (firstEnd === undefined) {
          if (received < ENVELOPE_HEADER_BYTES) return;
          firstEnd = messageEnd(0);
        }
        if (message === undefined) {
          if (received < firstEnd) return;
          message = decode(0, firstEnd);
        }
        if (secondEnd === undefined) {
          if (received < firstEnd + ENVELOPE_HEADER_BYTES) return;
          secondEnd = messageEnd(firstEnd);
        }
        if (received < secondEnd) return;
        decode(firstEnd, secondEnd);
        fail(
          new ConnectError(
            "protocol error: received extra input message for unary method",
            Code.Unimplemented,
          ),
        );
      } catch (err) {
        fail(err);
      }
    };
    const onEnd = () => {
      if (received === 0) {
        reject(
          new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented),
        );
      } else if (message === undefined || received !== firstEnd) {
        reject(new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument));
      } else {
        resolve(message);
      }
    };
    stream.on("data", onData);
    stream.once("end", onEnd);
  });
}

/** Joins the chunks read so far into one, keeping the result so the next call starts from it. */
function join(chunks: Buffer[], length: number): Buffer {
  if (chunks.length === 1) return chunks[0] as Buffer;
  const all = Buffer.concat(chunks, length);
  chunks.length = 0;
  chunks.push(all);
  return all;
}

/** Web Headers (an answer's headers or trailers, as connect-es keeps them) as Node's HTTP/2 takes them. */
function outgoing(headers: Headers): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/** The request's headers as connect-es hands them to interceptors: without HTTP/2's pseudo-headers. */
function requestHeaders(headers: http2.IncomingHttpHeaders): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(":") || value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) pairs.push([name, v]);
    else pairs.push([name, String(value)]);
  }
  return pairs;
}

function single(value: string | string[] | undefined): string | null {
  return typeof value === "string" ? value : null;
}
