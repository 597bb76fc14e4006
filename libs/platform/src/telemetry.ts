import { NodeSDK } from "@opentelemetry/sdk-node";

/** Options of {@link startTelemetry}. */
export interface TelemetryOptions {
  /** `service.name` of every span, unless `OTEL_SERVICE_NAME` overrides it. */
  serviceName: string;
  /** Skip the SDK altogether (`OTEL_SDK_DISABLED=true`); the API then hands out no-op tracers. */
  disabled?: boolean;
}

export interface Telemetry {
  /** Flushes pending spans and stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry Node SDK. Exporters, sampling and endpoints come from the standard `OTEL_*`
 * variables (`OTEL_TRACES_EXPORTER`, `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_TRACES_SAMPLER`, ...);
 * `OTEL_SDK_DISABLED=true` turns it off. Metrics are served by Prometheus `/metrics` instead, so the
 * SDK's metric exporters stay off unless `OTEL_METRICS_EXPORTER` asks for one.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (options.disabled) return { shutdown: async () => undefined };
  process.env.OTEL_METRICS_EXPORTER ??= "none";
  process.env.OTEL_LOGS_EXPORTER ??= "none";
  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME ?? options.serviceName,
    instrumentations: [],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
