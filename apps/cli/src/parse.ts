import { PayloadFormat, Scope, SignatureScheme } from "@herald/contracts";
import { parseDurationListMs, parseDurationMs } from "@herald/platform/duration";
import { InvalidArgumentError } from "commander";
import { UsageError } from "./errors.js";

// Parsers of command-line values. Each throws commander's InvalidArgumentError, which commander turns
// into a usage error naming the option ("option '--since <when>' argument 'x' is invalid. …").

/** A duration option; zero allowed (e.g. `--overlap 0s` ends the previous secret now). */
export function parseDuration(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new InvalidArgumentError("expected a duration such as 30s, 5m, 2h or 1d");
  return ms;
}

/** A duration that must be more than zero (e.g. `--timeout`). */
export function parsePositiveDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms <= 0) throw new InvalidArgumentError("must be more than 0");
  return ms;
}

/** "5s,1m,1h" as milliseconds, each more than zero. An empty string is an empty schedule. */
export function parseDurationList(text: string): number[] {
  if (text.trim() === "") return [];
  const { ms, bad } = parseDurationListMs(text);
  if (bad.length > 0) {
    throw new InvalidArgumentError(
      `bad duration(s) ${bad.map((b) => `"${b}"`).join(", ")}; expected a list such as 5s,1m,30m`,
    );
  }
  return ms;
}

/**
 * A point in time: a duration back from `now` ("2h" = two hours ago) or an ISO 8601 date-time
 * ("2025-01-31T12:00:00Z", or a date "2025-01-31" meaning its UTC midnight).
 */
export function parseTime(text: string, now: Date = new Date()): Date {
  const ago = parseDurationMs(text);
  if (ago !== undefined) return new Date(now.getTime() - ago);
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) {
    const date = new Date(text.trim());
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new InvalidArgumentError("expected a duration back from now (30m, 2h, 7d) or an ISO 8601 time");
}

const UINT32_MAX = 4_294_967_295;

/** A whole number from 0 to 2^32-1 (the proto's uint32 fields). */
export function parseCount(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new InvalidArgumentError("expected a whole number");
  const value = Number(text.trim());
  if (value > UINT32_MAX) throw new InvalidArgumentError(`must be at most ${UINT32_MAX}`);
  return value;
}

/** A whole number of at least 1 (e.g. `--limit`). */
export function parsePositiveCount(text: string): number {
  const value = parseCount(text);
  if (value < 1) throw new InvalidArgumentError("must be at least 1");
  return value;
}

/** Collects a repeatable option's values: `--channel a --channel b` is ["a", "b"]. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Collects repeatable `key=value` options into one record; a later key wins. */
export function collectKeyValue(
  text: string,
  previous: Record<string, string> | undefined,
): Record<string, string> {
  const at = text.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError("expected key=value");
  return { ...(previous ?? {}), [text.slice(0, at).trim()]: text.slice(at + 1) };
}

const SCOPES: Record<string, Scope> = {
  admin: Scope.ADMIN,
  "events:publish": Scope.EVENTS_PUBLISH,
  "endpoints:manage": Scope.ENDPOINTS_MANAGE,
  "audit:read": Scope.AUDIT_READ,
};

/** Scope names as the API's error messages spell them. */
export const SCOPE_NAMES: readonly string[] = Object.keys(SCOPES);

/** Collects repeatable `--scope` options: names such as events:publish, or comma-separated lists. */
export function collectScopes(text: string, previous: Scope[] | undefined): Scope[] {
  const scopes = [...(previous ?? [])];
  for (const name of text.split(",").map((s) => s.trim().toLowerCase())) {
    const scope = SCOPES[name];
    if (scope === undefined) throw new InvalidArgumentError(`expected one of ${SCOPE_NAMES.join(", ")}`);
    if (!scopes.includes(scope)) scopes.push(scope);
  }
  return scopes;
}

const SIGNATURE_SCHEMES: Record<string, SignatureScheme> = {
  v1: SignatureScheme.V1,
  v1a: SignatureScheme.V1A,
};

/** `--signature-scheme v1|v1a`. */
export function parseSignatureScheme(text: string): SignatureScheme {
  const scheme = SIGNATURE_SCHEMES[text.trim().toLowerCase()];
  if (scheme === undefined) {
    throw new InvalidArgumentError(
      "expected v1 (HMAC-SHA256, whsec_ secret) or v1a (ed25519, whpk_ public key)",
    );
  }
  return scheme;
}

const PAYLOAD_FORMATS: Record<string, PayloadFormat> = {
  raw: PayloadFormat.RAW,
  envelope: PayloadFormat.ENVELOPE,
};

/** `--payload-format raw|envelope`. */
export function parsePayloadFormat(text: string): PayloadFormat {
  const format = PAYLOAD_FORMATS[text.trim().toLowerCase()];
  if (format === undefined) {
    throw new InvalidArgumentError(
      'expected raw (the payload as published) or envelope ({"type","timestamp","data"})',
    );
  }
  return format;
}

/**
 * Checks an event payload is a JSON object and returns its bytes unchanged: Herald delivers the
 * payload byte for byte, so the CLI never re-serialises it. `source` names where it came from.
 */
export function checkJsonPayload(bytes: Uint8Array, source: string): Uint8Array {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new UsageError(`${source} is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new UsageError(`${source} must be a JSON object`);
  }
  return bytes;
}
