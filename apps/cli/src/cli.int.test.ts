import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Receiver, startReceiver } from "../../../test/e2e/support/receiver.js";
import { type Stack, startStack } from "../../../test/e2e/support/stack.js";

// The built CLI against a whole Herald (the four services as processes, from their dist/): run
// `npx nx run-many -t build` first. One stack for the file; the tests run in order and build on each
// other (tenant → key → endpoint → events → replays → teardown).

const CLI = fileURLToPath(new URL("../dist/main.js", import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let stack: Stack;
let receiver: Receiver;
let adminKey: string;
let tenantKey = "";
let tenantKeyId = "";
let endpointId = "";
let eventId = "";
let workDir = "";

/** Runs `node dist/main.js …` with only the given HERALD_* variables (and the stack's URLs). */
function herald(
  args: string[],
  options: { key?: string; stdin?: string; env?: Record<string, string> } = {},
) {
  return new Promise<Result>((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      {
        env: {
          PATH: process.env.PATH ?? "",
          HERALD_API_KEY: options.key ?? adminKey,
          HERALD_ROUTING_URL: stack.url("routing"),
          HERALD_INGEST_URL: stack.url("ingest"),
          HERALD_AUDIT_URL: stack.url("audit"),
          ...options.env,
        },
        timeout: 20_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
    else child.stdin?.end();
  });
}

/** Runs a command that must succeed; fails with its stderr otherwise. */
async function ok(args: string[], options: Parameters<typeof herald>[1] = {}): Promise<string> {
  const result = await herald(args, options);
  expect(result.code, `herald ${args.join(" ")}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

/** Runs `args` with --json and parses stdout as one JSON document. */
async function json<T = Record<string, unknown>>(args: string[], options: Parameters<typeof herald>[1] = {}) {
  return JSON.parse(await ok(["--json", ...args], options)) as T;
}

/** Re-runs `probe` until it returns a value. */
async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

interface EventJson {
  event: { id: string; routed: boolean; endpointIds: string[] };
  payloadValue: unknown;
  deliveries: Array<{ endpointId: string; state: string; attemptCount: number }>;
  attempts: Array<{ id: string; success: boolean; responseStatus: number; trigger: string }>;
}

/** `events get --json` once the delivery of `id` to the endpoint is in `state`. */
function eventInState(id: string, state: string): Promise<EventJson> {
  return eventually(async () => {
    const result = await herald(["--json", "events", "get", id, "--tenant", "acme"], { key: tenantKey });
    if (result.code !== 0) return undefined;
    const doc = JSON.parse(result.stdout) as EventJson;
    return doc.deliveries.some((d) => d.endpointId === endpointId && d.state === state) ? doc : undefined;
  }, `delivery of ${id} ${state}`);
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx nx run-many -t build\` first`);
  [stack, receiver, workDir] = await Promise.all([
    startStack(),
    startReceiver(),
    mkdtemp(join(tmpdir(), "herald-cli-")),
  ]);
  adminKey = stack.env.HERALD_ADMIN_KEY as string;
}, 90_000);

afterAll(async () => {
  await Promise.all([
    stack?.stop(),
    receiver?.close(),
    workDir && rm(workDir, { recursive: true, force: true }),
  ]);
});

describe("herald CLI against a running Herald", () => {
  it("creates, lists, shows and updates a tenant", async () => {
    const created = await ok([
      "tenants",
      "create",
      "acme",
      "--name",
      "Acme",
      "--rate-limit",
      "100",
      "--retry-schedule",
      "1s,2s",
      "--retention-days",
      "7",
      "--delivery-weight",
      "3",
    ]);
    expect(created).toMatch(/id:\s+acme/);
    expect(created).toMatch(/delivery weight:\s+3/);
    expect(created).toMatch(/retention:\s+7 days/);
    expect(created).toMatch(/state:\s+enabled/);
    expect(created).toMatch(/retry schedule:\s+1s,2s/);

    const list = await ok(["tenants", "list"]);
    expect(list.split("\n")[0]).toMatch(/^ID\s+NAME\s+STATE/);
    expect(list).toMatch(/acme\s+Acme\s+enabled\s+100/);

    // Only --max-payload-bytes: the rate limit and schedule are kept (settings are replaced whole).
    const updated = await json<{ tenant: { name: string; settings: Record<string, unknown> } }>([
      "tenants",
      "update",
      "acme",
      "--name",
      "Acme Inc",
      "--max-payload-bytes",
      "100000",
    ]);
    expect(updated.tenant.name).toBe("Acme Inc");
    expect(updated.tenant.settings).toEqual({
      rateLimitPerSecond: 100,
      maxPayloadBytes: 100000,
      retrySchedule: { delays: ["1s", "2s"] },
      retentionDays: 7,
      refuseUnknownEventTypes: false,
      validatePayloads: false,
      portal: { frameAncestors: [], brandColor: "", logoUrl: "" },
      deliveryWeight: 3,
    });
  });

  it("creates a key, printing its token once, and lists keys without it", async () => {
    const human = await ok([
      "keys",
      "create",
      "--name",
      "acme publisher",
      "--tenant",
      "acme",
      "--scope",
      "events:publish",
    ]);
    expect(human).toContain("API key token (shown only now");
    const token = /^(hk_\S+)$/m.exec(human)?.[1] ?? "";
    expect(token).toMatch(/^hk_[0-9a-f]+_/);

    const created = await json<{ apiKey: { id: string; scopes: string[] }; token: string }>([
      "keys",
      "create",
      "--name",
      "acme ops",
      "--tenant",
      "acme",
      "--scope",
      "events:publish,endpoints:manage",
      "--scope",
      "audit:read",
    ]);
    tenantKey = created.token;
    tenantKeyId = created.apiKey.id;
    expect(created.apiKey.scopes).toEqual([
      "SCOPE_EVENTS_PUBLISH",
      "SCOPE_ENDPOINTS_MANAGE",
      "SCOPE_AUDIT_READ",
    ]);

    const list = await ok(["keys", "list", "--tenant", "acme"]);
    expect(list).toMatch(
      new RegExp(
        `${tenantKeyId}\\s+acme ops\\s+acme\\s+events:publish,endpoints:manage,audit:read\\s+active`,
      ),
    );
    expect(list).not.toContain(tenantKey);
    expect(list).not.toContain(token);
  });

  it("creates, lists and shows an endpoint with the tenant's key", async () => {
    const created = await json<{
      endpoint: { id: string; headers: Record<string, string>; eventTypes: string[] };
    }>(
      [
        "endpoints",
        "create",
        "--tenant",
        "acme",
        "--url",
        receiver.url,
        "--event-type",
        "order.*",
        "--header",
        "X-Team=ops",
        "--retry-schedule",
        "1s",
      ],
      { key: tenantKey },
    );
    endpointId = created.endpoint.id;
    expect(created.endpoint.eventTypes).toEqual(["order.*"]);
    // Header values are write-only: shown masked.
    expect(created.endpoint.headers).toEqual({ "X-Team": "[sealed]" });

    expect(await ok(["endpoints", "list", "--tenant", "acme"], { key: tenantKey })).toMatch(
      new RegExp(`${endpointId}\\s+${receiver.url}\\s+enabled\\s+order\\.\\*`),
    );
    const shown = await ok(["endpoints", "get", endpointId, "--tenant", "acme"], { key: tenantKey });
    expect(shown).toMatch(/headers:\s+X-Team=\[sealed\]/);
    expect(shown).toMatch(/retry schedule:\s+1s/);

    const updated = await ok(
      [
        "endpoints",
        "update",
        endpointId,
        "--tenant",
        "acme",
        "--description",
        "orders",
        "--max-concurrency",
        "4",
      ],
      { key: tenantKey },
    );
    expect(updated).toMatch(/description:\s+orders/);
    expect(updated).toMatch(/max concurrency:\s+4/);
    expect(updated).toMatch(/event types:\s+order\.\*/);
  });

  it("publishes an event from --data, --file and stdin", async () => {
    const publish = [
      "events",
      "publish",
      "--tenant",
      "acme",
      "--type",
      "order.created",
      "--data",
      '{"order":1}',
      "--idempotency-key",
      "o-1",
    ];
    const published = await ok(publish, { key: tenantKey });
    eventId = /^event (\S+) published$/m.exec(published)?.[1] ?? "";
    expect(eventId).not.toBe("");
    const again = await json<{ eventId: string; duplicate: boolean }>(publish, { key: tenantKey });
    expect(again).toEqual({ eventId, duplicate: true });

    const file = join(workDir, "payload.json");
    await writeFile(file, '{"user":2}');
    expect(
      await ok(["events", "publish", "--tenant", "acme", "--type", "user.created", "--file", file], {
        key: tenantKey,
      }),
    ).toMatch(/^event \S+ published$/m);
    expect(
      await ok(["events", "publish", "--tenant", "acme", "--type", "user.updated"], {
        key: tenantKey,
        stdin: '{"user":3}',
      }),
    ).toMatch(/^event \S+ published$/m);

    const [request] = await receiver.waitFor(1);
    expect(request?.headers["webhook-id"]).toBe(eventId);
    expect(request?.body.toString()).toBe('{"order":1}');
  });

  it("shows the event with its succeeded delivery and attempt", async () => {
    const doc = await eventInState(eventId, "DELIVERY_STATE_SUCCEEDED");
    expect(doc.event.endpointIds).toEqual([endpointId]);
    expect(doc.payloadValue).toEqual({ order: 1 });
    expect(doc.attempts).toHaveLength(1);
    expect(doc.attempts[0]).toMatchObject({
      success: true,
      responseStatus: 204,
      trigger: "ATTEMPT_TRIGGER_SCHEDULED",
    });

    const human = await ok(["events", "get", eventId, "--tenant", "acme"], { key: tenantKey });
    expect(human).toMatch(/type:\s+order\.created/);
    expect(human).toMatch(/payload:\s+\{"order":1\}/);
    expect(human).toMatch(new RegExp(`${endpointId}\\s+succeeded\\s+1\\s+204`));
    expect(human).toMatch(
      new RegExp(`${doc.attempts[0]?.id}\\s+${endpointId}\\s+1\\s+scheduled\\s+succeeded\\s+204`),
    );
  });

  it("creates an endpoint with a filter, and events get says why it did not take an event", async () => {
    const bad = await herald(
      ["endpoints", "create", "--tenant", "acme", "--url", receiver.url, "--filter", "payload.order >"],
      { key: tenantKey },
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/filter: .* at 1:\d+/);

    const created = await json<{ endpoint: { id: string; filter: string } }>(
      [
        "endpoints",
        "create",
        "--tenant",
        "acme",
        "--url",
        receiver.url,
        "--event-type",
        "invoice.*",
        "--filter",
        "payload.order > 5",
      ],
      { key: tenantKey },
    );
    const filtered = created.endpoint.id;
    expect(created.endpoint.filter).toBe("payload.order > 5");
    expect(await ok(["endpoints", "get", filtered, "--tenant", "acme"], { key: tenantKey })).toMatch(
      /filter:\s+payload\.order > 5/,
    );

    // Neither endpoint takes it: the first does not subscribe to invoice.*, the filter is false.
    const published = await ok(
      ["events", "publish", "--tenant", "acme", "--type", "invoice.paid", "--data", '{"order":2}'],
      { key: tenantKey },
    );
    const id = /^event (\S+) published$/m.exec(published)?.[1] ?? "";
    const doc = await eventually(async () => {
      const got = await json<EventJson & { skippedEndpoints?: Array<Record<string, string>> }>(
        ["events", "get", id, "--tenant", "acme"],
        { key: tenantKey },
      );
      return got.event.routed ? got : undefined;
    }, `route of ${id}`);
    expect(doc.event.endpointIds ?? []).toEqual([]);
    expect(doc.skippedEndpoints).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ endpointId, reason: "SKIP_REASON_EVENT_TYPE" }),
        expect.objectContaining({
          endpointId: filtered,
          reason: "SKIP_REASON_FILTER_FALSE",
          filter: "payload.order > 5",
        }),
      ]),
    );
    const human = await ok(["events", "get", id, "--tenant", "acme"], { key: tenantKey });
    expect(human).toMatch(/not delivered to \(2\):/);
    expect(human).toMatch(new RegExp(`${endpointId}\\s+type not subscribed`));
    expect(human).toMatch(new RegExp(`${filtered}\\s+filter false\\s+payload\\.order > 5`));

    const cleared = await ok(["endpoints", "update", filtered, "--tenant", "acme", "--clear-filter"], {
      key: tenantKey,
    });
    expect(cleared).toMatch(/filter:\s+-/);
    await ok(["endpoints", "delete", filtered, "--tenant", "acme"], { key: tenantKey });
  });

  it("lists events and attempts with filters", async () => {
    const events = await ok(
      ["events", "list", "--tenant", "acme", "--type", "order.created", "--since", "1h"],
      {
        key: tenantKey,
      },
    );
    expect(events).toMatch(new RegExp(`${eventId}\\s+order\\.created\\s+-\\s+o-1`));
    const all = await json<{ events: unknown[]; nextPageToken: string }>(
      ["events", "list", "--tenant", "acme", "--limit", "2"],
      { key: tenantKey },
    );
    expect(all.events).toHaveLength(2);
    expect(all.nextPageToken).not.toBe("");

    const attempts = await ok(["attempts", "list", "--tenant", "acme", "--event", eventId, "--succeeded"], {
      key: tenantKey,
    });
    expect(attempts).toMatch(new RegExp(`${eventId}\\s+${endpointId}\\s+1\\s+scheduled\\s+succeeded\\s+204`));
    expect(
      await ok(
        ["attempts", "list", "--tenant", "acme", "--endpoint", endpointId, "--failed", "--since", "1h"],
        {
          key: tenantKey,
        },
      ),
    ).toBe("no attempts\n");
  });

  it("redelivers an event: the receiver gets it again", async () => {
    const out = await ok(["redeliver", "--tenant", "acme", "--event", eventId, "--endpoint", endpointId], {
      key: tenantKey,
    });
    expect(out).toBe(`requeued event ${eventId} for endpoint ${endpointId}\n`);
    const requests = await receiver.waitFor(2);
    expect(requests[1]?.headers["webhook-id"]).toBe(eventId);
  });

  it("recovers a dead delivery, and redrive then finds none", async () => {
    receiver.reply = () => ({ status: 500, body: "down" });
    const published = await json<{ eventId: string }>(
      ["events", "publish", "--tenant", "acme", "--type", "order.paid", "--data", '{"order":2}'],
      { key: tenantKey },
    );
    // Schedule "1s": two attempts, then dead.
    await eventInState(published.eventId, "DELIVERY_STATE_DEAD");
    const failed = await ok(
      ["attempts", "list", "--tenant", "acme", "--event", published.eventId, "--failed"],
      {
        key: tenantKey,
      },
    );
    expect(failed).toMatch(/failed\s+500\s+\d+ms\s+-\s+http status/);

    receiver.reply = () => ({ status: 204 });
    const before = receiver.requests.length;
    const recovered = await herald(
      ["recover", "--tenant", "acme", "--endpoint", endpointId, "--since", "1h"],
      {
        key: tenantKey,
      },
    );
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(recovered.stderr).toBe("requeued 1 (total 1)\n");
    expect(recovered.stdout).toBe("requeued 1 delivery\n");
    await receiver.waitFor(before + 1);
    await eventInState(published.eventId, "DELIVERY_STATE_SUCCEEDED");

    const redrive = await herald(["--json", "redrive", "--tenant", "acme", "--endpoint", endpointId], {
      key: tenantKey,
    });
    expect(redrive.code, redrive.stderr).toBe(0);
    expect(redrive.stderr).toBe("requeued 0 (total 0)\n");
    expect(JSON.parse(redrive.stdout)).toEqual({ requeued: 0, truncated: false });
  });

  it("shows the endpoint's health, matching the attempts it logged", async () => {
    interface HealthJson {
      health: {
        windows: {
          window: string;
          attempts?: string;
          succeeded?: string;
          failed?: string;
          statusClasses: Record<string, string>;
        }[];
        circuitState: string;
        lastFailureTime?: string;
      };
    }
    const attempts = await json<{ attempts: { success: boolean; responseStatus: number }[] }>(
      ["attempts", "list", "--tenant", "acme", "--endpoint", endpointId, "--since", "1h"],
      { key: tenantKey },
    );
    const succeeded = attempts.attempts.filter((a) => a.success).length;
    const failed500 = attempts.attempts.filter((a) => !a.success && a.responseStatus === 500).length;
    expect(failed500).toBe(2);
    // The rollups are written just after the attempts: read until they have caught up.
    const doc = await eventually(async () => {
      const res = await json<HealthJson>(["endpoints", "health", endpointId, "--tenant", "acme"], {
        key: tenantKey,
      });
      return res.health.windows[0]?.attempts === String(attempts.attempts.length) ? res : undefined;
    }, "health caught up with the attempt log");
    for (const w of doc.health.windows) {
      expect(w).toMatchObject({ succeeded: String(succeeded), failed: String(failed500) });
      expect(w.statusClasses.status5xx).toBe(String(failed500));
    }
    expect(doc.health.circuitState).toBe("CIRCUIT_STATE_CLOSED");
    expect(doc.health.lastFailureTime).toBeDefined();

    const human = await ok(["endpoints", "health", endpointId, "--tenant", "acme"], { key: tenantKey });
    expect(human).toMatch(new RegExp(`^1h\\s+${attempts.attempts.length}\\s+${succeeded}\\s+2\\s`, "m"));
    expect(human).toMatch(/circuit:\s+closed/);
    const other = await herald(["endpoints", "health", "ep_nope", "--tenant", "acme"], { key: tenantKey });
    expect(other.code).toBe(1);
    const all = await json<{ endpoints: { endpointId: string }[] }>(
      ["endpoints", "health", "--tenant", "acme"],
      {
        key: tenantKey,
      },
    );
    expect(all.endpoints.map((e) => e.endpointId)).toContain(endpointId);
    expect(await ok(["endpoints", "health", "--tenant", "acme"], { key: tenantKey })).toMatch(
      new RegExp(`^${endpointId}\\s+${attempts.attempts.length}\\s`, "m"),
    );
  });

  it("rotates and shows an endpoint's secrets", async () => {
    const rotated = await ok(
      ["secret", "rotate", "--tenant", "acme", "--endpoint", endpointId, "--overlap", "1h"],
      {
        key: tenantKey,
      },
    );
    expect(rotated).toContain(`rotated the signing secret of endpoint ${endpointId}`);
    expect(rotated).toMatch(/current/);
    const secrets = await json<{ secrets: Array<{ secret: string; expireTime?: string }> }>(
      ["secret", "get", "--tenant", "acme", "--endpoint", endpointId],
      { key: tenantKey },
    );
    expect(secrets.secrets).toHaveLength(2);
    for (const s of secrets.secrets) expect(s.secret).toMatch(/^whsec_/);
    const human = await ok(["secret", "get", "--tenant", "acme", "--endpoint", endpointId], {
      key: tenantKey,
    });
    expect(human.split("\n")[0]).toMatch(/^ID\s+SCHEME\s+SECRET OR PUBLIC KEY\s+EXPIRES/);
    expect(human).toContain(secrets.secrets[0]?.secret);
  });

  it("creates a v1a endpoint with the envelope, shows its public key, and rotates it to v1", async () => {
    const created = await json<{ endpoint: { id: string; secrets: Array<{ publicKey: string }> } }>(
      [
        "endpoints",
        "create",
        "--tenant",
        "acme",
        "--url",
        receiver.url,
        "--signature-scheme",
        "v1a",
        "--payload-format",
        "envelope",
      ],
      { key: tenantKey },
    );
    const id = created.endpoint.id;
    const publicKey = created.endpoint.secrets[0]?.publicKey ?? "";
    expect(publicKey).toMatch(/^whpk_/);
    const shown = await ok(["endpoints", "get", id, "--tenant", "acme"], { key: tenantKey });
    expect(shown).toMatch(/signature scheme:\s+v1a \(ed25519\)/);
    expect(shown).toMatch(/public keys:\s+whpk_/);
    expect(shown).toContain(publicKey);
    expect(shown).toMatch(/payload format:\s+envelope/);
    expect(shown).not.toContain("whsk_");

    const rotated = await ok(
      [
        "secret",
        "rotate",
        "--tenant",
        "acme",
        "--endpoint",
        id,
        "--signature-scheme",
        "v1",
        "--overlap",
        "1h",
      ],
      { key: tenantKey },
    );
    expect(rotated).toMatch(/\sv1\s.*current/);
    expect(rotated).toMatch(/\sv1a\s/);
    const secrets = await ok(["secret", "get", "--tenant", "acme", "--endpoint", id], { key: tenantKey });
    expect(secrets).toMatch(/\sv1\s+whsec_/);
    expect(secrets).toContain(publicKey);
    expect(secrets).not.toContain("whsk_");
    const raw = await ok(["endpoints", "update", id, "--tenant", "acme", "--payload-format", "raw"], {
      key: tenantKey,
    });
    expect(raw).toMatch(/payload format:\s+raw/);
    expect(raw).toMatch(/signature scheme:\s+v1 \(HMAC-SHA256\)/);

    const bad = await herald(
      ["endpoints", "create", "--tenant", "acme", "--url", receiver.url, "--signature-scheme", "v2"],
      {
        key: tenantKey,
      },
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--signature-scheme.*expected v1 .* or v1a/);
    await ok(["endpoints", "delete", id, "--tenant", "acme"], { key: tenantKey });
  });

  it("manages the event type catalog, and publishing follows its schema", async () => {
    const schema = join(workDir, "invoice.schema.json");
    await writeFile(
      schema,
      JSON.stringify({ type: "object", required: ["invoice"], properties: { invoice: { type: "integer" } } }),
    );
    const created = await ok([
      "event-types",
      "create",
      "invoice.paid",
      "--tenant",
      "acme",
      "--description",
      "An invoice was paid",
      "--schema-file",
      schema,
      "--example",
      '{"invoice":7}',
      "--validate-payloads",
    ]);
    expect(created).toMatch(/name:\s+invoice.paid/);
    expect(created).toMatch(/validates payloads:\s+yes/);
    expect(created).toMatch(/schema version:\s+1/);

    const badExample = await herald([
      "event-types",
      "create",
      "invoice.void",
      "--tenant",
      "acme",
      "--schema-file",
      schema,
      "--example",
      '{"invoice":"seven"}',
    ]);
    expect(badExample.code).toBe(1);
    expect(badExample.stderr).toMatch(
      /^herald: .*examples\[0\]: fails the schema at "\/invoice": must be integer \(rule "type" at #\/properties\/invoice\/type\)/,
    );

    const list = await ok(["event-types", "list", "--tenant", "acme"], { key: tenantKey });
    expect(list.split("\n")[0]).toMatch(/^NAME\s+STATE\s+SCHEMA\s+VALIDATES\s+DESCRIPTION/);
    expect(list).toMatch(/invoice.paid\s+active\s+v1\s+yes\s+An invoice was paid/);
    expect(list).not.toMatch(/invoice.void/);

    expect(
      await ok(
        ["events", "publish", "--tenant", "acme", "--type", "invoice.paid", "--data", '{"invoice":7}'],
        {
          key: tenantKey,
        },
      ),
    ).toMatch(/^event \S+ published$/m);
    const refused = await herald(
      ["events", "publish", "--tenant", "acme", "--type", "invoice.paid", "--data", '{"invoice":"x"}'],
      { key: tenantKey },
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /event.payload: fails the schema of event type "invoice.paid" \(version 1\) at "\/invoice": must be integer/,
    );

    const updated = await json<{ eventType: { deprecated: boolean; description: string } }>([
      "event-types",
      "update",
      "invoice.paid",
      "--tenant",
      "acme",
      "--deprecated",
    ]);
    expect(updated.eventType).toMatchObject({ deprecated: true, description: "An invoice was paid" });
    expect(await ok(["event-types", "archive", "invoice.paid", "--tenant", "acme"])).toBe(
      "event type invoice.paid archived\n",
    );
    // Only Herald's built-in operational types are left.
    const left = await ok(["event-types", "list", "--tenant", "acme"]);
    expect(left).not.toMatch(/invoice\.paid/);
    expect(left).toMatch(/herald\.endpoint\.disabled\s+active\s+v1\s+no\s+Built in/);
    expect(await ok(["event-types", "get", "invoice.paid", "--tenant", "acme"])).toMatch(/state:\s+archived/);
    const nothing = await herald(["event-types", "update", "invoice.paid", "--tenant", "acme"]);
    expect(nothing.code).toBe(2);
  });

  it("sends a test event to an endpoint and shows the receiver's answer; the log lists it as a test", async () => {
    const payload = join(workDir, "test-payload.json");
    await writeFile(payload, '{"order":"o_test"}');
    const before = receiver.requests.length;
    const sent = await ok(
      [
        "endpoints",
        "test",
        endpointId,
        "--tenant",
        "acme",
        "--type",
        "order.created",
        "--payload",
        `@${payload}`,
      ],
      { key: tenantKey },
    );
    expect(sent).toMatch(/^result:\s+delivered$/m);
    expect(sent).toMatch(/^status:\s+204$/m);
    expect(sent).toMatch(/^webhook-id: evt_test_/m);
    const request = receiver.requests[before];
    expect(request?.headers["webhook-test"]).toBe("true");
    expect(request?.body.toString()).toBe('{"order":"o_test"}');

    // A type with no catalog example and no payload: nothing to send, and the message says what to do.
    const nothing = await herald(
      ["endpoints", "test", endpointId, "--tenant", "acme", "--type", "order.created"],
      {
        key: tenantKey,
      },
    );
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(
      /^herald: failed precondition: event type "order.created" has no example.*--payload/,
    );

    const listed = await eventually(async () => {
      const out = await ok(["attempts", "list", "--tenant", "acme", "--endpoint", endpointId], {
        key: tenantKey,
      });
      return /\btest\b/.test(out) ? out : undefined;
    }, "the test attempt listed");
    expect(listed).toMatch(/evt_test_\w+\s+\S+\s+1\s+test\s+succeeded\s+204/);
  });

  it("disables, enables and deletes an endpoint", async () => {
    expect(await ok(["endpoints", "disable", endpointId, "--tenant", "acme"], { key: tenantKey })).toBe(
      `endpoint ${endpointId} disabled\n`,
    );
    expect(await ok(["endpoints", "get", endpointId, "--tenant", "acme"], { key: tenantKey })).toMatch(
      /state:\s+disabled \(manual\)/,
    );
    expect(await ok(["endpoints", "enable", endpointId, "--tenant", "acme"], { key: tenantKey })).toBe(
      `endpoint ${endpointId} enabled\n`,
    );
    expect(await ok(["endpoints", "delete", endpointId, "--tenant", "acme"], { key: tenantKey })).toBe(
      `endpoint ${endpointId} deleted\n`,
    );
    const gone = await herald(["endpoints", "get", endpointId, "--tenant", "acme"], { key: tenantKey });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^herald: not found: .*\n$/);
  });

  it("fails in one line with exit 1 on a bad key or an unknown id", async () => {
    const bad = await herald(["tenants", "list"], { key: "hk_000000000000000000_not-a-real-secret" });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toMatch(/^herald: unauthenticated: [^\n]+\n$/);
    expect(bad.stderr).not.toContain("not-a-real-secret");

    const unknown = await herald(["tenants", "get", "no-such-tenant"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^herald: not found: [^\n]*no-such-tenant[^\n]*\n$/);

    const event = await herald(["events", "get", "no-such-event", "--tenant", "acme"]);
    expect(event.code).toBe(1);
    expect(event.stderr).toMatch(/^herald: not found: /);

    const denied = await herald(["tenants", "list"], { key: tenantKey });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^herald: permission denied: /);
  });

  it("revokes a key: it stops working", async () => {
    expect(await ok(["keys", "revoke", tenantKeyId])).toBe(`API key ${tenantKeyId} revoked\n`);
    expect(await ok(["keys", "list", "--tenant", "acme"])).toMatch(new RegExp(`${tenantKeyId}.*revoked`));
    const revoked = await eventually(async () => {
      const result = await herald(["endpoints", "list", "--tenant", "acme"], { key: tenantKey });
      return result.code === 1 ? result : undefined;
    }, "revoked key refused");
    expect(revoked.stderr).toMatch(/^herald: unauthenticated: /);
  });

  it("disables, enables and deletes the tenant", async () => {
    expect(await ok(["tenants", "disable", "acme"])).toBe("tenant acme disabled\n");
    expect((await json<{ tenant: { disabled: boolean } }>(["tenants", "get", "acme"])).tenant.disabled).toBe(
      true,
    );
    expect(await ok(["tenants", "enable", "acme"])).toBe("tenant acme enabled\n");
    const unconfirmed = await herald(["tenants", "delete", "acme"]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/pass --yes to confirm when not at a terminal/);
    expect(await json(["tenants", "delete", "acme", "--yes"])).toEqual({});
    const gone = await herald(["tenants", "get", "acme"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^herald: not found: /);
  });
});
