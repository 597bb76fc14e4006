import { ConfigError, loadConfig } from "@herald/platform";
import { testEnv } from "@herald/platform/testing";
import { describe, expect, it } from "vitest";
import { configSchema } from "./service.js";

describe("ingest configuration", () => {
  it("sweeps for events unconfirmed for 5 s, and injects no fault, by default", () => {
    expect(loadConfig(configSchema, testEnv())).toMatchObject({
      INGEST_REPUBLISH_AFTER: 5_000,
      HERALD_FAULT_EXIT_AFTER_INSERT: false,
    });
    expect(
      loadConfig(
        configSchema,
        testEnv({ INGEST_REPUBLISH_AFTER: "1s", HERALD_FAULT_EXIT_AFTER_INSERT: "true" }),
      ),
    ).toMatchObject({ INGEST_REPUBLISH_AFTER: 1_000, HERALD_FAULT_EXIT_AFTER_INSERT: true });
  });

  it("refuses a bad duration or flag by name", () => {
    const load = () =>
      loadConfig(
        configSchema,
        testEnv({ INGEST_REPUBLISH_AFTER: "soon", HERALD_FAULT_EXIT_AFTER_INSERT: "1" }),
      );
    expect(load).toThrow(ConfigError);
    try {
      load();
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        expect.stringMatching(/^INGEST_REPUBLISH_AFTER: /),
        expect.stringMatching(/^HERALD_FAULT_EXIT_AFTER_INSERT: must be "true" or "false"/),
      ]);
    }
  });

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
