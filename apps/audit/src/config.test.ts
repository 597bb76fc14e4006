import { ConfigError, loadConfig } from "@herald/platform";
import { testEnv } from "@herald/platform/testing";
import { describe, expect, it } from "vitest";
import { configSchema } from "./config.js";

describe("audit configuration", () => {
  it("keeps data 30 days and purges in batches of 500 by default", () => {
    expect(loadConfig(configSchema, testEnv())).toMatchObject({
      HERALD_RETENTION_DAYS: 30,
      RETENTION_PURGE_INTERVAL: 3_600_000,
      TENANT_PURGE_INTERVAL: 10_000,
      TENANT_PURGE_GRACE: 60_000,
      PURGE_BATCH_SIZE: 100,
      PURGE_BATCH_PAUSE: 50,
    });
    expect(
      loadConfig(configSchema, testEnv({ HERALD_RETENTION_DAYS: "7", TENANT_PURGE_GRACE: "5s" })),
    ).toMatchObject({ HERALD_RETENTION_DAYS: 7, TENANT_PURGE_GRACE: 5_000 });
  });

  it("writes health rollups once a second by default, at once with 0", () => {
    expect(loadConfig(configSchema, testEnv()).HEALTH_ROLLUP_INTERVAL).toBe(1_000);
    expect(loadConfig(configSchema, testEnv({ HEALTH_ROLLUP_INTERVAL: "0s" })).HEALTH_ROLLUP_INTERVAL).toBe(
      0,
    );
    expect(loadConfig(configSchema, testEnv({ HEALTH_ROLLUP_INTERVAL: "10s" })).HEALTH_ROLLUP_INTERVAL).toBe(
      10_000,
    );
  });

  it.each([
    ["HERALD_RETENTION_DAYS", "0"],
    ["HERALD_RETENTION_DAYS", "3651"],
    ["TENANT_PURGE_INTERVAL", "0s"],
    ["RETENTION_PURGE_INTERVAL", "50ms"],
    ["PURGE_BATCH_SIZE", "0"],
    ["PURGE_BATCH_PAUSE", "soon"],
    ["HEALTH_ROLLUP_INTERVAL", "11s"],
    ["HEALTH_ROLLUP_INTERVAL", "a while"],
  ])("refuses %s=%s by name", (name, value) => {
    try {
      loadConfig(configSchema, testEnv({ [name]: value }));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
    }
  });
});
