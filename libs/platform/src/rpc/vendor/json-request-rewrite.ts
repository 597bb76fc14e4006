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
 *   `fromJson`); move the rewrite there, delete this file, its step in ../json-request.ts and the
 *   `jsonRequestRewrites` option of server.ts, and apps/ingest/src/json-payload.int.test.ts and
 *   test/e2e/json-payloads.test.ts still pass.
 */
import type { DescMessage, JsonValue } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { createAsyncIterable, type UniversalServerRequest } from "@connectrpc/connect/protocol";

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

/**
 * `rewrite` applied to a body's text: the JSON to hand on, or undefined to leave the body as sent (also
 * when the rewrite fails unexpectedly: connect-es then refuses what it cannot read). Its ConnectError is
 * thrown on, to be the call's answer.
 */
export function rewriteJson(rewrite: JsonRequestRewrite, text: string): JsonValue | undefined {
  try {
    return rewrite(text);
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    return undefined;
  }
}

/**
 * The request connect-es is to read after a rewrite: the parsed body itself when every key names a
 * field of `input`, sparing connect-es a parse, else its JSON text with its new length.
 */
export function rewrittenRequest(
  req: UniversalServerRequest,
  input: DescMessage,
  rewritten: JsonValue,
): UniversalServerRequest {
  if (onlyKnownFields(input, rewritten)) return { ...req, body: rewritten };
  const body = Buffer.from(JSON.stringify(rewritten));
  const header = new Headers(req.header);
  header.set("content-length", String(body.byteLength));
  return { ...req, header, body: createAsyncIterable([body]) };
}
