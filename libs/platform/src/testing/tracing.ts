import { context, propagation, type SpanContext, TraceFlags, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";

/**
 * Turns on W3C trace-context propagation and async context, as a running service has them (without
 * either, no trace context is injected); returns what turns them off again.
 */
export function enableTracePropagation(): () => void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return () => {
    propagation.disable();
    context.disable();
  };
}

/** Span `n` of trace `n`: both ids are `n` in hex. */
function testSpanContext(n: number): SpanContext {
  return {
    traceId: n.toString(16).padStart(32, "0"),
    spanId: n.toString(16).padStart(16, "0"),
    traceFlags: TraceFlags.SAMPLED,
  };
}

/** Runs `fn` as if in span `n` of trace `n`, for tests of what carries a trace on. */
export function inTestTrace<T>(n: number, fn: () => T): T {
  return context.with(trace.setSpanContext(context.active(), testSpanContext(n)), fn);
}

/** The W3C `traceparent` of {@link inTestTrace}'s span `n`. */
export function testTraceparent(n: number): string {
  const { traceId, spanId } = testSpanContext(n);
  return `00-${traceId}-${spanId}-01`;
}
