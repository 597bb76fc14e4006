/**
 * Vendor shim: a request body that is not valid protobuf is the caller's mistake.
 *
 * - Upstream behaviour: connect-es (2.2.0) fails to parse a request message with `Code.Internal`
 *   ("parse binary: …"), so a Connect call gets HTTP 500 "internal" and a gRPC call INTERNAL (13).
 * - Upstream issue: none found; to be filed, text in docs/upstream/connect-es-request-parse-error-code.md.
 * - Measured: test/e2e/bad-input.test.ts sends such bodies over gRPC ("garbage and truncated frames")
 *   and Connect ("protobuf bytes that do not parse") and expects INVALID_ARGUMENT, as for malformed JSON.
 * - Delete when: connect-es answers a request it cannot parse with `Code.InvalidArgument`; then delete
 *   this file, its call in grpc-message.ts and its wrapping in server.ts, and bad-input.test.ts still passes.
 */
import {
  createAsyncIterable,
  type UniversalHandler,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";

/** Whether an error message is connect-es's for a request body that is not valid protobuf. */
export function isRequestParseError(message: string): boolean {
  return message.startsWith("parse binary:");
}

/**
 * gRPC: turns INTERNAL into INVALID_ARGUMENT in an answer's headers or trailers when the (decoded)
 * `grpc-message` is connect-es's parse error.
 */
export function parseErrorAsInvalidArgument(headers: Record<string, unknown>, message: string): void {
  if (String(headers["grpc-status"]) === "13" && isRequestParseError(message)) headers["grpc-status"] = "3";
}

/**
 * Connect: answers 400 "invalid_argument" instead of connect-es's 500 "internal" for a request body
 * that is not valid protobuf. Only unary Connect errors come back as a 500, with the error as one
 * small JSON body.
 */
export function withParseErrorsAsInvalidArgument(handler: UniversalHandler): UniversalHandler {
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
