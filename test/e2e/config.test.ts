import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { REPO_ROOT, SERVICES } from "./support/stack.js";

const run = promisify(execFile);

/** Starts a service with exactly `env` (plus PATH) and returns how it ended. */
async function start(service: string, env: Record<string, string>) {
  try {
    await run(process.execPath, [`${REPO_ROOT}apps/${service}/dist/main.js`], {
      env: { PATH: process.env.PATH ?? "", ...env },
      timeout: 20_000,
    });
    return { code: 0, stderr: "" };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe("a service with a bad configuration", () => {
  it.each(SERVICES)("%s exits non-zero with one clear line per problem", async (service) => {
    const { code, stderr } = await start(service, { MONGO_URL: "localhost:27017", PORT: "http" });
    expect(code).toBe(1);
    const lines = stderr.trim().split("\n");
    expect(lines).toContain(
      `herald-${service}: config: AMQP_URL: required, e.g. amqp://guest:guest@127.0.0.1:5672`,
    );
    expect(lines).toContain(
      `herald-${service}: config: MONGO_URL: must be a mongodb:// or mongodb+srv:// URL, e.g. mongodb://127.0.0.1:27017`,
    );
    expect(lines.some((l) => l.startsWith(`herald-${service}: config: PORT:`))).toBe(true);
    expect(lines.some((l) => l.startsWith(`herald-${service}: config: HERALD_ADMIN_KEY: required`))).toBe(
      true,
    );
    // One line per problem and nothing else: no stack trace.
    expect(lines.every((l) => l.startsWith(`herald-${service}: config: `))).toBe(true);
  });

  it("names a malformed secret key ring without echoing it", async () => {
    const { code, stderr } = await start("delivery", {
      AMQP_URL: "amqp://guest:guest@127.0.0.1:5672",
      MONGO_URL: "mongodb://127.0.0.1:27017",
      HERALD_ADMIN_KEY: "x".repeat(32),
      HERALD_SECRET_KEYS: "k1:c2hvcnQtc2VjcmV0LXZhbHVl",
    });
    expect(code).toBe(1);
    expect(stderr).toContain(
      'herald-delivery: config: HERALD_SECRET_KEYS: key "k1" must decode to 32 bytes, got 18',
    );
    expect(stderr).not.toContain("c2hvcnQtc2VjcmV0LXZhbHVl");
  });
});
