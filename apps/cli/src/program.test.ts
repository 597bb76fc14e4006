import http from "node:http";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  AttemptTrigger,
  AuditService,
  EndpointService,
  ErrorClass,
  RecoverResponseSchema,
  RedriveResponseSchema,
  TenantService,
  type TestEndpointRequest,
} from "@herald/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Io } from "./context.js";
import { run } from "./program.js";

/** Runs the CLI in-process with captured output. */
async function cli(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; tty?: boolean; answer?: string } = {},
) {
  let stdout = "";
  let stderr = "";
  const prompts: string[] = [];
  const io: Io = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    readStdin: async () => new TextEncoder().encode(options.stdin ?? ""),
    stdinIsTty: options.tty ?? options.stdin === undefined,
    readLine: async (prompt) => {
      prompts.push(prompt);
      return options.answer ?? "";
    },
    readFile: async () => {
      throw new Error("ENOENT: no such file or directory");
    },
    env: options.env ?? {},
    now: () => new Date("2025-06-01T12:00:00Z"),
  };
  const code = await run(args, io);
  return { code, stdout, stderr, prompts };
}

describe("usage", () => {
  it("prints help and the version with exit 0", async () => {
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: herald");
    expect(help.stdout).toContain("--api-key <token>");
    expect((await cli(["--version"])).stdout.trim()).toBe("0.1.0");
    const sub = await cli(["endpoints", "create", "--help"]);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain("--event-type <type>");
  });

  it("exits 2 with a herald: line on commander's usage errors", async () => {
    for (const args of [
      ["tenants", "get"],
      ["nope"],
      ["endpoints", "list"],
      ["events", "list", "--tenant", "t", "--limit", "0"],
      ["attempts", "list", "--tenant", "t", "--failed", "--succeeded"],
      ["keys", "create", "--name", "n", "--scope", "root"],
      ["--timeout", "soon", "tenants", "list"],
      ["tenants"],
    ]) {
      const result = await cli(args, { env: { HERALD_API_KEY: "k" } });
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr, args.join(" ")).toMatch(/herald: |Usage: herald/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it("exits 2 when there is no API key", async () => {
    const result = await cli(["tenants", "list"]);
    expect(result).toEqual({
      code: 2,
      stdout: "",
      stderr: "herald: no API key: set HERALD_API_KEY or pass --api-key\n",
      prompts: [],
    });
  });

  it("exits 2 on a bad payload or nothing to send, before any call", async () => {
    const env = { HERALD_API_KEY: "k", HERALD_INGEST_URL: "http://127.0.0.1:1" };
    const bad = await cli(["events", "publish", "--tenant", "t", "--type", "a.b", "--data", "{x"], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^herald: --data is not valid JSON/);
    const none = await cli(["events", "publish", "--tenant", "t", "--type", "a.b"], { env });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no payload");
    const array = await cli(["events", "publish", "--tenant", "t", "--type", "a.b"], { env, stdin: "[1]" });
    expect(array.stderr).toBe("herald: stdin must be a JSON object\n");
    const missing = await cli(["events", "publish", "--tenant", "t", "--type", "a.b", "--file", "x.json"], {
      env,
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^herald: cannot read --file x.json/);
    const both = await cli(
      ["events", "publish", "--tenant", "t", "--type", "a", "--data", "{}", "--file", "f"],
      {
        env,
      },
    );
    expect(both.code).toBe(2);
  });

  it("exits 2 when an update changes nothing", async () => {
    const env = { HERALD_API_KEY: "k" };
    expect((await cli(["tenants", "update", "t1"], { env })).stderr).toContain("nothing to update");
    expect((await cli(["endpoints", "update", "ep", "--tenant", "t1"], { env })).code).toBe(2);
  });

  it("takes global options after the command and says which URL refused", async () => {
    const result = await cli([
      "tenants",
      "list",
      "--json",
      "--routing-url",
      "http://127.0.0.1:1",
      "--api-key",
      "k",
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(
      /^herald: cannot connect to http:\/\/127\.0\.0\.1:1 \(connection refused\).*npm start/,
    );
  });
});

describe("against a fake server", () => {
  let server: http.Server;
  let url = "";
  const seen: {
    authorization: string[];
    recoverCalls: number;
    untils: Set<string>;
    deleted: string[];
    tests: TestEndpointRequest[];
  } = {
    authorization: [],
    recoverCalls: 0,
    untils: new Set(),
    deleted: [],
    tests: [],
  };

  beforeAll(async () => {
    const routes = (router: ConnectRouter) => {
      router.service(TenantService, {
        async getTenant(req, ctx) {
          seen.authorization.push(ctx.requestHeader.get("authorization") ?? "");
          throw new ConnectError(`tenant "${req.tenantId}" not found`, Code.NotFound);
        },
        async deleteTenant(req) {
          seen.deleted.push(req.tenantId);
          return {};
        },
      });
      router.service(EndpointService, {
        // ep_ok answers 200 (with a hostile body), ep_slow times out, ep_none has no example.
        async testEndpoint(req) {
          seen.tests.push(req);
          if (req.endpointId === "ep_none")
            throw new ConnectError(
              'event type "a.b" has no example; give a payload',
              Code.FailedPrecondition,
            );
          const ok = req.endpointId === "ep_ok";
          return {
            attempt: {
              id: "att_1",
              eventId: "evt_test_1",
              endpointId: req.endpointId,
              trigger: AttemptTrigger.TEST,
              success: ok,
              responseStatus: ok ? 200 : 0,
              latencyMs: ok ? 12 : 15_000,
              responseBody: ok ? "thanks\nbye\u001b]0;pwned\u0007" : "",
              errorClass: ok ? ErrorClass.NONE : ErrorClass.TIMEOUT,
              errorMessage: ok ? "" : "the receiver did not answer in time",
              url: "https://hooks.example.com/in",
              responseHeaders: ok ? [{ name: "x-receiver", value: "yes" }] : [],
            },
          };
        },
      });
      router.service(AuditService, {
        // Three batches: 1000 + 1000 + 5.
        async recover(req) {
          seen.recoverCalls += 1;
          seen.untils.add(req.until ? timestampDate(req.until).toISOString() : "");
          const last = seen.recoverCalls === 3;
          return create(RecoverResponseSchema, { requeued: last ? 5 : 1000, truncated: !last });
        },
        async redrive() {
          return create(RedriveResponseSchema, { requeued: 0, truncated: false });
        },
      });
    };
    server = http.createServer(connectNodeAdapter({ routes }));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("sends the key as a bearer token and prints a not-found error in one line", async () => {
    const result = await cli(["tenants", "get", "ghost"], {
      env: { HERALD_API_KEY: "hk_abc_secret", HERALD_ROUTING_URL: url },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('herald: not found: tenant "ghost" not found\n');
    expect(seen.authorization).toEqual(["Bearer hk_abc_secret"]);
  });

  it("recovers until the server stops truncating, with progress on stderr and one fixed window", async () => {
    const result = await cli(["recover", "--tenant", "t", "--endpoint", "ep", "--since", "2h"], {
      env: { HERALD_API_KEY: "k", HERALD_AUDIT_URL: url },
    });
    expect(result.code).toBe(0);
    expect(result.stderr.trim().split("\n")).toEqual([
      "requeued 1000 (total 1000)…",
      "requeued 1000 (total 2000)…",
      "requeued 5 (total 2005)",
    ]);
    expect(result.stdout).toBe("requeued 2005 deliveries\n");
    expect(seen.recoverCalls).toBe(3);
    expect([...seen.untils]).toEqual(["2025-06-01T12:00:00.000Z"]);
  });

  it("deletes a tenant only once the id is typed back, or with --yes; never unasked without a terminal", async () => {
    const env = { HERALD_API_KEY: "k", HERALD_ROUTING_URL: url };
    const declined = await cli(["tenants", "delete", "t1"], { env, tty: true, answer: "yes" });
    expect(declined.prompts).toEqual([
      "Delete tenant t1 with its keys, endpoints, events and attempts? This cannot be undone.\nType the tenant id to confirm: ",
    ]);
    expect(declined).toMatchObject({ code: 1, stdout: "", stderr: "herald: tenant t1 not deleted\n" });
    const piped = await cli(["tenants", "delete", "t1"], { env, stdin: "t1\n" });
    expect(piped).toMatchObject({ code: 2, prompts: [] });
    expect(piped.stderr).toBe(
      "herald: deleting tenant t1 removes all its data for good; pass --yes to confirm when not at a terminal\n",
    );
    expect(seen.deleted).toEqual([]);

    const confirmed = await cli(["tenants", "delete", "t1"], { env, tty: true, answer: " t1 " });
    expect(confirmed).toMatchObject({ code: 0, stdout: "tenant t1 deleted; its data is being purged\n" });
    const unasked = await cli(["tenants", "delete", "t2", "--yes"], { env, stdin: "" });
    expect(unasked).toMatchObject({ code: 0, prompts: [] });
    expect(seen.deleted).toEqual(["t1", "t2"]);
  });

  it("prints the total as one JSON document under --json", async () => {
    const result = await cli(["--json", "redrive", "--tenant", "t"], {
      env: { HERALD_API_KEY: "k", HERALD_AUDIT_URL: url },
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ requeued: 0, truncated: false });
    expect(result.stderr).toBe("requeued 0 (total 0)\n");
  });

  it("sends a test and prints the receiver's answer, control characters made harmless", async () => {
    const env = { HERALD_API_KEY: "k", HERALD_ROUTING_URL: url };
    const result = await cli(
      ["endpoints", "test", "ep_ok", "--tenant", "t1", "--type", "a.b", "--payload", "@-"],
      {
        env,
        stdin: '{"id":1}',
      },
    );
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toMatch(/result:\s+delivered/);
    expect(result.stdout).toMatch(/status:\s+200/);
    expect(result.stdout).toMatch(/latency:\s+12 ms/);
    expect(result.stdout).toMatch(/headers:\s+x-receiver: yes/);
    expect(result.stdout).toMatch(/body:\s+thanks\n:\s+bye\uFFFD\]0;pwned\uFFFD/);
    expect(result.stdout).not.toContain("\u001b");
    const req = seen.tests.at(-1) as TestEndpointRequest;
    expect(req).toMatchObject({ tenantId: "t1", endpointId: "ep_ok", eventType: "a.b" });
    expect(new TextDecoder().decode(req.payload)).toBe('{"id":1}');
  });

  it("exits 1 with the error class when the test failed, and prints JSON under --json", async () => {
    const env = { HERALD_API_KEY: "k", HERALD_ROUTING_URL: url };
    const failed = await cli(["endpoints", "test", "ep_slow", "--tenant", "t1"], { env });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/status:\s+no response/);
    expect(failed.stderr).toBe(
      "herald: the test delivery failed: timeout: the receiver did not answer in time\n",
    );
    // No payload given: none is sent, so the server takes the type's example.
    expect(seen.tests.at(-1)?.payload).toHaveLength(0);

    const json = await cli(
      ["--json", "endpoints", "test", "ep_ok", "--tenant", "t1", "--payload", '{"a":1}'],
      {
        env,
      },
    );
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).attempt).toMatchObject({
      trigger: "ATTEMPT_TRIGGER_TEST",
      responseStatus: 200,
    });
  });

  it("prints the server's refusal, and refuses a bad --payload before any call", async () => {
    const env = { HERALD_API_KEY: "k", HERALD_ROUTING_URL: url };
    const refused = await cli(["endpoints", "test", "ep_none", "--tenant", "t1"], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^herald: failed precondition: event type "a.b" has no example/);
    const calls = seen.tests.length;
    for (const payload of ["{x", "@missing.json"]) {
      const bad = await cli(["endpoints", "test", "ep_ok", "--tenant", "t1", "--payload", payload], { env });
      expect(bad.code, payload).toBe(2);
      expect(bad.stderr, payload).toMatch(
        /^herald: (--payload is not valid JSON|cannot read --payload @missing.json)/,
      );
    }
    expect(seen.tests.length).toBe(calls);
  });
});
