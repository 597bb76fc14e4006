import {
  type CreateEndpointRequest,
  EndpointTransport,
  PayloadFormat,
  SignatureScheme,
  type UpdateEndpointRequest,
} from "@herald/contracts";
import { InvalidArgumentError } from "@herald/platform";
import { compileFilter, FilterSyntaxError } from "../routing/filter.js";
import { checkRange, checkRetrySchedule, checkText } from "./fields.js";
import { parseSigningSecret, type SignatureSchemeName } from "./secrets.js";

export const MAX_DESCRIPTION = 500;
export const MAX_EVENT_TYPES = 100;
export const MAX_CHANNELS = 20;
export const MAX_HEADERS = 20;
export const MAX_HEADER_NAME = 256;
export const MAX_HEADER_VALUE = 4096;
export const MAX_RATE_LIMIT_PER_SECOND = 10_000;
export const MAX_CONCURRENCY = 1_000;

/** An endpoint's settable fields as stored, except the URL (checked on its own: it needs DNS). */
export interface EndpointSettings {
  description: string;
  event_types: string[];
  channels: string[];
  headers: Record<string, string>;
  rate_limit_per_second: number;
  max_concurrency: number;
  retry_schedule_ms: number[];
  /** "raw" is stored as no field at all, as in endpoints written before the option existed. */
  payload_format: "raw" | "envelope";
  /** A CEL expression; "" (stored as no field) takes every event. */
  filter: string;
}

/** A checked CreateEndpoint request. */
export interface NewEndpoint extends EndpointSettings {
  /** Not yet checked against the URL policy; empty for a listen endpoint (Herald names it). */
  url: string;
  transport: "http" | "listen";
  signature_scheme: SignatureSchemeName;
  /** A supplied v1 secret, with its "whsec_" prefix; unset: generate one. */
  secret?: string;
}

/** A checked UpdateEndpoint request: only what is to be replaced. */
export interface EndpointPatch extends Partial<EndpointSettings> {
  url?: string;
}

const EVENT_TYPE = /^[a-z0-9_.-]{1,128}$/;

/**
 * Event-type filters: exact types (`order.created`), prefix wildcards (`order.*`) or `*`. Duplicates are
 * dropped; none means every type.
 */
export function checkEventTypes(field: string, values: readonly string[]): string[] {
  if (values.length > MAX_EVENT_TYPES) {
    throw new InvalidArgumentError(field, `has ${values.length} entries; at most ${MAX_EVENT_TYPES}`);
  }
  values.forEach((value, i) => {
    const prefix = value.endsWith(".*") ? value.slice(0, -2) : value;
    if (value !== "*" && (!EVENT_TYPE.test(prefix) || value.length > 128)) {
      throw new InvalidArgumentError(
        `${field}[${i}]`,
        `"${value}" is not an event type: use 1-128 of a-z, 0-9, "_", "." or "-", optionally ending in ".*" (prefix match), or "*"`,
      );
    }
  });
  return [...new Set(values)];
}

const CHANNEL = /^[a-zA-Z0-9_.-]{1,64}$/;

export function checkChannels(field: string, values: readonly string[]): string[] {
  if (values.length > MAX_CHANNELS) {
    throw new InvalidArgumentError(field, `has ${values.length} entries; at most ${MAX_CHANNELS}`);
  }
  values.forEach((value, i) => {
    if (!CHANNEL.test(value)) {
      throw new InvalidArgumentError(
        `${field}[${i}]`,
        `"${value}" is not a channel: use 1-64 of a-z, A-Z, 0-9, "_", "." or "-"`,
      );
    }
  });
  return [...new Set(values)];
}

// RFC 7230 token characters, minus "." and a leading "$": header names become MongoDB field names.
const HEADER_NAME = /^[!#%&'*+\-^_`|~0-9A-Za-z][!#$%&'*+\-^_`|~0-9A-Za-z]*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const BAD_HEADER_VALUE = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** Hop-by-hop headers, and those Herald sets itself on every delivery. */
const RESERVED_HEADERS = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "host",
  "content-length",
  "content-type",
  "user-agent",
  // undici refuses to send it.
  "expect",
]);

