import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuditService, EventTypeService, PortalService } from "@herald/contracts";
import { TEST_ADMIN_KEY } from "@herald/platform/testing";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GrpcIngestClient, grpcIngestClient } from "./support/clients.js";
import { createEndpoint, createTenant, eventually, type TestTenant } from "./support/fixtures.js";
import { type Receiver, startReceiver } from "./support/receiver.js";
import { freePort, REPO_ROOT, type Stack, startStack } from "./support/stack.js";

// The tenant portal in real Chromium (Debian's /usr/bin/chromium, driven by playwright-core) against the
// four services and the portal server as processes. One browser, one stack; the tests build on each
// other (link → endpoint → event → attempts → replay → secret). Screenshots go to docs/portal/.

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOTS = join(REPO_ROOT, "docs/portal");
const HOSTILE_PAYLOAD = JSON.stringify({
  note: "<img src=x onerror=alert('payload')>",
  script: "<script>alert('payload')</script>",
  amount: 42,
  // Over the services' compression threshold (1 KiB): the portal's entry must pass such answers intact.
  lines: Array.from({ length: 14 }, (_, i) => ({
    sku: `SKU-${1000 + i}`,
    quantity: i + 1,
    unit_cents: 1250,
  })),
});
const HOSTILE_RESPONSE = "<img src=x onerror=alert('response')><script>alert('response')</script>";

let stack: Stack;
let portal: ChildProcess;
let portalUrl = "";
let receiver: Receiver;
let acme: TestTenant;
let otherEndpointId = "";
let ingest: GrpcIngestClient;
let profile = "";
let browser: BrowserContext;
let page: Page;
let linkUrl = "";
let endpointId = "";
let eventId = "";
const dialogs: string[] = [];
const cspViolations: string[] = [];

function cli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(REPO_ROOT, "apps/cli/dist/main.js"), ...args],
      {
        env: {
          PATH: process.env.PATH ?? "",
          HERALD_API_KEY: TEST_ADMIN_KEY,
          HERALD_ROUTING_URL: stack.url("routing"),
          HERALD_PORTAL_URL: portalUrl,
        },
      },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

async function startPortal(): Promise<void> {
  const port = await freePort();
  portalUrl = `http://127.0.0.1:${port}`;
  portal = spawn(process.execPath, [join(REPO_ROOT, "apps/portal/dist/server/main.js")], {
    env: {
      PATH: process.env.PATH ?? "",
      PORTAL_PORT: String(port),
      HERALD_ROUTING_URL: stack.url("routing"),
      HERALD_AUDIT_URL: stack.url("audit"),
      HERALD_ADMIN_KEY: TEST_ADMIN_KEY,
    },
    stdio: "ignore",
  });
  await eventually(
    async () => ((await fetch(`${portalUrl}/healthz`)).ok ? true : undefined),
    15_000,
    "portal up",
  );
}

