import { ConfigError, loadConfig } from "@herald/platform";
import { TEST_ADMIN_KEY, TEST_SECRET_KEYS } from "@herald/platform/testing";
import { describe, expect, it } from "vitest";
import { configSchema } from "../service.js";

const base = {
  AMQP_URL: "amqp://127.0.0.1",
  MONGO_URL: "mongodb://127.0.0.1",
  HERALD_ADMIN_KEY: TEST_ADMIN_KEY,
  HERALD_SECRET_KEYS: TEST_SECRET_KEYS,
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(configSchema, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("routing configuration", () => {
  it("defaults to https only and an empty allowlist", () => {
    const config = loadConfig(configSchema, base);
    expect(config.PORT).toBe(7002);
    expect(config.HERALD_ALLOW_HTTP).toBe(false);
    expect(config.HERALD_URL_ALLOWLIST.hostnames.size).toBe(0);
    expect(config.HERALD_URL_ALLOWLIST.ranges.check("127.0.0.1", "ipv4")).toBe(false);
  });

  it("reads the allowlist and the http switch", () => {
    const config = loadConfig(configSchema, {
      ...base,
      HERALD_URL_ALLOWLIST: "127.0.0.1/32,::1/128,localhost",
      HERALD_ALLOW_HTTP: "true",
    });
    expect(config.HERALD_ALLOW_HTTP).toBe(true);
    expect(config.HERALD_URL_ALLOWLIST.ranges.check("127.0.0.1", "ipv4")).toBe(true);
    expect([...config.HERALD_URL_ALLOWLIST.hostnames]).toEqual(["localhost"]);
  });

  it("names every bad variable", () => {
    const { HERALD_SECRET_KEYS: _, ...withoutKeys } = base;
    expect(
      problems({ ...withoutKeys, HERALD_URL_ALLOWLIST: "10.0.0.0/40", HERALD_ALLOW_HTTP: "yes" }),
    ).toEqual([
      expect.stringMatching(/^HERALD_SECRET_KEYS: required/),
      'HERALD_URL_ALLOWLIST: "10.0.0.0/40": the prefix length must be 0-32',
      'HERALD_ALLOW_HTTP: must be "true" or "false"',
    ]);
    expect(problems({ ...base, HERALD_SECRET_KEYS: "k1:short" })).toEqual([
      'HERALD_SECRET_KEYS: key "k1" must decode to 32 bytes, got 3',
    ]);
  });

  it("reads the re-seal batch and interval, with bounds", () => {
    const defaults = loadConfig(configSchema, base);
    expect([defaults.SECRET_RESEAL_BATCH, defaults.SECRET_RESEAL_INTERVAL]).toEqual([100, 600_000]);
    const set = loadConfig(configSchema, {
      ...base,
      SECRET_RESEAL_BATCH: "500",
      SECRET_RESEAL_INTERVAL: "30s",
    });
    expect([set.SECRET_RESEAL_BATCH, set.SECRET_RESEAL_INTERVAL]).toEqual([500, 30_000]);
    expect(problems({ ...base, SECRET_RESEAL_BATCH: "5000", SECRET_RESEAL_INTERVAL: "soon" })).toEqual([
      expect.stringMatching(/^SECRET_RESEAL_BATCH: /),
      expect.stringMatching(/^SECRET_RESEAL_INTERVAL: bad duration "soon"/),
    ]);
    expect(problems({ ...base, SECRET_RESEAL_INTERVAL: "0s" })).toEqual([
      "SECRET_RESEAL_INTERVAL: must be at least 1s",
    ]);
  });
});
