/**
 * Unknown enum names in Connect JSON requests are the caller's mistake.
 *
 * connect-es parses request JSON with `ignoreUnknownFields` (its default, kept: a client built from a
 * newer schema, or a portal newer than the service during a rolling upgrade, may send fields this
 * service does not know yet, and binary protobuf ignores them too). protobuf-es, following the protobuf
 * JSON conformance tests, then also drops an enum *name* it does not know, so
 * `"signatureScheme": "SIGNATURE_SCHEME_V9"` would arrive unspecified and be taken as the default.
 * Herald refuses such a name instead: a unary Connect JSON request's body is checked against the
 * method's input message before connect-es parses it, and the call fails with INVALID_ARGUMENT naming
 * the field and the accepted names, after the other interceptors (authentication first).
 * Not checked: compressed bodies, Connect GET requests, and streaming or gRPC-web JSON (none of
 * Herald's clients send enum names that way).
 */

import type { DescEnum, DescField, DescMessage } from "@bufbuild/protobuf";
import { hasCustomJsonRepresentation } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  createAsyncIterable,
  type UniversalHandler,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";

/** Carries a request's problem from the handler wrapper to the interceptor; a caller's own is dropped. */
const PROBLEM_HEADER = "x-herald-unknown-enum-name";

/** Nesting past this is not checked (connect-es refuses deeper messages itself). */
const MAX_DEPTH = 32;

/** The first unknown enum name in `json` read as `desc`, as a message naming the field; else undefined. */
export function unknownEnumName(desc: DescMessage, json: unknown, path = "", depth = 0): string | undefined {
  if (depth > MAX_DEPTH || typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  if (hasCustomJsonRepresentation(desc)) return undefined;
  for (const [key, value] of Object.entries(json)) {
    const field = desc.fields.find((f) => f.jsonName === key || f.name === key);
    if (!field || value === null) continue;
    const problem = fieldProblem(field, value, `${path}${field.name}`, depth);
    if (problem) return problem;
  }
  return undefined;
}

function fieldProblem(field: DescField, value: unknown, path: string, depth: number): string | undefined {
  switch (field.fieldKind) {
    case "enum":
      return enumProblem(field.enum, value, path);
    case "message":
      return unknownEnumName(field.message, value, `${path}.`, depth + 1);
    case "list":
      if (!Array.isArray(value)) return undefined;
      for (const [i, item] of value.entries()) {
        const problem =
          field.listKind === "enum"
            ? enumProblem(field.enum, item, `${path}[${i}]`)
            : field.listKind === "message"
              ? unknownEnumName(field.message, item, `${path}[${i}].`, depth + 1)
              : undefined;
        if (problem) return problem;
      }
      return undefined;
    case "map":
      if (typeof value !== "object" || Array.isArray(value)) return undefined;
      for (const [key, item] of Object.entries(value as object)) {
        const problem =
          field.mapKind === "enum"
            ? enumProblem(field.enum, item, `${path}[${key}]`)
            : field.mapKind === "message"
              ? unknownEnumName(field.message, item, `${path}[${key}].`, depth + 1)
              : undefined;
        if (problem) return problem;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Whether a body read as `desc` can name an enum value at all (an enum field in it, at any depth). */
export function hasEnumFields(desc: DescMessage): boolean {
  let known = enumHolders.get(desc);
  if (known === undefined) {
    // Assumed false while visiting, so a recursive message ends the walk.
    enumHolders.set(desc, false);
    known = desc.fields.some(
      (f) =>
        f.fieldKind === "enum" ||
        (f.fieldKind === "list" &&
          (f.listKind === "enum" || (f.listKind === "message" && hasEnumFields(f.message)))) ||
        (f.fieldKind === "map" &&
          (f.mapKind === "enum" || (f.mapKind === "message" && hasEnumFields(f.message)))) ||
        (f.fieldKind === "message" && !hasCustomJsonRepresentation(f.message) && hasEnumFields(f.message)),
    );
    enumHolders.set(desc, known);
  }
  return known;
}

const enumHolders = new WeakMap<DescMessage, boolean>();

/**
 * For a path that parses unary Connect JSON itself (vendor/unary-connect.ts): drops a caller's own
 * marker from `header`, then marks it for {@link refuseUnknownEnumNames} when the JSON body names an
 * unknown enum value of `desc`. Free for messages without enum fields; a body that is not JSON is left
 * to the parser to refuse.
 */
export function markUnknownEnumNames(desc: DescMessage, body: Uint8Array, header: Headers): void {
  header.delete(PROBLEM_HEADER);
  if (!hasEnumFields(desc)) return;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch {
    return;
  }
  const problem = unknownEnumName(desc, json);
  if (problem) header.set(PROBLEM_HEADER, encodeURIComponent(problem));
}

function enumProblem(desc: DescEnum, value: unknown, path: string): string | undefined {
  if (typeof value !== "string" || desc.values.some((v) => v.name === value)) return undefined;
  const accepted = desc.values.map((v) => v.name).join(", ");
  return `${path}: ${JSON.stringify(value.slice(0, 100))} is not a ${desc.typeName} name; accepted: ${accepted}`;
}

/**
 * Wraps a route's handler: a unary Connect JSON request whose body names an unknown enum value is
 * marked for {@link refuseUnknownEnumNames}. The body is read once (at most `readMaxBytes`; past that,
 * passed on unchecked for connect-es to refuse) and handed on as read.
 */
export function withEnumNamesChecked(handler: UniversalHandler, readMaxBytes: number): UniversalHandler {
  const wrapped = async (req: UniversalServerRequest): Promise<UniversalServerResponse> => {
    req.header.delete(PROBLEM_HEADER);
    const type = req.header.get("content-type") ?? "";
    if (
      handler.method.methodKind !== "unary" ||
      req.method !== "POST" ||
      !/^application\/json\b/i.test(type) ||
      req.header.has("content-encoding") ||
      // Too large: connect-es refuses it unread, as it does without this check.
      Number(req.header.get("content-length") ?? 0) > readMaxBytes
    )
      return handler(req);
    let json: unknown;
    if (typeof req.body === "object" && req.body !== null && Symbol.asyncIterator in req.body) {
      const chunks: Uint8Array[] = [];
      let size = 0;
      const iterator = (req.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        chunks.push(next.value);
        size += next.value.byteLength;
        if (size > readMaxBytes) {
          const rest = { [Symbol.asyncIterator]: () => iterator };
          return handler({ ...req, body: concatIterables(chunks, rest) });
        }
      }
      const bytes = Buffer.concat(chunks);
      req = { ...req, body: createAsyncIterable([bytes]) };
      try {
        json = JSON.parse(bytes.toString("utf8"));
      } catch {
        return handler(req); // connect-es refuses it
      }
    } else {
      json = req.body;
    }
    const problem = unknownEnumName(handler.method.input, json);
    if (problem) req.header.set(PROBLEM_HEADER, encodeURIComponent(problem));
    return handler(req);
  };
  return Object.assign(wrapped, handler);
}

async function* concatIterables(
  head: Uint8Array[],
  rest: AsyncIterable<Uint8Array>,
): AsyncIterable<Uint8Array> {
  yield* head;
  yield* rest;
}

/** Fails a call {@link withEnumNamesChecked} marked with INVALID_ARGUMENT; last of the interceptors. */
export const refuseUnknownEnumNames: Interceptor = (next) => async (req) => {
  const problem = req.header.get(PROBLEM_HEADER);
  if (problem) throw new ConnectError(decodeURIComponent(problem), Code.InvalidArgument);
  return next(req);
};
