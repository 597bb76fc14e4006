import { decodeBase64 } from "./base64.js";
import { WebhookVerificationError } from "./errors.js";
import { readHeader, type WebhookHeaders } from "./headers.js";

/** A request body: the exact bytes that were signed, or their text. `Buffer` is a `Uint8Array`. */
export type WebhookPayload = string | Uint8Array | ArrayBuffer;

/** What the headers and payload say, checked for shape and age but not yet for signature. */
export interface SignedMessage {
  /** `${id}.${timestamp}.`: what is signed before the body. */
  readonly signedPrefix: string;
  readonly body: string | Uint8Array;
  /** Base64 HMAC-SHA256 signatures from `v1,` entries. */
  readonly v1: readonly string[];
  /** Base64 ed25519 signatures from `v1a,` entries. */
  readonly v1a: readonly string[];
}

export interface TimestampPolicy {
  readonly toleranceSeconds: number;
  readonly now: () => number;
}

const DIGITS = /^\d{1,15}$/; // 15 digits keeps the number exact in a double

/** Reads and checks everything but the signature itself; throws a coded error for the first problem. */
export function readSignedMessage(
  payload: unknown,
  headers: unknown,
  policy: TimestampPolicy,
): SignedMessage {
  const body = toSignedBody(payload);
  if (typeof headers !== "object" || headers === null) {
    throw new WebhookVerificationError("missing_header", "No headers given: pass the request's headers.");
  }
  const id = readHeader(headers as WebhookHeaders, "webhook-id");
  const timestamp = readHeader(headers as WebhookHeaders, "webhook-timestamp");
  const signature = readHeader(headers as WebhookHeaders, "webhook-signature");
  if (!id || !timestamp || !signature) throw missingHeaders({ id, timestamp, signature });
  const seconds = checkTimestamp(timestamp, policy);
  const { v1, v1a } = parseSignatureHeader(signature);
  return { signedPrefix: `${id}.${seconds}.`, body, v1, v1a };
}

export function toSignedBody(payload: unknown): string | Uint8Array {
  if (typeof payload === "string" || payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  throw new WebhookVerificationError(
    "invalid_payload",
    `Expected the raw request body as a string, Buffer, Uint8Array or ArrayBuffer, got ${
      payload === null ? "null" : typeof payload
    }. Pass the raw request body, not parsed JSON: the signature covers the exact bytes sent.`,
  );
}

function missingHeaders(found: Record<"id" | "timestamp" | "signature", string | undefined>) {
  const missing = Object.entries(found)
    .filter(([, value]) => !value)
    .map(([name]) => `webhook-${name}`);
  return new WebhookVerificationError(
    "missing_header",
    `Missing ${missing.join(", ")} header${missing.length > 1 ? "s" : ""}. Every Standard Webhooks request ` +
      "carries webhook-id, webhook-timestamp and webhook-signature; check that no proxy strips them.",
  );
}

function checkTimestamp(header: string, { toleranceSeconds, now }: TimestampPolicy): number {
  if (!DIGITS.test(header)) {
    throw new WebhookVerificationError(
      "invalid_timestamp",
      "webhook-timestamp must be whole Unix seconds written in digits.",
    );
  }
  const seconds = Number(header);
  const nowSeconds = Math.floor(now() / 1000);
  if (nowSeconds - seconds > toleranceSeconds) {
    throw new WebhookVerificationError(
      "timestamp_too_old",
      `webhook-timestamp is ${nowSeconds - seconds} s in the past, beyond the ${toleranceSeconds} s tolerance: ` +
        "a replayed request, or this server's clock is ahead.",
    );
  }
  if (seconds - nowSeconds > toleranceSeconds) {
    throw new WebhookVerificationError(
      "timestamp_too_new",
      `webhook-timestamp is ${seconds - nowSeconds} s in the future, beyond the ${toleranceSeconds} s ` +
        "tolerance: this server's clock is behind.",
    );
  }
  return seconds;
}

/**
 * Splits `v1,<b64> v1a,<b64> …`. Unknown versions are ignored, as the spec says. A trailing comma is
 * dropped because repeated headers arrive joined with ", " and base64 never ends with one.
 */
function parseSignatureHeader(header: string): { v1: string[]; v1a: string[] } {
  const v1: string[] = [];
  const v1a: string[] = [];
  for (const entry of header.split(" ")) {
    const end = entry.endsWith(",") ? entry.length - 1 : entry.length;
    if (entry.startsWith("v1,")) v1.push(entry.slice(3, end));
    else if (entry.startsWith("v1a,")) v1a.push(entry.slice(4, end));
  }
  return { v1, v1a };
}

const encoder = new TextEncoder();

/** `${prefix}${body}` as one byte array, for APIs that cannot hash in parts (Web Crypto, ed25519). */
export function concatSignedBytes(prefix: string, body: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const bodyCapacity = typeof body === "string" ? body.length * 3 : body.length; // UTF-8: ≤3 bytes per unit
  const bytes = new Uint8Array(prefix.length * 3 + bodyCapacity);
  let written = encoder.encodeInto(prefix, bytes).written;
  if (typeof body === "string") {
    written += encoder.encodeInto(body, bytes.subarray(written)).written;
  } else {
    bytes.set(body, written);
    written += body.length;
  }
  return bytes.subarray(0, written);
}

const ED25519_SIGNATURE_BYTES = 64;

/** The `v1a` entries that decode to an ed25519 signature; others cannot match and are skipped. */
export function decodeEd25519Signatures(v1a: readonly string[]): Uint8Array<ArrayBuffer>[] {
  return v1a
    .map(decodeBase64)
    .filter(
      (signature): signature is Uint8Array<ArrayBuffer> => signature?.length === ED25519_SIGNATURE_BYTES,
    );
}
