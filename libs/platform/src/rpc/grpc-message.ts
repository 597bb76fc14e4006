import http2 from "node:http2";

const { NGHTTP2_NO_ERROR } = http2.constants;

/**
 * Percent-encodes a gRPC status message as the gRPC spec asks: only bytes outside 0x20-0x7E, and "%".
 * connect-es encodes with encodeURIComponent, which also encodes ":", "," or "/"; @grpc/grpc-js decodes
 * with decodeURI, which leaves those encoded, so its users would read "tenant_id%3A required".
 */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * Puts the `grpc-status` and `grpc-message` of an answer's headers or trailers the way the gRPC spec
 * and Herald want them; see {@link encodeGrpcMessage} and {@link isRequestParseError}.
 */
export function specGrpcStatus(headers: unknown): void {
  if (!headers || typeof headers !== "object") return;
  const record = headers as Record<string, unknown>;
  const value = record["grpc-message"];
  if (typeof value !== "string") return;
  let decoded = value;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    // Already not percent-encoded by connect: keep it as it is.
  }
  // connect-es answers a request message that is not valid protobuf with INTERNAL; it is the
  // caller's mistake, so say INVALID_ARGUMENT, as for every other malformed input (found by
  // test/e2e/bad-input.test.ts). See also isRequestParseError.
  if (String(record["grpc-status"]) === "13" && isRequestParseError(decoded)) record["grpc-status"] = "3";
  record["grpc-message"] = encodeGrpcMessage(decoded);
}

/** Whether an error message is connect-es's for a request body that is not valid protobuf. */
export function isRequestParseError(message: string): boolean {
  return message.startsWith("parse binary:");
}

/**
 * Wraps an HTTP/2 handler so the `grpc-message` it sends (in headers of trailers-only answers, or in
 * trailers) is encoded per the gRPC spec; see {@link encodeGrpcMessage}.
 */
export function withSpecGrpcMessages(
  handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
): (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void {
  return (req, res) => {
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => http2.Http2ServerResponse;
    const addTrailers = res.addTrailers.bind(res);
    res.writeHead = ((...args: unknown[]) => {
      specGrpcStatus(args[args.length - 1]);
      return writeHead(...args);
    }) as typeof res.writeHead;
    res.addTrailers = (trailers) => {
      specGrpcStatus(trailers);
      addTrailers(trailers);
    };
    req.stream.once("wantTrailers", () => closeUnreadRequest(req.stream, () => req.complete));
    handler(req, res);
  };
}

/**
 * Called as an answer's trailers go out. If the request's body was not read to its end (it was answered
 * early, e.g. over readMaxBytes), tells the client to stop sending (RFC 9113 §8.1, RST_STREAM NO_ERROR).
 * Otherwise a client still sending the body waits on flow control forever, holding the stream open
 * (found by test/e2e/bad-input.test.ts).
 */
export function closeUnreadRequest(stream: http2.ServerHttp2Stream, bodyRead: () => boolean): void {
  setImmediate(() => {
    if (!bodyRead() && !stream.destroyed) stream.close(NGHTTP2_NO_ERROR);
  });
}