function reservedHeaderProblem(lowerName: string): string | undefined {
  if (lowerName.startsWith("webhook-")) return "webhook-* headers carry Herald's signature and ids";
  if (lowerName.startsWith("proxy-")) return "proxy-* headers are meant for proxies, not receivers";
  if (RESERVED_HEADERS.has(lowerName)) return "Herald sets this header itself (or it is hop-by-hop)";
  return undefined;
}

/** Custom headers sent with every delivery. Names are case-insensitive, so "X-A" and "x-a" clash. */
export function checkHeaders(field: string, headers: Record<string, string>): Record<string, string> {
  const entries = Object.entries(headers);
  if (entries.length > MAX_HEADERS) {
    throw new InvalidArgumentError(field, `has ${entries.length} headers; at most ${MAX_HEADERS}`);
  }
  const seen = new Map<string, string>();
  for (const [name, value] of entries) {
    const entryField = `${field}[${JSON.stringify(name)}]`;
    if (name.length > MAX_HEADER_NAME || !HEADER_NAME.test(name)) {
      throw new InvalidArgumentError(
        entryField,
        `is not a valid header name: use letters, digits and !#$%&'*+-^_\`|~ (no "." and no leading "$"), at most ${MAX_HEADER_NAME}`,
      );
    }
    const lower = name.toLowerCase();
    const reserved = reservedHeaderProblem(lower);
    if (reserved) throw new InvalidArgumentError(entryField, `may not be set: ${reserved}`);
    const clash = seen.get(lower);
    if (clash !== undefined) {
      throw new InvalidArgumentError(
        entryField,
        `names the same header as "${clash}" (names are case-insensitive)`,
      );
    }
    seen.set(lower, name);
    if (value.length > MAX_HEADER_VALUE) {
      throw new InvalidArgumentError(entryField, `value is longer than ${MAX_HEADER_VALUE} characters`);
    }
    if (BAD_HEADER_VALUE.test(value)) {
      throw new InvalidArgumentError(
        entryField,
        "value must not contain CR, LF, NUL or other control characters",
      );
    }
  }
  return { ...headers };
}

/** The scheme a request names; undefined when unspecified (the caller picks the default). */
export function checkSignatureScheme(field: string, value: SignatureScheme): SignatureSchemeName | undefined {
  switch (value) {
    case SignatureScheme.UNSPECIFIED:
      return undefined;
    case SignatureScheme.V1:
      return "v1";
    case SignatureScheme.V1A:
      return "v1a";
    default:
      throw new InvalidArgumentError(
        field,
        `${value} is not a signature scheme: use SIGNATURE_SCHEME_V1 (HMAC-SHA256) or SIGNATURE_SCHEME_V1A (ed25519)`,
      );
  }
}

export function checkPayloadFormat(field: string, value: PayloadFormat): "raw" | "envelope" {
  switch (value) {
    case PayloadFormat.UNSPECIFIED:
    case PayloadFormat.RAW:
      return "raw";
    case PayloadFormat.ENVELOPE:
      return "envelope";
    default:
      throw new InvalidArgumentError(
        field,
        `${value} is not a payload format: use PAYLOAD_FORMAT_RAW (the payload as published) or PAYLOAD_FORMAT_ENVELOPE ({"type","timestamp","data"})`,
      );
  }
}

/**
 * A filter expression, compiled to check it (routing compiles it again from the stored text). Refused
 * as "filter: <problem> at line:column".
 */
export function checkFilter(field: string, source: string): string {
  if (source.trim() === "") return "";
  try {
    compileFilter(source);
  } catch (err) {
    if (err instanceof FilterSyntaxError) throw new InvalidArgumentError(field, err.message);
    throw err;
  }
  return source;
}

