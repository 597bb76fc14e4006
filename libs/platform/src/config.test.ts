import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, serviceConfigSchema } from "./config.js";
import { formatDurationMs, parseDurationListMs, parseDurationMs } from "./duration.js";

const good = {
  AMQP_URL: "amqp://guest:guest@127.0.0.1:5672",
  MONGO_URL: "mongodb://127.0.0.1:27017",
  HERALD_ADMIN_KEY: "x".repeat(32),
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(serviceConfigSchema(7001), env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("loadConfig", () => {
  it("applies defaults to a minimal environment", () => {
    const config = loadConfig(serviceConfigSchema(7001), good);
    expect(config.PORT).toBe(7001);
    expect(config.MONGO_DB).toBe("herald");
    expect(config.RETRY_TIERS[0]).toBe(1_000);
    expect(config.AMQP_NAMESPACE).toBe("");
  });

  it("names each bad variable on its own line", () => {
    const problems = problemsOf({ MONGO_URL: "localhost:27017", HERALD_ADMIN_KEY: "short" });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^AMQP_URL: required, e\.g\. amqp:\/\//);
    expect(problems[1]).toMatch(/^MONGO_URL: must be a mongodb:\/\/ or mongodb\+srv:\/\/ URL/);
    expect(problems[2]).toMatch(/^HERALD_ADMIN_KEY: must be at least 32 characters/);
  });

  it("takes a RabbitMQ cluster's nodes and a MongoDB replica set", () => {
    const config = loadConfig(serviceConfigSchema(7001), {
      ...good,
      AMQP_URL: "amqp://u:p@rabbit-0:5672,amqp://u:p@rabbit-1:5672",
      MONGO_URL: "mongodb://db-0:27017,db-1:27017,db-2:27017/herald?replicaSet=rs0",
    });
    expect(config.AMQP_URL).toContain("rabbit-1");
    expect(config.MONGO_WRITE_CONCERN).toBe("majority");
    expect(config.MONGO_READ_CONCERN).toBe("local");
    expect(config.MONGO_CONCURRENT_WRITES).toBe("auto");
  });

  it("asks the server about concurrent writes unless told, and takes nothing but auto, true or false", () => {
    const set = (value: string) =>
      loadConfig(serviceConfigSchema(7001), { ...good, MONGO_CONCURRENT_WRITES: value })
        .MONGO_CONCURRENT_WRITES;
    expect(set("false")).toBe("false");
    expect(set("true")).toBe("true");
    expect(problemsOf({ ...good, MONGO_CONCURRENT_WRITES: "yes" })[0]).toMatch(
      /^MONGO_CONCURRENT_WRITES: must be "auto", "true" or "false"/,
    );
  });

  it("takes a write concern of majority or a member count, and nothing else", () => {
    const concern = (w: string) => loadConfig(serviceConfigSchema(7001), { ...good, MONGO_WRITE_CONCERN: w });
    expect(concern("2").MONGO_WRITE_CONCERN).toBe(2);
    expect(concern("majority").MONGO_WRITE_CONCERN).toBe("majority");
    for (const bad of ["0", "most", "-1"])
      expect(problemsOf({ ...good, MONGO_WRITE_CONCERN: bad })[0]).toMatch(/^MONGO_WRITE_CONCERN: /);
    expect(problemsOf({ ...good, MONGO_READ_CONCERN: "linearizable" })[0]).toMatch(/^MONGO_READ_CONCERN: /);
  });

  it("refuses an AMQP_URL list whose nodes differ in credentials", () => {
    const problems = problemsOf({ ...good, AMQP_URL: "amqp://a:1@h1,amqp://b:2@h2" });
    expect(problems[0]).toMatch(/^AMQP_URL: .*only the host and port may differ/);
  });

  it("treats an empty variable as unset", () => {
    expect(loadConfig(serviceConfigSchema(7001), { ...good, PORT: "" }).PORT).toBe(7001);
  });

  it("rejects a malformed port and retry tier list", () => {
    const problems = problemsOf({ ...good, PORT: "http", RETRY_TIERS: "5s,soon" });
    expect(problems.some((p) => p.startsWith("PORT:"))).toBe(true);
    expect(problems.some((p) => p.startsWith('RETRY_TIERS: bad duration(s) "soon"'))).toBe(true);
  });
});

describe("parseDurationMs", () => {
  it.each([
    ["250ms", 250],
    ["5s", 5_000],
    ["1.5s", 1_500],
    ["5m", 300_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
  ])("parses %s", (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  it.each(["", "5", "s", "-5s", "5 minutes"])("refuses %j", (text) =>
    expect(parseDurationMs(text)).toBeUndefined(),
  );
});

describe("parseDurationListMs", () => {
  it("parses a comma-separated list, spaces allowed", () => {
    expect(parseDurationListMs("5s, 5m,2h")).toEqual({ ms: [5_000, 300_000, 7_200_000], bad: [] });
  });

  it("names every part that is malformed or zero", () => {
    expect(parseDurationListMs("5s,soon,0s").bad).toEqual(["soon", "0s"]);
  });

  it("reads back what formatDurationMs writes", () => {
    const ms = [1_000, 90_000, 3_600_000, 5 * 86_400_000, 1_500];
    expect(parseDurationListMs(ms.map(formatDurationMs).join(",")).ms).toEqual(ms);
  });
});
