/**
 * Vendor shim: a method may rewrite its Connect JSON request body before protobuf's JSON mapping reads
 * it (IngestService takes a plain JSON object where the mapping says base64 bytes).
 *
 * - Upstream behaviour: connect-es (2.2.0) parses a unary Connect JSON body with protobuf-es's
 *   `fromJson` (2.x), which has no per-field hook: a `bytes` field takes only a base64 string and a
 *   field's JSON name must be unique, so an object under "payload" cannot be read by any proto schema.
 *   connect-es also accepts an already parsed body (`UniversalServerRequest.body` as a `JsonValue`),
 *   sparing a second parse, but reads that one with `fromJson`'s defaults, which refuse unknown fields
 *   (and enum names) that its own path ignores. So the shim hands it the parsed body only when every
 *   key names a field (where both readings agree), and the body's JSON text otherwise.
 * - Upstream issue: none found; to be filed, text in docs/upstream/protobuf-es-json-field-hook.md.
 * - Measured: test/bench/micro/json-payload.ts: about 1.6 µs of CPU added per 300-byte object payload,
 *   0.1 µs per base64 one (docs/decisions/plain-json-payloads.md).
 * - Delete when: protobuf-es offers a per-field JSON reader (or connect-es a body hook before
 *   `fromJson`); move the rewrite there, delete this file and its wrapping in server.ts, and
 *   apps/ingest/src/json-payload.int.test.ts and test/e2e/json-payloads.test.ts still pass.
 */
import type { DescMessage, JsonValue } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import {
  createAsyncIterable,
  type UniversalHandler,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorToJsonBytes, parseContentType } from "@connectrpc/connect/protocol-connect";

/**
 * Rewrites a unary Connect JSON request body (its text): answers the JSON protobuf's JSON mapping is to
 * read instead, or undefined to leave the body as sent. Throws a ConnectError to refuse the call with
 * it; any other error leaves the body to connect-es, which refuses what it cannot read as usual.
 */
export type JsonRequestRewrite = (text: string) => JsonValue | undefined;

function isObject(json: JsonValue): json is { [key: string]: JsonValue } {
  return typeof json === "object" && json !== null && !Array.isArray(json);
}

/**
 * Whether `fromJson` reads `json` as `desc` the same with and without `ignoreUnknownFields`: every key
 * names a field, down through nested messages. Enum fields and google.protobuf.Any (whose readings may
 * differ) answer false, as does anything unsure; false only costs a second parse.
 */
export function onlyKnownFields(desc: DescMessage, json: JsonValue): boolean {
  if (!isObject(json)) return true;
  for (const key of Object.keys(json)) {
    const field = desc.fields.find((f) => f.jsonName === key || f.name === key);
    if (!field) return false;
    const value = json[key] as JsonValue;
    if (value === null) continue;
    if (field.fieldKind === "enum") return false;
    if (field.fieldKind === "list") {
      if (field.listKind === "enum") return false;
      if (field.listKind !== "message") continue;
      const items = Array.isArray(value) ? value : [];
      if (!items.every((item) => knownMessage(field.message, item))) return false;
      continue;
    }
    if (field.fieldKind === "map") {
      if (field.mapKind === "enum") return false;
      if (field.mapKind !== "message") continue;
      const items = isObject(value) ? Object.values(value) : [];
      if (!items.every((item) => knownMessage(field.message, item))) return false;
      continue;
    }
    if (field.fieldKind === "message" && !knownMessage(field.message, value)) return false;
  }
  return true;
}

function knownMessage(desc: DescMessage, json: JsonValue): boolean {
  if (desc.typeName === "google.protobuf.Any") return false;
  // Other well-known types read their own JSON forms (a Struct takes any key).
  if (desc.typeName.startsWith("google.protobuf.")) return true;
  return onlyKnownFields(desc, json);
}

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
    let rewritten: JsonValue | undefined;
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
    if (onlyKnownFields(handler.method.input, rewritten)) return handler({ ...req, body: rewritten });
    const body = Buffer.from(JSON.stringify(rewritten));
    const header = new Headers(req.header);
    header.set("content-length", String(body.byteLength));
    return handler({ ...req, header, body: createAsyncIterable([body]) });
  };
  return Object.assign(wrapped, handler);
}