/** A Connect client of one service, with `token` when given. */
function client<S extends Parameters<typeof createClient>[0]>(
  service: S,
  to: "routing" | "audit",
  token?: string,
) {
  const bearer: Interceptor = (next) => (req) => {
    if (token) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  return createClient(
    service,
    createConnectTransport({ baseUrl: stack.url(to), httpVersion: "1.1", interceptors: [bearer] }),
  );
}

/** axe-core in the page (evaluated over the DevTools protocol, which the page's CSP does not govern). */
const axeSource = readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

async function seriousViolations(): Promise<string[]> {
  await page.evaluate(await axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> };
      }
    ).axe;
    return (await axe.run()).violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.nodes})`);
}

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Presses Tab until the focused element matches `selector`: the page is usable without a mouse. */
async function tabTo(selector: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) === true`)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached ${selector}`);
}

/** Replaces the focused input's text by typing, as a keyboard user would. */
async function retype(text: string): Promise<void> {
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.press("Backspace");
  await page.keyboard.type(text);
}

/** Clicks "Refresh" until `selector` matches at least `count` elements. */
async function refreshUntil(selector: string, count: number): Promise<void> {
  await eventually(
    async () => {
      if ((await page.locator(selector).count()) >= count) return true;
      await page.getByRole("button", { name: "Refresh" }).click();
      await page.waitForTimeout(300);
      return undefined;
    },
    20_000,
    `${count} of ${selector}`,
  );
}

beforeAll(async () => {
  stack = await startStack();
  receiver = await startReceiver();
  receiver.reply = () => ({ status: 200, headers: { "content-type": "text/html" }, body: HOSTILE_RESPONSE });
  acme = await createTenant(stack, "pt-acme", {
    portal: { frameAncestors: ["https://app.example.com"], brandColor: "#6d28d9" },
  });
  const other = await createTenant(stack, "pt-other");
  otherEndpointId = (await createEndpoint(other, receiver.url)).id;
  ingest = grpcIngestClient(`127.0.0.1:${stack.ports.ingest}`);
  await startPortal();
  profile = await mkdtemp(join(tmpdir(), "herald-portal-chromium-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    viewport: { width: 1200, height: 800 },
  });
  page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) cspViolations.push(message.text());
  });
});

afterAll(async () => {
  await browser?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
  portal?.kill("SIGTERM");
  ingest?.close();
  await receiver?.close();
  await stack?.stop();
});

describe("the tenant portal in Chromium", () => {
  it("opens from a one-time link, framed only by the tenant's origins", async () => {
    const minted = JSON.parse(await cli(["--json", "portal", "link", "--tenant", "pt-acme"])) as {
      url: string;
    };
    linkUrl = minted.url;
    expect(linkUrl).toMatch(new RegExp(`^${portalUrl}/t/pt-acme/#code=hpl_`));
    const response = await page.goto(linkUrl);
    const csp = response?.headers()["content-security-policy"] ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors https://app.example.com");
    expect(csp).not.toContain("unsafe-inline");
    await page.getByRole("heading", { name: "Endpoints", level: 1, exact: true }).waitFor();
    // The code leaves the address bar once exchanged.
    expect(page.url()).not.toContain("code=");
    // The tenant's name and brand colour, read with the session's own key.
    await page.locator("header.top").getByText("Tenant pt-acme").waitFor();
    expect(
      await page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--brand')"),
    ).toBe("#6d28d9");
  });

  it("creates an endpoint by keyboard, with the URL policy's answer as the URL is typed", async () => {
    const hint = page.locator("#url-hint");
    const answer = (text: string | RegExp) =>
      expect.poll(() => hint.textContent(), { timeout: 10_000 }).toMatch(text);
    await tabTo("input[name=url]");
    await page.keyboard.type("ftp://example.com");
    await answer('Refused: scheme "ftp" is not supported');
    await retype("https://10.0.0.1/hook");
    // 10.0.0.1 is not in the test allowlist: routing's policy refuses it, as typed and on save.
    await answer('Refused: host "10.0.0.1" is a private address');
    await screenshot("endpoint-create");
    await page.keyboard.press("Enter");
    expect(await page.getByRole("alert").textContent()).toMatch(/url: host "10\.0\.0\.1"/);

    await retype(receiver.url);
    await answer("Herald may deliver to this URL.");
    await tabTo("input[name=event-types]");
    await page.keyboard.type("invoice.*");
    await tabTo("form[aria-label='Add an endpoint'] button[type=submit]");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Endpoint", level: 1, exact: true }).waitFor();
    endpointId = decodeURIComponent(page.url().split("/").at(-1) ?? "");
    expect(endpointId).toMatch(/^ep_/);
    // Checking as typed created nothing: the tenant has this one endpoint.
    const { endpoints } = await acme.clients.endpoints.listEndpoints({ tenantId: "pt-acme" });
    expect(endpoints.map((e) => e.id)).toEqual([endpointId]);
    expect(await seriousViolations()).toEqual([]);
  });

  it("shows a published event in the log and its page, hostile content as text", async () => {
    const published = await ingest.publishEvent(
      { tenant_id: "pt-acme", event: { event_type: "invoice.paid", payload: Buffer.from(HOSTILE_PAYLOAD) } },
      acme.publishKey,
    );
    eventId = published.event_id;
    await receiver.waitFor(1);

    await page.getByRole("link", { name: "Message log" }).click();
    await page.getByRole("heading", { name: "Message log" }).waitFor();
    await page.locator(`[data-testid=event] >> text=${eventId}`).waitFor();
    expect(await seriousViolations()).toEqual([]);
    await screenshot("events");

    await page.getByRole("link", { name: eventId }).click();
    await page.locator("[data-testid=payload]").waitFor();
    expect(await page.locator("[data-testid=payload]").textContent()).toContain(
      "<img src=x onerror=alert('payload')>",
    );
    await refreshUntil("[data-testid=attempt]", 1);
    expect(await page.locator("[data-testid=attempt]").first().textContent()).toContain(HOSTILE_RESPONSE);
    // Shown as text: no element was made from it and nothing ran.
    expect(await page.locator("main img, main script").count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(await seriousViolations()).toEqual([]);
    await screenshot("event");
  });

  it("replays the event to its endpoint", async () => {
    await page.getByRole("button", { name: `Send again to ${endpointId}` }).click();
    await receiver.waitFor(2);
    expect(receiver.requests[1]?.headers["webhook-id"]).toBe(eventId);
    await refreshUntil("[data-testid=attempt]", 2);
    expect(await page.locator("[data-testid=attempt]").first().textContent()).toContain("(replay)");
  });

  it("reveals and rotates the signing secret", async () => {
    await page.getByRole("link", { name: endpointId }).first().click();
    await page.getByRole("button", { name: "Reveal secret" }).click();
    await page.locator("[data-testid=secret]").first().waitFor();
    const before = await page.locator("[data-testid=secret]").allTextContents();
    expect(before).toHaveLength(1);
    expect(before[0]).toMatch(/^whsec_/);
    await page.getByRole("button", { name: "Rotate secret" }).click();
    await page.getByRole("status").filter({ hasText: "Rotated" }).waitFor();
    const after = await page.locator("[data-testid=secret]").allTextContents();
    // The old secret stays valid during the overlap, beside the new one.
    expect(after).toHaveLength(2);
    expect(after).toContain(before[0]);
    expect(await seriousViolations()).toEqual([]);
    await screenshot("endpoint");
  });

  it("shows the event catalog with schemas and examples, by keyboard", async () => {
    const types = client(EventTypeService, "routing", TEST_ADMIN_KEY);
    await types.createEventType({
      tenantId: "pt-acme",
      name: "invoice.paid",
      description: "An invoice was paid. <img src=x onerror=alert('catalog')>",
      schema: JSON.stringify({
        type: "object",
        required: ["amount"],
        properties: { amount: { type: "integer", description: "in cents" } },
      }),
      examples: [JSON.stringify({ amount: 4200 })],
      validatePayloads: true,
    });
    await types.createEventType({ tenantId: "pt-acme", name: "invoice.voided", deprecated: true });
    await types.createEventType({ tenantId: "pt-acme", name: "legacy.ping", description: "Old" });
    await types.archiveEventType({ tenantId: "pt-acme", name: "legacy.ping" });
    await types.createEventType({ tenantId: "pt-other", name: "other.secret" });

    await tabTo("nav a[href$='/event-types']");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Event catalog", level: 1 }).waitFor();
    // The tenant's own types; Herald's built-in operational types (herald.*) are listed too.
    const rows = page.locator("[data-testid=event-type]").filter({ hasNotText: "herald." });
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.allTextContents()).toEqual([
      expect.stringContaining("invoice.paid"),
      expect.stringMatching(/invoice\.voided.*deprecated/),
    ]);
    await tabTo("input[name=include-archived]");
    await page.keyboard.press("Space");
    await expect.poll(() => rows.count()).toBe(3);
    expect(await rows.last().textContent()).toMatch(/legacy\.ping.*archived/);
    expect(await seriousViolations()).toEqual([]);
    await screenshot("event-catalog");

    await tabTo("a[href$='/event-types/invoice.paid']");
    await page.keyboard.press("Enter");
    await page.locator("[data-testid=schema]").waitFor();
    expect(JSON.parse((await page.locator("[data-testid=schema]").textContent()) ?? "")).toMatchObject({
      required: ["amount"],
    });
    expect(await page.locator("[data-testid=example]").allTextContents()).toEqual([
      JSON.stringify({ amount: 4200 }, null, 2),
    ]);
    expect(await page.locator("main").textContent()).toContain("<img src=x onerror=alert('catalog')>");
    expect(await page.locator("main img, main script").count()).toBe(0);
    expect(await seriousViolations()).toEqual([]);
    await screenshot("event-type");
  });

  it("charts each endpoint's health: success rate, latency, circuit", async () => {
    await tabTo("nav a[href$='/health']");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Endpoint health", level: 1 }).waitFor();
    const section = page.locator("[data-testid=endpoint-health]").filter({ hasText: receiver.url });
    const hourCells = section.locator("[data-testid=health-window]").first().locator("td");
    // Two attempts were made (the delivery and the replay); the rollups count them as audit records them.
    await eventually(
      async () => {
        if ((await hourCells.count()) > 0 && (await hourCells.first().textContent()) === "2") return true;
        await tabTo("main button.secondary");
        await page.keyboard.press("Enter");
        await page.waitForTimeout(300);
        return undefined;
      },
      20_000,
      "two attempts in the last hour",
    );
    expect((await hourCells.allTextContents()).slice(0, 4)).toEqual(["2", "2", "0", "100 %"]);
    expect(await section.textContent()).toContain("closed: the latest attempt succeeded");
    const charts = section.locator("svg[role=img]");
    expect(await charts.count()).toBe(3);
    expect(await charts.first().locator("title").textContent()).toBe(
      "Success rate. 1 h: 100 % of 2; 24 h: 100 % of 2; 7 d: 100 % of 2.",
    );
    expect(await charts.nth(1).locator("title").textContent()).toMatch(/^Latency\. 1 h: p50 \d+ ms/);
    // Over time: 12 five-minute points in the hour, 24 hourly in the day, 28 of 6 hours in the week; the
    // two attempts fall in one or two of them (a bucket's end may lie between them).
    expect(await charts.last().locator("title").textContent()).toMatch(
      /^Over time\. 1 h: attempts in [12] of 12 5-minute points, success rate 100 % to 100 %, p95 up to \d+ ms; 24 h: attempts in [12] of 24 1-hour points, .*; 7 d: attempts in [12] of 28 6-hour points, /,
    );
    const series = charts.last().locator("[data-testid=health-series]");
    expect(await series.evaluateAll((rows) => rows.map((g) => g.getAttribute("data-slots")))).toEqual([
      "12",
      "24",
      "28",
    ]);
    expect(await seriousViolations()).toEqual([]);
    await screenshot("health");

    // The endpoint's own page shows the same.
    await section.getByRole("link").click();
    await page.getByRole("heading", { name: "Health", level: 2 }).waitFor();
    await page.locator("[data-testid=health-window]").first().waitFor();
    expect(
      await page.locator("[data-testid=health-window]").first().locator("td").first().textContent(),
    ).toBe("2");
  });

  it("sends a test event from the endpoint page and shows the answer as text", async () => {
    // The catalog (made by the catalog test above) gives the payload editor the type's example.
    await page.goto(`${portalUrl}/t/pt-acme/endpoints/${endpointId}`);
    await page.getByRole("heading", { name: "Send test event" }).waitFor();
    await page.locator("select[name=test-type]").selectOption("invoice.paid");
    expect(await page.locator("textarea[name=test-payload]").inputValue()).toBe('{\n  "amount": 4200\n}');
    const before = receiver.requests.length;
    await page.getByRole("button", { name: "Send test event" }).click();
    const answer = page.locator("[data-testid=test-answer]");
    await answer.waitFor();
    expect(await answer.textContent()).toMatch(/Resultdelivered.*Status200/);
    expect(await page.locator("[data-testid=test-headers]").textContent()).toContain(
      "content-type: text/html",
    );
    // The receiver's hostile body is shown as text: no element made, nothing ran.
    expect(await page.locator("[data-testid=test-body]").textContent()).toBe(HOSTILE_RESPONSE);
    expect(await page.locator("main img, main script").count()).toBe(0);
    expect(dialogs).toEqual([]);
    const sent = receiver.requests[before];
    expect(sent?.headers["webhook-test"]).toBe("true");
    expect(JSON.parse(sent?.body.toString() ?? "")).toEqual({ amount: 4200 });
    expect(await seriousViolations()).toEqual([]);
    await screenshot("send-test");
    // The attempt log has it, marked as a test (audit writes it a moment later).
    await eventually(
      async () => {
        if ((await page.locator("[data-testid=attempt]", { hasText: "(test)" }).count()) >= 1) return true;
        await page.reload();
        await page.getByRole("heading", { name: "Recent attempts" }).waitFor();
        return undefined;
      },
      20_000,
      "the test attempt listed",
    );
    // Its webhook-id names no stored event, so it links nowhere.
    const row = page.locator("[data-testid=attempt]", { hasText: "(test)" }).first();
    expect(await row.getByRole("link").count()).toBe(0);
    expect(await row.textContent()).toContain("evt_test_");
  });

  it("refuses another tenant's ids, in the page and on the wire", async () => {
    await page.goto(`${portalUrl}/t/pt-acme/endpoints/${otherEndpointId}`);
    expect(await page.getByRole("alert").textContent()).toContain("not found");
    const answers = await page.evaluate(
      async ({ other }) => {
        const session = JSON.parse(sessionStorage.getItem("herald-portal:pt-acme") ?? "{}") as {
          token: string;
        };
        const call = async (method: string, body: object) => {
          const res = await fetch(`/rpc/${method}`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${session.token}` },
            body: JSON.stringify(body),
          });
          return ((await res.json()) as { code?: string }).code ?? "ok";
        };
        return [
          await call("herald.v1.EndpointService/ListEndpoints", { tenantId: "pt-other" }),
          await call("herald.v1.AuditService/ListEvents", { tenantId: "pt-other" }),
          await call("herald.v1.EndpointService/GetEndpointSecret", {
            tenantId: "pt-acme",
            endpointId: other,
          }),
          await call("herald.v1.ApiKeyService/ListApiKeys", {}),
          await call("herald.v1.EventTypeService/ListEventTypes", { tenantId: "pt-other" }),
          await call("herald.v1.AuditService/ListEndpointHealth", { tenantId: "pt-other" }),
          await call("herald.v1.AuditService/GetEndpointHealth", { tenantId: "pt-acme", endpointId: other }),
          await call("herald.v1.EventTypeService/CreateEventType", { tenantId: "pt-acme", name: "a.b" }),
        ];
      },
      { other: otherEndpointId },
    );
    expect(answers).toEqual([
      "permission_denied",
      "permission_denied",
      "not_found",
      "unimplemented",
      "permission_denied",
      "permission_denied",
      "not_found",
      "unimplemented",
    ]);
  });

  it("limits a session to its endpoints and to reading, in routing and audit", async () => {
    const { endpoint: second } = await acme.clients.endpoints.createEndpoint({
      tenantId: "pt-acme",
      url: receiver.url,
    });
    const { code } = await client(PortalService, "routing", TEST_ADMIN_KEY).createPortalLink({
      tenantId: "pt-acme",
      endpointIds: [second?.id ?? ""],
      readOnly: true,
    });
    const { token } = await client(PortalService, "routing").exchangePortalLink({ code });
    const audit = client(AuditService, "audit", token);
    expect((await audit.listAttempts({ tenantId: "pt-acme" })).attempts).toEqual([]);
    const seen = await audit.getEvent({ tenantId: "pt-acme", eventId });
    expect(seen.deliveries).toEqual([]);
    expect(seen.event?.endpointIds).toEqual([]);
    await expect(audit.listAttempts({ tenantId: "pt-acme", endpointId })).rejects.toThrow(
      /may not access endpoint/,
    );
    await expect(
      audit.redeliver({ tenantId: "pt-acme", eventId, endpointId: second?.id ?? "" }),
    ).rejects.toThrow(/read-only/);
    // Health only of its endpoints; the catalog as any key of the tenant reads it.
    const health = await audit.listEndpointHealth({ tenantId: "pt-acme" });
    expect(health.endpoints.map((h) => h.endpointId)).toEqual([second?.id]);
    await expect(audit.getEndpointHealth({ tenantId: "pt-acme", endpointId })).rejects.toThrow(
      /may not access endpoint/,
    );
    const catalog = await client(EventTypeService, "routing", token).listEventTypes({ tenantId: "pt-acme" });
    expect(catalog.eventTypes.map((t) => t.name).filter((name) => !name.startsWith("herald."))).toEqual([
      "invoice.paid",
      "invoice.voided",
    ]);
  });

  it("opens a link only once, and themes light and dark", async () => {
    const reuse = await browser.newPage();
    await reuse.goto(linkUrl);
    await reuse.getByText("unknown, used or expired").waitFor();
    await reuse.close();

    await page.goto(`${portalUrl}/t/pt-acme/events/${eventId}`);
    await page.locator("[data-testid=payload]").waitFor();
    await page.getByRole("button", { name: "Use the dark theme" }).click();
    expect(await page.locator("html").getAttribute("data-theme")).toBe("dark");
    await refreshUntil("[data-testid=attempt]", 2);
    expect(await seriousViolations()).toEqual([]);
    await screenshot("event-dark");
    await page.getByRole("button", { name: "Use the light theme" }).click();
    await page.goto(`${portalUrl}/t/pt-acme/endpoints`);
    await page.locator(`text=${receiver.url}`).first().waitFor();
    await screenshot("endpoints");
    expect(cspViolations).toEqual([]);
    expect(dialogs).toEqual([]);
  });
});
