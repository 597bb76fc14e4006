import { type Duration, durationMs, type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import {
  AttemptTrigger,
  AttemptWait,
  DeliveryState,
  DisabledReason,
  ErrorClass,
  PayloadFormat,
  Scope,
  SignatureScheme,
  SkipReason,
} from "@herald/contracts";
import { formatDurationMs } from "@herald/platform/duration";

// Human output: words for enums, ISO times, aligned columns. Pure functions of plain values.

/** Shown for an empty or unset value, so columns never collapse. */
export const NONE = "-";

/** Columns of text padded to the widest cell, two spaces apart, with an upper-case header. */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows.map((row) => row.map(oneLine))];
  const widths = headers.map((_, col) => Math.max(...all.map((row) => (row[col] ?? "").length)));
  return all
    .map((row) =>
      headers
        .map((_, col) => (row[col] ?? "").padEnd(widths[col] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** "label  value" lines with the values aligned, for one object. */
export function renderFields(fields: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(0, ...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `${`${label}:`.padEnd(width + 2)}${value}`.trimEnd()).join("\n");
}

/** Newlines and tabs in a table cell would break its columns. */
function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, " ");
}

/** At most `max` characters, with an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** ISO 8601 in UTC, or "-" when unset. */
export function formatTime(ts: Timestamp | undefined): string {
  return ts ? timestampDate(ts).toISOString() : NONE;
}

/** A retry schedule as the option takes it ("5s,5m,30m"); `empty` (default "-") when it inherits. */
export function formatSchedule(delays: readonly Duration[] | undefined, empty = NONE): string {
  if (!delays || delays.length === 0) return empty;
  return delays.map((d) => formatDurationMs(durationMs(d))).join(",");
}

/** A list, comma-separated, or "-". */
export function formatList(values: readonly string[]): string {
  return values.length === 0 ? NONE : values.join(",");
}

/** A record as "k=v,k=v", or "-". */
export function formatRecord(values: Readonly<Record<string, string>>): string {
  const entries = Object.entries(values);
  return entries.length === 0 ? NONE : entries.map(([k, v]) => `${k}=${v}`).join(",");
}

/** 0 means "platform default" or "unlimited" in the API; say which. */
export function formatLimit(value: number, zero: string): string {
  return value === 0 ? zero : String(value);
}

const DELIVERY_STATES: Record<DeliveryState, string> = {
  [DeliveryState.UNSPECIFIED]: "unknown",
  [DeliveryState.PENDING]: "pending",
  [DeliveryState.SUCCEEDED]: "succeeded",
  [DeliveryState.FAILED]: "failed",
  [DeliveryState.DEAD]: "dead",
};

export function deliveryStateName(state: DeliveryState): string {
  return DELIVERY_STATES[state] ?? `state ${state}`;
}

const TRIGGERS: Record<AttemptTrigger, string> = {
  [AttemptTrigger.UNSPECIFIED]: "unknown",
  [AttemptTrigger.SCHEDULED]: "scheduled",
  [AttemptTrigger.MANUAL]: "manual",
  [AttemptTrigger.TEST]: "test",
};

const SKIP_REASONS: Record<SkipReason, string> = {
  [SkipReason.UNSPECIFIED]: "unknown",
  [SkipReason.EVENT_TYPE]: "type not subscribed",
  [SkipReason.CHANNEL]: "channel mismatch",
  [SkipReason.FILTER_FALSE]: "filter false",
  [SkipReason.FILTER_ERROR]: "filter failed",
  [SkipReason.ENDPOINT_DISABLED]: "endpoint disabled (recorded dead, not sent)",
  [SkipReason.TENANT_DISABLED]: "tenant disabled",
};

export function skipReasonName(reason: SkipReason): string {
  return SKIP_REASONS[reason] ?? `reason ${reason}`;
}

export function triggerName(trigger: AttemptTrigger): string {
  return TRIGGERS[trigger] ?? `trigger ${trigger}`;
}

const ERROR_CLASSES: Record<ErrorClass, string> = {
  [ErrorClass.UNSPECIFIED]: NONE,
  [ErrorClass.NONE]: NONE,
  [ErrorClass.HTTP_STATUS]: "http status",
  [ErrorClass.TIMEOUT]: "timeout",
  [ErrorClass.CONNECTION]: "connection",
  [ErrorClass.DNS]: "dns",
  [ErrorClass.BLOCKED]: "blocked",
  [ErrorClass.TLS]: "tls",
  [ErrorClass.CIRCUIT_OPEN]: "circuit open",
  [ErrorClass.LISTEN_UNREPORTED]: "listen unreported",
};

export function errorClassName(errorClass: ErrorClass): string {
  return ERROR_CLASSES[errorClass] ?? `error ${errorClass}`;
}

const WAITS: Record<AttemptWait, string> = {
  [AttemptWait.UNSPECIFIED]: "",
  [AttemptWait.ENDPOINT_LIMIT]: "endpoint at its limit",
  [AttemptWait.TENANT_TURN]: "tenant's turn",
};

/**
 * How long an attempt waited before it was sent and for what: "1.2s (endpoint at its limit)", or "-".
 * Also a delivery's: its attempts' waits in all, and what the longest was for.
 */
export function attemptWaited(attempt: { waitedMs: number; waitedFor: AttemptWait }): string {
  if (attempt.waitedMs <= 0) return NONE;
  const time =
    attempt.waitedMs < 1_000 ? `${attempt.waitedMs}ms` : `${(attempt.waitedMs / 1_000).toFixed(1)}s`;
  const why = WAITS[attempt.waitedFor] ?? "";
  return why === "" ? time : `${time} (${why})`;
}

/** What went wrong with an attempt, in a few words: "http status: 503" or "timeout: …". */
export function attemptError(attempt: {
  success: boolean;
  errorClass: ErrorClass;
  errorMessage: string;
}): string {
  if (attempt.success) return NONE;
  const cls = errorClassName(attempt.errorClass);
  if (attempt.errorMessage === "") return cls;
  return cls === NONE ? attempt.errorMessage : `${cls}: ${attempt.errorMessage}`;
}

const DISABLED_REASONS: Record<DisabledReason, string> = {
  [DisabledReason.UNSPECIFIED]: "",
  [DisabledReason.MANUAL]: "manual",
  [DisabledReason.GONE]: "410 gone",
  [DisabledReason.FAILING]: "failing",
};

/** "enabled", "disabled" or "disabled (410 gone)". */
export function endpointStateName(endpoint: { disabled: boolean; disabledReason: DisabledReason }): string {
  if (!endpoint.disabled) return "enabled";
  const reason = DISABLED_REASONS[endpoint.disabledReason] ?? "";
  return reason === "" ? "disabled" : `disabled (${reason})`;
}

/** "v1 (HMAC-SHA256)" or "v1a (ed25519)": the scheme's tag in webhook-signature, and what it is. */
export function signatureSchemeName(scheme: SignatureScheme): string {
  return scheme === SignatureScheme.V1A ? "v1a (ed25519)" : "v1 (HMAC-SHA256)";
}

export function payloadFormatName(format: PayloadFormat): string {
  return format === PayloadFormat.ENVELOPE ? "envelope" : "raw";
}

const SCOPE_WORDS: Record<Scope, string> = {
  [Scope.UNSPECIFIED]: "unspecified",
  [Scope.ADMIN]: "admin",
  [Scope.EVENTS_PUBLISH]: "events:publish",
  [Scope.ENDPOINTS_MANAGE]: "endpoints:manage",
  [Scope.AUDIT_READ]: "audit:read",
};

export function scopeName(scope: Scope): string {
  return SCOPE_WORDS[scope] ?? `scope ${scope}`;
}

/** A payload for people: its text when it is UTF-8, else its size. */
export function formatPayload(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return `(${bytes.length} bytes, not UTF-8)`;
  }
}

/** "1 endpoint", "2 endpoints". */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}
