/**
 * Vendor shim: a lean path for plain unary Connect calls over HTTP/1.1.
 *
 * - Upstream behaviour: connect-node serves a unary Connect call (a POST with a JSON or protobuf body, as
 *   curl, fetch and every REST-style client send) through its universal request and response objects:
 *   the Node request turned into an async iterable with Web Headers and a linked AbortSignal, the body
 *   read through async generators, the answer written back through another; about half of ingest's
 *   CPU for a one-event call was that plumbing, not the call.
 * - Upstream issue: none found; the text for connect-es's unary call cost
 *   (docs/upstream/connect-es-unary-call-cost.md) covers this path too.
 * - Measured: CPU per call of ingest with one event per Connect JSON call
 *   (docs/decisions/single-event-speed.md); unary-connect.test.ts compares its answers with connect-es's.
 * - Delete when: connect-es's own path costs about as little per unary call (rerun the decision
 *   record's measurement with `unaryConnectFastPath: false`); then delete this file, its test and the
 *   `unaryConnectFastPath` option of server.ts.
 */
import type http from "node:http";
import {
  Code,
  ConnectError,
  createHandlerContext,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import {
  type Compression,
  compressionNegotiate,
  invokeUnaryImplementation,
  mergeNonProtocolHeaders,
  validateReadWriteMaxBytes,
} from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  errorToJsonBytes,
  parseContentType,
  parseTimeout,
  trailerMux,
} from "@connectrpc/connect/protocol-connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { markUnknownEnumName } from "../enum-names.js";
import { type JsonRequestSteps, jsonRequestSteps } from "../json-request.js";
import type { JsonRequestRewrite } from "./json-request-rewrite.js";
import { isRequestParseError } from "./parse-error-status.js";
import type { CapturedUnaryMethod } from "./unary-grpc.js";

/** Options of {@link createUnaryConnectHandler}. */
export interface UnaryConnectOptions {
  /** The same interceptors, outermost first, as the connect-es handler runs. */
  interceptors: Interceptor[];
  /** Largest request message accepted, in bytes. */
  readMaxBytes: number;
  /** The unary methods served, by request path ("/package.Service/Method"). */
  methods: ReadonlyMap<string, CapturedUnaryMethod>;
  /**
   * Methods that read their JSON request body themselves, by request path: applied here as on
   * connect-es's path (../json-request.ts), so both paths accept the same bodies.
   */
  jsonRequestRewrites?: Record<string, JsonRequestRewrite>;
}

/** Serves plain unary Connect calls over HTTP/1.1 (or returns false to leave a request to connect-es). */
export type UnaryConnectHandler = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

/** What connect-node accepts by default, and so what this path negotiates for its answers. */
const ACCEPT_COMPRESSION: Compression[] = [compressionGzip, compressionBrotli];
/** Why a call's context is aborted once it is answered; a reason given up front spares a DOMException. */
const CALL_ANSWERED = new ConnectError("the call was answered", Code.Canceled);

/**
 * A lean path for unary Connect calls over HTTP/1.1: a POST to a captured unary method with an
 * uncompressed JSON or protobuf body and no query string. It keeps connect-es's handler context,
 * interceptors, timeout parsing, serialization, error bodies and HTTP status mapping, and answers
 * malformed input as connect-es does with Herald's shims (unary-connect.test.ts compares the two).
 * Anything else (a GET, a compressed body, a streaming method, another protocol) goes to connect-es.
 */
export function createUnaryConnectHandler(options: UnaryConnectOptions): UnaryConnectHandler {
  const { compressMinBytes } = validateReadWriteMaxBytes(options.readMaxBytes, undefined, undefined);
  return (req, res) => {
    if (req.method !== "POST") return false;
    const method = options.methods.get(req.url ?? "");
    if (!method) return false;
    const type = parseContentType(req.headers["content-type"] ?? null);
    if (!type || type.stream) return false;
    const encoding = req.headers["content-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    serve(method, type.binary, req, res, options, compressMinBytes).catch(() => {
      // Only answering can throw here (every failure of the call itself becomes its answer).
      res.destroy();
    });
    return true;
  };
}

