import { ConfigError, loadConfig } from "@herald/platform";
import { testEnv } from "@herald/platform/testing";
import { describe, expect, it } from "vitest";
import { configSchema } from "./service.js";

describe("delivery configuration", () => {
  it("keeps 256 deliveries in flight over at most 64 connections per receiver by default", () => {
    const config = loadConfig(configSchema, testEnv());
    expect(config.DELIVERY_CONCURRENCY).toBe(256);
    expect(config.DELIVERY_CONNECTIONS_PER_ORIGIN).toBe(64);
    expect(loadConfig(configSchema, testEnv({ DELIVERY_CONNECTIONS_PER_ORIGIN: "8" }))).toMatchObject({
      DELIVERY_CONNECTIONS_PER_ORIGIN: 8,
    });
  });

  it.each(["0", "-1", "many", "1001"])("refuses DELIVERY_CONNECTIONS_PER_ORIGIN=%s by name", (value) => {
    const load = () => loadConfig(configSchema, testEnv({ DELIVERY_CONNECTIONS_PER_ORIGIN: value }));
    expect(load).toThrow(ConfigError);
    try {
      load();
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        expect.stringMatching(/^DELIVERY_CONNECTIONS_PER_ORIGIN: /),
      ]);
    }
  });
});
