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

  it("creates an endpoint, with the URL policy's answer as the URL is typed and on save", async () => {
    const url = page.locator("input[name=url]");
    await url.fill("ftp://example.com");
    expect(await page.locator("#url-hint").textContent()).toContain("Only https://");
    await url.fill("https://10.0.0.1/hook");
    expect(await page.locator("#url-hint").textContent()).toContain("private");
    await page.getByRole("button", { name: "Add endpoint" }).click();
    // 10.0.0.1 is not in the test allowlist: the server's policy refuses it.
    expect(await page.getByRole("alert").textContent()).toMatch(/url/i);

    await url.fill(receiver.url);
    await page.locator("input[name=event-types]").fill("invoice.*");
    await page.getByRole("button", { name: "Add endpoint" }).click();
    await page.getByRole("heading", { name: "Endpoint", level: 1, exact: true }).waitFor();
    endpointId = decodeURIComponent(page.url().split("/").at(-1) ?? "");
    expect(endpointId).toMatch(/^ep_/);
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

  it("sends a test event from the endpoint page and shows the answer as text", async () => {
    // The catalog gives the type picker its type and the payload editor its example.
    await client(EventTypeService, "routing", acme.fullKey).createEventType({
      tenantId: "pt-acme",
      name: "invoice.paid",
      examples: ['{"invoice": 7}'],
    });
    await page.reload();
    await page.getByRole("heading", { name: "Send test event" }).waitFor();
    expect(await page.locator("select[name=test-type]").inputValue()).toBe("invoice.paid");
    expect(await page.locator("textarea[name=test-payload]").inputValue()).toBe('{\n  "invoice": 7\n}');
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
    expect(JSON.parse(sent?.body.toString() ?? "")).toEqual({ invoice: 7 });
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
        ];
      },
      { other: otherEndpointId },
    );
    expect(answers).toEqual(["permission_denied", "permission_denied", "not_found", "unimplemented"]);
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
