/**
 * Vendor shim: `grpc-message` percent-encoded as the gRPC spec asks.
 *
 * - Upstream behaviour: connect-es (2.2.0, `setTrailerStatus`) encodes the message with
 *   encodeURIComponent, which also encodes ":", "," or "/"; @grpc/grpc-js decodes with decodeURI, which
 *   leaves those encoded, so grpc-js users read "tenant_id%3A required". The spec's
 *   Percent-Byte-Unencoded is every byte 0x20-0x7E but "%".
 * - Upstream issue: none found for this (https://github.com/connectrpc/connect-es/issues/1404 is a
 *   neighbour: a trailing space, closed as Node's); to be filed, text in
 *   docs/upstream/connect-es-grpc-message-encoding.md.
 * - Measured: a grpc-js client showed "tenant_id%3A required" for "tenant_id: required";
 *   grpc-message.test.ts checks that the encoding reads back with decodeURI, as grpc-js decodes it.
 * - Delete when: connect-es encodes `grpc-message` with the spec's set; then delete this file and its
 *   two call sites (server.ts, unary-grpc.ts), keeping the parse-error-status.ts call.
 */
import type http2 from "node:http2";
import { parseErrorAsInvalidArgument } from "./parse-error-status.js";

/** Percent-encodes a gRPC status message as the gRPC spec asks: only bytes outside 0x20-0x7E, and "%". */
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
 * and Herald want them: see {@link encodeGrpcMessage} and parse-error-status.ts.
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
  parseErrorAsInvalidArgument(record, decoded);
  record["grpc-message"] = encodeGrpcMessage(decoded);
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
    handler(req, res);
  };
}
