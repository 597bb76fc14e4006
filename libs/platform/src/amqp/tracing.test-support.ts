// Test support for the messaging integration tests, kept out of the build: records every span in
// memory, with W3C propagation and async context as a running service has them.
import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll } from "vitest";
import { enableTracePropagation } from "../testing/tracing.js";

/** Installs in-memory tracing for the test file's duration; returns the exporter holding the spans. */
export function useTestTracing(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  let disablePropagation = () => {};
  beforeAll(() => {
    disablePropagation = enableTracePropagation();
    trace.setGlobalTracerProvider(
      new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
    );
  });
  afterAll(() => {
    trace.disable();
    disablePropagation();
  });
  return exporter;
}
