/**
 * Vendor shim: a method may rewrite its Connect JSON request body before protobuf's JSON mapping reads
 * it (IngestService takes a plain JSON object where the mapping says base64 bytes).
 *
 * - Upstream behaviour: connect-es (2.2.0) parses a unary Connect JSON body with protobuf-es's
 *   `fromJson` (2.x), which has no per-field hook: a `bytes` field takes only a base64 string and a
 *   field's JSON name must be unique, so an object under "payload" cannot be read by any proto schema.
 *   connect-es also accepts an already parsed body (`UniversalServerRequest.body` as a `JsonValue`), but
 *   reads that one with `fromJson`'s defaults, refusing unknown fields that its own path ignores; so the
 *   shim hands it the rewritten text, read with connect-es's own JSON options.
 * - Upstream issue: none found; to be filed, text in docs/upstream/protobuf-es-json-field-hook.md.
 * - Measured: test/bench/micro/json-payload.ts (the added µs per event; docs/decisions/plain-json-payloads.md).
 * - Delete when: protobuf-es offers a per-field JSON reader (or connect-es a body hook before
 *   `fromJson`); move the rewrite there, delete this file and its wrapping in server.ts, and
 *   apps/ingest/src/json-payload.int.test.ts and test/e2e/json-payloads.test.ts still pass.
 */
import { ConnectError } from "@connectrpc/connect";
import {
  createAsyncIterable,
  type UniversalHandler,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorToJsonBytes, parseContentType } from "@connectrpc/connect/protocol-connect";

/**
 * Rewrites a unary Connect JSON request body (its text): answers the text protobuf's JSON mapping is to
 * read instead, or undefined to leave the body as sent. Throws a ConnectError to refuse the call with
 * it; any other error leaves the body to connect-es, which refuses what it cannot read as usual.
 */
export type JsonRequestRewrite = (text: string) => string | undefined;

const utf8 = new TextDecoder("utf-8", { fatal: true });

function isByteStream(body: UniversalServerRequest["body"]): body is AsyncIterable<Uint8Array> {
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}

/** The chunks already read, then the rest of the stream. */
async function* replay(read: Uint8Array[], rest: AsyncIterator<Uint8Array>): AsyncIterable<Uint8Array> {
  yield* read;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

/**
 * Applies `rewrite` to the uncompressed unary Connect JSON POSTs that `handler` receives; gRPC,
 * gRPC-Web, Connect protobuf, compressed bodies and bodies over `readMaxBytes` pass as they are.
 */
export function withJsonRequestRewrite(
  handler: UniversalHandler,
  rewrite: JsonRequestRewrite,
  readMaxBytes: number,
): UniversalHandler {
  const wrapped = async (req: UniversalServerRequest): Promise<UniversalServerResponse> => {
    const type = parseContentType(req.header.get("content-type"));
    const encoding = req.header.get("content-encoding");
    if (
      req.method !== "POST" ||
      !type ||
      type.binary ||
      type.stream ||
      (encoding !== null && encoding !== "identity") ||
      !isByteStream(req.body)
    )
      return handler(req);
    const declared = Number(req.header.get("content-length") ?? 0);
    if (declared > readMaxBytes) return handler(req);
    const chunks: Uint8Array[] = [];
    let size = 0;
    const it = req.body[Symbol.asyncIterator]();
    for (let next = await it.next(); !next.done; next = await it.next()) {
      chunks.push(next.value);
      size += next.value.byteLength;
      // Over the limit: connect-es reads the rest and refuses it as usual.
      if (size > readMaxBytes) return handler({ ...req, body: replay(chunks, it) });
    }
    const bytes = chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks, size);
    let rewritten: string | undefined;
    try {
      rewritten = rewrite(utf8.decode(bytes));
    } catch (err) {
      if (err instanceof ConnectError) {
        const answer = errorToJsonBytes(err, {});
        return {
          status: codeToHttpStatus(err.code),
          header: new Headers({
            "content-type": "application/json",
            "content-length": String(answer.byteLength),
          }),
          body: createAsyncIterable([answer]),
        };
      }
      rewritten = undefined;
    }
    if (rewritten === undefined) return handler({ ...req, body: createAsyncIterable([bytes]) });
    const body = Buffer.from(rewritten);
    const header = new Headers(req.header);
    header.set("content-length", String(body.byteLength));
    return handler({ ...req, header, body: createAsyncIterable([body]) });
  };
  return Object.assign(wrapped, handler);
}
