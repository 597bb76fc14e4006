import { ConfigError, loadConfig } from "@herald/platform";
import { testEnv } from "@herald/platform/testing";
import { describe, expect, it } from "vitest";
import { configSchema, endpointConcurrency, endpointRetryAfterMs } from "./service.js";

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

  it("parses HERALD_URL_ALLOWLIST as routing does, refusing a bad entry by name", () => {
    const config = loadConfig(
      configSchema,
      testEnv({ HERALD_URL_ALLOWLIST: "10.0.0.0/8,Receiver.Internal" }),
    );
    expect([...config.HERALD_URL_ALLOWLIST.hostnames]).toEqual(["receiver.internal"]);
    expect(config.HERALD_URL_ALLOWLIST.ranges.check("10.1.2.3", "ipv4")).toBe(true);
    expect(() => loadConfig(configSchema, testEnv({ HERALD_URL_ALLOWLIST: "10.0.0.0/40" }))).toThrow(
      /HERALD_URL_ALLOWLIST: "10.0.0.0\/40": the prefix length must be 0-32/,
    );
  });

  it("starts each endpoint at 16 requests in flight, adapting up to 64, unless it sets its own max_concurrency", () => {
    const config = loadConfig(configSchema, testEnv());
    expect(config.DELIVERY_ENDPOINT_CONCURRENCY).toBe(16);
    expect(config.DELIVERY_ENDPOINT_WAITING).toBe(16);
    expect(endpointConcurrency(0, config)).toEqual({ base: 16, max: 64 });
    expect(endpointConcurrency(undefined, config)).toEqual({ base: 16, max: 64 });
    // An owner's own limit is fixed.
    expect(endpointConcurrency(3, config)).toEqual({ base: 3, max: 3 });
    // The ceiling is never below the base.
    expect(
      endpointConcurrency(0, { DELIVERY_ENDPOINT_CONCURRENCY: 100, DELIVERY_CONNECTIONS_PER_ORIGIN: 8 }),
    ).toEqual({ base: 100, max: 100 });
    expect(() => loadConfig(configSchema, testEnv({ DELIVERY_ENDPOINT_CONCURRENCY: "0" }))).toThrow(
      /DELIVERY_ENDPOINT_CONCURRENCY: /,
    );
  });

  it("sends a slow endpoint's refused task back for about its pace: 1 s to the request timeout", () => {
    expect(endpointRetryAfterMs(1_200, 0, 15_000)).toBe(1_200);
    expect(endpointRetryAfterMs(10, 0, 15_000)).toBe(1_000);
    expect(endpointRetryAfterMs(40_000, 0, 15_000)).toBe(15_000);
    expect(endpointRetryAfterMs(5_000, 0, 500)).toBe(1_000);
  });

  it("sends a task back for at least as long as it has been held already, up to the request timeout", () => {
    // Its trips double: held 0 → 2 s (the endpoint's pace), then 2 s more, then 4 s, 8 s, then 15 s each.
    const trips: number[] = [];
    let held = 0;
    while (held < 60_000) {
      const wait = endpointRetryAfterMs(2_000, held, 15_000);
      trips.push(wait);
      held += wait;
    }
    expect(trips).toEqual([2_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000]);
    // A pace longer than the time held still decides.
    expect(endpointRetryAfterMs(9_000, 3_000, 15_000)).toBe(9_000);
    expect(endpointRetryAfterMs(500, 700, 15_000)).toBe(1_000);
  });
});
