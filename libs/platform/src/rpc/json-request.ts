/**
 * Herald's steps on a unary Connect JSON request body before connect-es parses it: the enum-name check
 * (enum-names.ts), then the method's rewrite if it has one (vendor/json-request-rewrite.ts). Both run on
 * one reading of the body, on both request paths: connect-es's (wrapped here) and the lean one
 * (vendor/unary-connect.ts), so the two accept and refuse the same bodies.
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
import { hasEnumFields, markUnknownEnumName, unknownEnumNameInJson } from "./enum-names.js";
import { type JsonRequestRewrite, rewriteJson, rewrittenRequest } from "./vendor/json-request-rewrite.js";

/** What a body's steps found: an unknown enum name it gives, and what the method's rewrite made of it. */
export interface JsonRequestSteps {
  unknownEnumName?: string;
  rewritten?: JsonValue;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
/** As connect-es decodes a JSON body: invalid UTF-8 becomes U+FFFD. */
const lenientUtf8 = new TextDecoder();

/**
 * Applies the steps to a unary Connect JSON body read whole, `input` being its method's input message.
 * A body that is not UTF-8 is checked as connect-es will read it but not rewritten. Throws the
 * rewrite's ConnectError, which is the call's answer.
 */
export function jsonRequestSteps(
  input: DescMessage,
  bytes: Uint8Array,
  rewrite: JsonRequestRewrite | undefined,
): JsonRequestSteps {
  if (!rewrite && !hasEnumFields(input)) return {};
  let text: string | undefined;
  try {
    text = utf8.decode(bytes);
  } catch {
    // Not UTF-8: only the enum-name check reads it.
  }
  return {
    unknownEnumName: unknownEnumNameInJson(input, text ?? lenientUtf8.decode(bytes)),
    rewritten: rewrite && text !== undefined ? rewriteJson(rewrite, text) : undefined,
  };
}

function isByteStream(body: UniversalServerRequest["body"]): body is AsyncIterable<Uint8Array> {
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}

/** The chunks already read, then the rest of the stream. */
async function* replay(read: Uint8Array[], rest: AsyncIterator<Uint8Array>): AsyncIterable<Uint8Array> {
  yield* read;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

function errorAnswer(err: ConnectError): UniversalServerResponse {
  const answer = errorToJsonBytes(err, {});
  return {
    status: codeToHttpStatus(err.code),
    header: new Headers({ "content-type": "application/json", "content-length": String(answer.byteLength) }),
    body: createAsyncIterable([answer]),
  };
}

/**
 * Wraps a route's handler on connect-es's path: the body of an uncompressed unary Connect JSON POST is
 * read once (at most `readMaxBytes`; past that, passed on for connect-es to refuse), goes through
 * {@link jsonRequestSteps} and is handed on as rewritten or as read. Other requests (gRPC, gRPC-Web,
 * Connect protobuf or GET, compressed bodies, streaming methods) pass as they are.
 */
export function withJsonRequestSteps(
  handler: UniversalHandler,
  rewrite: JsonRequestRewrite | undefined,
  readMaxBytes: number,
): UniversalHandler {
  const input = handler.method.input;
  const hasSteps = handler.method.methodKind === "unary" && (rewrite !== undefined || hasEnumFields(input));
  const wrapped = async (req: UniversalServerRequest): Promise<UniversalServerResponse> => {
    markUnknownEnumName(req.header, undefined);
    const type = parseContentType(req.header.get("content-type"));
    const encoding = req.header.get("content-encoding");
    if (
      !hasSteps ||
      req.method !== "POST" ||
      !type ||
      type.binary ||
      type.stream ||
      (encoding !== null && encoding !== "identity") ||
      !isByteStream(req.body) ||
      // Too large: connect-es refuses it unread, as it does without these steps.
      Number(req.header.get("content-length") ?? 0) > readMaxBytes
    )
      return handler(req);
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
    let steps: JsonRequestSteps;
    try {
      steps = jsonRequestSteps(input, bytes, rewrite);
    } catch (err) {
      if (err instanceof ConnectError) return errorAnswer(err);
      throw err;
    }
    markUnknownEnumName(req.header, steps.unknownEnumName);
    if (steps.rewritten === undefined) return handler({ ...req, body: createAsyncIterable([bytes]) });
    return handler(rewrittenRequest(req, input, steps.rewritten));
  };
  return Object.assign(wrapped, handler);
}