/** The secret a request supplies, checked for its scheme; undefined when it asks for a generated one. */
export function checkSuppliedSecret(
  field: string,
  secret: string,
  scheme: SignatureSchemeName,
): string | undefined {
  if (secret === "") return undefined;
  if (scheme === "v1a") {
    throw new InvalidArgumentError(
      field,
      "must be empty with SIGNATURE_SCHEME_V1A: Herald generates the ed25519 key pair and keeps its private key",
    );
  }
  return parseSigningSecret(field, secret);
}

/** The transport a request asks for. */
export function checkTransport(field: string, value: EndpointTransport): "http" | "listen" {
  switch (value) {
    case EndpointTransport.UNSPECIFIED:
    case EndpointTransport.HTTP:
      return "http";
    case EndpointTransport.LISTEN:
      return "listen";
    default:
      throw new InvalidArgumentError(
        field,
        `${value} is not a transport: use ENDPOINT_TRANSPORT_HTTP (POST to url) or ENDPOINT_TRANSPORT_LISTEN (a herald listen session)`,
      );
  }
}

export function parseNewEndpoint(req: CreateEndpointRequest): NewEndpoint {
  const scheme = checkSignatureScheme("signature_scheme", req.signatureScheme) ?? "v1";
  const transport = checkTransport("transport", req.transport);
  if (transport === "listen" && req.url !== "") {
    throw new InvalidArgumentError(
      "url",
      "must be empty with ENDPOINT_TRANSPORT_LISTEN: Herald names a listen endpoint's URL, and herald listen forwards to the local one",
    );
  }
  return {
    url: req.url,
    transport,
    description: checkText("description", req.description, { max: MAX_DESCRIPTION }),
    event_types: checkEventTypes("event_types", req.eventTypes),
    channels: checkChannels("channels", req.channels),
    headers: checkHeaders("headers", req.headers),
    rate_limit_per_second: checkRange(
      "rate_limit_per_second",
      req.rateLimitPerSecond,
      0,
      MAX_RATE_LIMIT_PER_SECOND,
    ),
    max_concurrency: checkRange("max_concurrency", req.maxConcurrency, 0, MAX_CONCURRENCY),
    retry_schedule_ms: checkRetrySchedule("retry_schedule", req.retrySchedule),
    payload_format: checkPayloadFormat("payload_format", req.payloadFormat),
    filter: checkFilter("filter", req.filter),
    signature_scheme: scheme,
    secret: checkSuppliedSecret("secret", req.secret, scheme),
  };
}

export function parseEndpointPatch(req: UpdateEndpointRequest): EndpointPatch {
  const patch: EndpointPatch = {};
  if (req.url !== undefined) patch.url = req.url;
  if (req.description !== undefined) {
    patch.description = checkText("description", req.description, { max: MAX_DESCRIPTION });
  }
  if (req.eventTypes) patch.event_types = checkEventTypes("event_types.values", req.eventTypes.values);
  if (req.channels) patch.channels = checkChannels("channels.values", req.channels.values);
  if (req.headers) patch.headers = checkHeaders("headers.entries", req.headers.entries);
  if (req.rateLimitPerSecond !== undefined) {
    patch.rate_limit_per_second = checkRange(
      "rate_limit_per_second",
      req.rateLimitPerSecond,
      0,
      MAX_RATE_LIMIT_PER_SECOND,
    );
  }
  if (req.maxConcurrency !== undefined) {
    patch.max_concurrency = checkRange("max_concurrency", req.maxConcurrency, 0, MAX_CONCURRENCY);
  }
  if (req.retrySchedule) patch.retry_schedule_ms = checkRetrySchedule("retry_schedule", req.retrySchedule);
  if (req.payloadFormat !== undefined) {
    patch.payload_format = checkPayloadFormat("payload_format", req.payloadFormat);
  }
  if (req.filter !== undefined) patch.filter = checkFilter("filter", req.filter);
  return patch;
}
