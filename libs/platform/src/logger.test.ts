import { Writable } from "node:stream";
import { context, TraceFlags, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, logger: createLogger({ service: "test", destination }) };
}

describe("createLogger", () => {
  it("redacts secrets, keys and payloads wherever they sit", () => {
    const { lines, logger } = capture();
    logger.info(
      {
        authorization: "Bearer hk_abc",
        endpoint: { url: "https://example.com", secret: "whsec_abc" },
        task: { payload: "{}", headers: { authorization: "Bearer x" } },
        token: "hk_live",
      },
      "hello",
    );
    const text = JSON.stringify(lines[0]);
    expect(text).not.toContain("hk_abc");
    expect(text).not.toContain("whsec_abc");
    expect(text).not.toContain("hk_live");
    expect(text).not.toContain("Bearer x");
    expect(lines[0]).toMatchObject({
      service: "test",
      level: "info",
      msg: "hello",
      endpoint: { url: "https://example.com" },
    });
  });

  it("adds the active span's trace and span ids", () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    try {
      const { lines, logger } = capture();
      const spanContext = {
        traceId: "0af7651916cd43dd8448eb211c80319c",
        spanId: "b7ad6b7169203331",
        traceFlags: TraceFlags.SAMPLED,
      };
      logger.info("outside");
      context.with(trace.setSpanContext(context.active(), spanContext), () => logger.info("inside"));
      expect(lines[0]).not.toHaveProperty("trace_id");
      expect(lines[1]).toMatchObject({ trace_id: spanContext.traceId, span_id: spanContext.spanId });
    } finally {
      context.disable();
    }
  });
});
