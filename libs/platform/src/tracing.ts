import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from "@opentelemetry/api";

export const tracer = trace.getTracer("herald");

/** Writes the active context's W3C `traceparent`/`tracestate` into a fresh header record. */
export function injectTraceContext(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** Reads W3C trace context from message or request headers (values may be strings or buffers). */
export function extractTraceContext(headers: Record<string, unknown> | undefined): Context {
  if (!headers) return ROOT_CONTEXT;
  const carrier: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (typeof value === "string") carrier[key.toLowerCase()] = value;
    else if (Buffer.isBuffer(value)) carrier[key.toLowerCase()] = value.toString("utf8");
  }
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/** Reads W3C trace context from a call's Web Headers, touching only the headers the propagator asks for. */
export function extractTraceContextFromHeaders(headers: Headers): Context {
  return propagation.extract(ROOT_CONTEXT, headers, WEB_HEADERS_GETTER);
}

/**
 * Web Headers as a propagator reads them: by name, case-insensitively. Listing or copying them all
 * sorts and joins every header of the call, which was a measurable share of a small call's cost.
 */
const WEB_HEADERS_GETTER: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/**
 * The context a batched item's work continues: the W3C trace context the item carries (its message's
 * headers hold only the first item's), or the active one when it carries none.
 */
export function carriedTraceContext(carried: Record<string, string>): Context {
  return Object.keys(carried).length > 0 ? extractTraceContext(carried) : context.active();
}

/** How a failed span describes its error: `error.type` and the status message. */
export interface SpanError {
  type: string;
  message: string;
}

/**
 * Runs `fn` in a new active span, records a thrown error on it, and always ends it. The span's status
 * is left unset on success, as the semantic conventions ask. A thrown error is described by
 * `describeError` when it knows the error (a message safe to export: no secrets, no payloads), else by
 * its class name alone.
 */
export async function inSpan<T>(
  name: string,
  options: {
    kind: SpanKind;
    attributes?: Attributes;
    parent?: Context;
    links?: Link[];
    describeError?: (err: unknown) => SpanError | undefined;
  },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  return tracer.startActiveSpan(
    name,
    { kind: options.kind, attributes: options.attributes, links: options.links },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        const described = options.describeError?.(err);
        const type = described?.type ?? (err instanceof Error ? err.name : "error");
        span.setStatus({ code: SpanStatusCode.ERROR, message: described?.message ?? type });
        span.setAttribute("error.type", type);
        throw err;
      } finally {
        span.end();
      }
    },
  );
}
