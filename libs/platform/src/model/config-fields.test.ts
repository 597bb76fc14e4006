import { describe, expect, it } from "vitest";
import { loadConfig, serviceConfigSchema } from "../config.js";
import { urlAllowlist } from "./config-fields.js";

const good = {
  AMQP_URL: "amqp://guest:guest@127.0.0.1:5672",
  MONGO_URL: "mongodb://127.0.0.1:27017",
  HERALD_ADMIN_KEY: "x".repeat(32),
};

describe("urlAllowlist (HERALD_URL_ALLOWLIST)", () => {
  const schema = serviceConfigSchema(7001).extend({ HERALD_URL_ALLOWLIST: urlAllowlist });

  it("allows nothing when unset or explicitly empty", () => {
    for (const value of [undefined, "", " , "]) {
      const { HERALD_URL_ALLOWLIST: allowlist } = loadConfig(schema, {
        ...good,
        HERALD_URL_ALLOWLIST: value,
      });
      expect(allowlist.hostnames.size).toBe(0);
      expect(allowlist.ranges.check("127.0.0.1", "ipv4")).toBe(false);
    }
  });

  it("reads ranges and host names, and names a bad entry", () => {
    const { HERALD_URL_ALLOWLIST: allowlist } = loadConfig(schema, {
      ...good,
      HERALD_URL_ALLOWLIST: "127.0.0.1/32,localhost",
    });
    expect(allowlist.ranges.check("127.0.0.1", "ipv4")).toBe(true);
    expect([...allowlist.hostnames]).toEqual(["localhost"]);
    expect(() => loadConfig(schema, { ...good, HERALD_URL_ALLOWLIST: "10.0.0.0/40" })).toThrow(
      /HERALD_URL_ALLOWLIST: "10.0.0.0\/40": the prefix length must be 0-32/,
    );
  });
});
