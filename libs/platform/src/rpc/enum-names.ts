/**
 * Unknown enum names in Connect JSON requests are the caller's mistake.
 *
 * connect-es parses request JSON with `ignoreUnknownFields` (its default, kept: a client built from a
 * newer schema, or a portal newer than the service during a rolling upgrade, may send fields this
 * service does not know yet, and binary protobuf ignores them too). protobuf-es, following the protobuf
 * JSON conformance tests, then also drops an enum *name* it does not know, so
 * `"signatureScheme": "SIGNATURE_SCHEME_V9"` would arrive unspecified and be taken as the default.
 * Herald refuses such a name instead: a unary Connect JSON request's body is checked against the
 * method's input message before connect-es parses it (json-request.ts, on both request paths), and the
 * call fails with INVALID_ARGUMENT naming the field and the accepted names, after the other
 * interceptors (authentication first).
 * Not checked: compressed bodies, Connect GET requests, and streaming or gRPC-web JSON (none of
 * Herald's clients send enum names that way).
 */

import type { DescEnum, DescField, DescMessage } from "@bufbuild/protobuf";
import { hasCustomJsonRepresentation } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/** Carries a request's problem from its body's reading to the interceptor; a caller's own is dropped. */
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
 * The first unknown enum name in a JSON request body's `text` read as `desc`, as a message naming the
 * field; else undefined. Free for messages without enum fields; a body that is not JSON is left to the
 * parser to refuse.
 */
export function unknownEnumNameInJson(desc: DescMessage, text: string): string | undefined {
  if (!hasEnumFields(desc)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  return unknownEnumName(desc, json);
}

/**
 * Marks a request for {@link refuseUnknownEnumNames} with its `problem`, if any, after dropping a
 * caller's own marker from `header`.
 */
export function markUnknownEnumName(header: Headers, problem: string | undefined): void {
  header.delete(PROBLEM_HEADER);
  if (problem) header.set(PROBLEM_HEADER, encodeURIComponent(problem));
}

function enumProblem(desc: DescEnum, value: unknown, path: string): string | undefined {
  if (typeof value !== "string" || desc.values.some((v) => v.name === value)) return undefined;
  const accepted = desc.values.map((v) => v.name).join(", ");
  return `${path}: ${JSON.stringify(value.slice(0, 100))} is not a ${desc.typeName} name; accepted: ${accepted}`;
}

/** Fails a call {@link markUnknownEnumName} marked with INVALID_ARGUMENT; last of the interceptors. */
export const refuseUnknownEnumNames: Interceptor = (next) => async (req) => {
  const problem = req.header.get(PROBLEM_HEADER);
  if (problem) throw new ConnectError(decodeURIComponent(problem), Code.InvalidArgument);
  return next(req);
};
