import { ConfigError, loadConfig } from "@herald/platform";
import { testEnv } from "@herald/platform/testing";
import { describe, expect, it } from "vitest";
import { configSchema } from "./service.js";

describe("ingest configuration", () => {
  it("remembers idempotency keys 24 hours unless told otherwise", () => {
    expect(loadConfig(configSchema, testEnv()).INGEST_IDEMPOTENCY_WINDOW).toBe(86_400_000);
    expect(
      loadConfig(configSchema, testEnv({ INGEST_IDEMPOTENCY_WINDOW: "2h" })).INGEST_IDEMPOTENCY_WINDOW,
    ).toBe(7_200_000);
  });

  it.each(["0s", "30s", "a day"])("refuses INGEST_IDEMPOTENCY_WINDOW=%s by name", (value) => {
    try {
      loadConfig(configSchema, testEnv({ INGEST_IDEMPOTENCY_WINDOW: value }));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^INGEST_IDEMPOTENCY_WINDOW: /)]);
    }
  });
});