async function serve(
  { spec, serialization }: CapturedUnaryMethod,
  binary: boolean,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  options: UnaryConnectOptions,
  compressMinBytes: number,
): Promise<void> {
  let answered = false;
  const request = new AbortController();
  // A client that goes away before its answer: the call's signal tells the implementation to stop.
  res.once("close", () => {
    if (!answered) request.abort(new ConnectError("the client closed the call", Code.Canceled));
  });
  const timeout = parseTimeout(single(req.headers["connect-timeout-ms"]), Number.MAX_SAFE_INTEGER);
  const context = createHandlerContext({
    ...spec,
    service: spec.method.parent,
    requestMethod: "POST",
    protocolName: "connect",
    timeoutMs: timeout.timeoutMs,
    requestSignal: request.signal,
    requestHeader: requestHeaders(req),
    url: `http://${req.headers.host ?? "localhost"}${req.url}`,
    responseHeader: { "content-type": binary ? contentTypeUnaryProto : contentTypeUnaryJson },
  });
  const compression = compressionNegotiate(
    ACCEPT_COMPRESSION,
    null,
    single(req.headers["accept-encoding"]),
    "Accept-Encoding",
  );

  let status = 200;
  let body: Uint8Array;
  try {
    if (timeout.error) throw timeout.error;
    let bytes = await readBody(req, options.readMaxBytes);
    const steps: JsonRequestSteps = binary
      ? {}
      : jsonRequestSteps(spec.method.input, bytes, options.jsonRequestRewrites?.[req.url ?? ""]);
    markUnknownEnumName(context.requestHeader, steps.unknownEnumName);
    if (steps.rewritten !== undefined) bytes = Buffer.from(JSON.stringify(steps.rewritten));
    const input = serialization.getI(binary).parse(bytes);
    const output = await invokeUnaryImplementation(spec, context, input, options.interceptors);
    body = serialization.getO(binary).serialize(output);
  } catch (err) {
    context.abort(err);
    let error =
      err instanceof ConnectError
        ? err
        : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
    // As parse-error-status.ts does for connect-es's path: a body that is not protobuf is bad input.
    if (error.code === Code.Internal && isRequestParseError(error.rawMessage))
      error = new ConnectError(error.rawMessage, Code.InvalidArgument);
    status = codeToHttpStatus(error.code);
    context.responseHeader.set("content-type", contentTypeUnaryJson);
    if (!error.isWireError) mergeNonProtocolHeaders(context.responseHeader, error.metadata);
    body = errorToJsonBytes(error, {});
  }
  answered = true;
  context.abort(CALL_ANSWERED);
  if (compression.response && body.byteLength >= compressMinBytes) {
    body = await compression.response.compress(body);
    context.responseHeader.set("content-encoding", compression.response.name);
  }
  answer(res, status, context, body);
}

function answer(res: http.ServerResponse, status: number, context: HandlerContext, body: Uint8Array): void {
  if (res.destroyed) return;
  const headers: [string, string][] = [];
  trailerMux(context.responseHeader, context.responseTrailer).forEach((value, name) => {
    headers.push([name, value]);
  });
  headers.push(["content-length", String(body.byteLength)]);
  res.writeHead(status, headers.flat());
  res.end(body);
}

/**
 * Reads the whole request body, failing as connect-es does: at once when its length is announced over
 * `readMaxBytes` (nothing is read), or as soon as more than that has arrived.
 */
function readBody(req: http.IncomingMessage, readMaxBytes: number): Promise<Uint8Array> {
  const announced = Number.parseInt(single(req.headers["content-length"]) ?? "", 10);
  if (Number.isSafeInteger(announced) && announced > readMaxBytes) {
    return Promise.reject(
      new ConnectError(
        `message size ${announced} is larger than configured readMaxBytes ${readMaxBytes}`,
        Code.ResourceExhausted,
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > readMaxBytes) {
        req.off("data", onData);
        req.off("end", onEnd);
        req.pause();
        reject(
          new ConnectError(
            `message size is larger than configured readMaxBytes ${readMaxBytes}`,
            Code.ResourceExhausted,
          ),
        );
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () =>
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received));
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", reject);
  });
}

/** The request's headers as connect-es hands them to interceptors. */
function requestHeaders(req: http.IncomingMessage): [string, string][] {
  const pairs: [string, string][] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i] as string, raw[i + 1] as string]);
  return pairs;
}

function single(value: string | string[] | undefined): string | null {
  return typeof value === "string" ? value : null;
}
