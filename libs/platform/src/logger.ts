import { trace } from "@opentelemetry/api";
import { type Logger, pino } from "pino";

export type { Logger };

/**
 * Paths pino replaces with "[redacted]". Covers request headers, API keys and endpoint secrets wherever
 * they appear one or two levels deep in a log object.
 */
export const REDACTED_PATHS = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "secret",
  "*.secret",
  "*.*.secret",
  "secrets",
  "*.secrets",
  "token",
  "*.token",
  "apiKey",
  "*.apiKey",
  "password",
  "*.password",
  "payload",
  "*.payload",
];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Written as `service` on every line. */
  service: string;
  /** pino level; default "info". */
  level?: string;
  /** Where to write; default stdout. */
  destination?: pino.DestinationStream;
}

/**
 * A JSON logger that redacts secrets and adds the active span's `trace_id`/`span_id` to every line,
 * so a log line leads straight to its trace in Jaeger.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      mixin() {
        const span = trace.getActiveSpan();
        if (!span) return {};
        const { traceId, spanId } = span.spanContext();
        return { trace_id: traceId, span_id: spanId };
      },
    },
    options.destination,
  );
}
