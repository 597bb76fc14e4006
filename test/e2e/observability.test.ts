import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcIngestClient } from "./support/clients.js";
import { createEndpoint, createTenant, eventually } from "./support/fixtures.js";
import { type Receiver, startReceiver } from "./support/receiver.js";
import { REPO_ROOT, SERVICES, type ServiceName, type Stack, startStack } from "./support/stack.js";

// What deploy/ ships is checked against what live services export: a renamed metric must not leave a
// dashboard panel empty or an alert silent.
const DEPLOY = join(REPO_ROOT, "deploy");
const ALERTS = readFileSync(join(DEPLOY, "prometheus/alerts.yml"), "utf8");
const ALERT_TESTS = readFileSync(join(DEPLOY, "prometheus/alerts.test.yml"), "utf8");
const GUIDE = readFileSync(join(REPO_ROOT, "docs/operator-guide.md"), "utf8");

/** Every PromQL expression of the Grafana dashboards. */
function dashboardExpressions(): string[] {
  const exprs: string[] = [];
  const dir = join(DEPLOY, "grafana");
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
    const dashboard = JSON.parse(readFileSync(join(dir, file), "utf8")) as {
      panels: Array<{ targets?: Array<{ expr: string }> }>;
      templating: { list: Array<{ definition?: string }> };
    };
    for (const panel of dashboard.panels) for (const target of panel.targets ?? []) exprs.push(target.expr);
    for (const variable of dashboard.templating.list)
      if (variable.definition) exprs.push(variable.definition);
  }
  return exprs;
}

/** Herald's metric names in PromQL text (Prometheus's own `up` aside). */
function heraldMetricNames(text: string): string[] {
  return [...new Set(text.match(/\bherald_[a-z0-9_]+/g) ?? [])];
}

/** The metric families a /metrics text declares, by name, with their type. */
function families(exposition: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm))
    found.set(match[1] as string, match[2] as string);
  return found;
}

/** The family a series name belongs to: a histogram's `_bucket`, `_count` and `_sum` are its own. */
function familyOf(name: string, declared: Map<string, string>): string {
  const base = name.replace(/_(bucket|count|sum)$/, "");
  return declared.has(name) ? name : declared.get(base) === "histogram" ? base : name;
}

describe("what deploy/ ships", () => {
  it("has a unit test and an operator guide section for every alert", () => {
    const alerts = [...ALERTS.matchAll(/- alert: (\w+)/g)].map((m) => m[1] as string);
    expect(alerts.length).toBeGreaterThanOrEqual(6);
    const headings = new Set([...GUIDE.matchAll(/^#+ (.+)$/gm)].map((m) => (m[1] as string).toLowerCase()));
    const runbooks = [...ALERTS.matchAll(/runbook_url: docs\/operator-guide\.md#(\S+)/g)].map((m) => m[1]);
    expect(runbooks).toHaveLength(alerts.length);
    for (const alert of alerts) {
      expect(ALERT_TESTS, `a test of ${alert}`).toContain(`alertname: ${alert}`);
      expect(headings.has(alert.toLowerCase()), `a guide section "### ${alert}"`).toBe(true);
      expect(runbooks).toContain(alert.toLowerCase());
    }
  });
});

describe("metrics of a live stack", () => {
  let stack: Stack;
  let receiver: Receiver;
  let promtool: string;
  const scraped = {} as Record<ServiceName, string>;

  beforeAll(async () => {
    // Built once and cached (npm test builds it before the tests); a first build takes minutes.
    promtool = execFileSync("bash", [join(REPO_ROOT, "scripts/promtool.sh")], { encoding: "utf8" }).trim();
    stack = await startStack();
    receiver = await startReceiver();
  }, 900_000);

  afterAll(async () => {
    await receiver?.close();
    await stack?.stop();
  });

  it("exports, after a little traffic, every metric the dashboards and alert rules name", async () => {
    const tenant = await createTenant(stack, "observed");
    // One endpoint fails once then succeeds (a retry hop), one answers 410 (gone); an event of another
    // type matches no endpoint.
    let okCalls = 0;
    receiver.reply = (request) => {
      if (request.headers["x-kind"] === "gone") return { status: 410 };
      okCalls++;
      return okCalls === 1 ? { status: 500 } : { status: 204 };
    };
    await createEndpoint(tenant, receiver.url, { eventTypes: ["order.paid"], retrySchedule: [1_000] });
    await createEndpoint(tenant, receiver.url, { eventTypes: ["order.paid"], headers: { "x-kind": "gone" } });
    const client = grpcIngestClient(`127.0.0.1:${stack.ports.ingest}`);
    try {
      for (const eventType of ["order.paid", "order.refunded"])
        await client.publishEvent(
          { tenant_id: tenant.id, event: { event_type: eventType, payload: Buffer.from("{}") } },
          tenant.publishKey,
        );
      await expect(
        client.publishEvent(
          { tenant_id: tenant.id, event: { event_type: "x", payload: Buffer.from("{}") } },
          "nope",
        ),
      ).rejects.toThrow();
    } finally {
      client.close();
    }
    await receiver.waitFor(3);
    /** The value of the series `name{labels}` (its labels in any order, the service label aside), else NaN. */
    const value = (service: ServiceName, series: string) => {
      const [, name, labels = ""] = /^([^{]+)(?:\{(.*)\})?$/.exec(series) ?? [];
      const wanted = labels.split(",").filter((l) => l !== "" && !l.startsWith("service="));
      const line = scraped[service]?.split("\n").find((l) => {
        const found = /^([^{ ]+)(?:\{(.*)\})? /.exec(l);
        if (!found || found[1] !== name) return false;
        const have = (found[2] ?? "").split(",");
        return (
          wanted.every((w) => have.includes(w)) &&
          have.filter((h) => !h.startsWith("service=")).length === wanted.length
        );
      });
      return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : Number.NaN;
    };
    const scrape = async () => {
      for (const service of SERVICES)
        scraped[service] = await (await fetch(`${stack.url(service)}/metrics`)).text();
    };
    await eventually(
      async () => {
        await scrape();
        return value("delivery", 'herald_deliveries_total{outcome="succeeded",service="delivery"}') === 1 &&
          value("audit", 'herald_queue_messages_ready{queue="herald.parked.recent",service="audit"}') >= 0 &&
          value("routing", 'herald_events_routed_total{result="unmatched",service="routing"}') === 3
          ? true
          : undefined;
      },
      20_000,
      "the retried delivery to succeed",
    );

    // The figures follow the traffic.
    expect(value("routing", 'herald_events_routed_total{result="matched",service="routing"}')).toBe(1);
    // order.refunded, and Herald's two operational events (herald.endpoint.failing on the first 500,
    // herald.endpoint.disabled on the 410), which no endpoint here subscribes to.
    expect(value("routing", 'herald_events_routed_total{result="unmatched",service="routing"}')).toBe(3);
    expect(value("routing", 'herald_event_fanout_endpoints_sum{service="routing"}')).toBe(2);
    expect(value("delivery", 'herald_deliveries_total{outcome="gone",service="delivery"}')).toBe(1);
    expect(value("delivery", 'herald_delivery_hops_total{hop="retry_scheduled",service="delivery"}')).toBe(1);
    expect(
      value("delivery", 'herald_delivery_latency_seconds_count{attempt="retry",service="delivery"}'),
    ).toBe(1);
    expect(
      value(
        "delivery",
        'herald_attempt_duration_seconds_count{outcome="failed",status_class="5xx",service="delivery"}',
      ),
    ).toBe(1);
    const publish = 'method="herald.v1.IngestService/PublishEvent"';
    expect(
      value("ingest", `herald_rpc_server_duration_seconds_count{${publish},code="OK",service="ingest"}`),
    ).toBe(2);
    expect(
      value(
        "ingest",
        `herald_rpc_server_duration_seconds_count{${publish},code="UNAUTHENTICATED",service="ingest"}`,
      ),
    ).toBe(1);
    expect(
      value("routing", 'herald_queue_consumers{queue="routing.events",service="routing"}'),
    ).toBeGreaterThan(0);
    expect(
      value("delivery", 'herald_queue_messages_ready{queue="herald.retry.1000ms",service="delivery"}'),
    ).toBe(0);

    // Every metric named in deploy/ is a family some service declares.
    const declared = new Map<string, string>();
    for (const service of SERVICES)
      for (const [name, type] of families(scraped[service])) declared.set(name, type);
    const named = heraldMetricNames([...dashboardExpressions(), ALERTS].join("\n"));
    expect(named.length).toBeGreaterThan(20);
    const missing = named.filter((name) => !declared.has(familyOf(name, declared)));
    expect(missing).toEqual([]);

    // And Prometheus's own linter accepts what every service serves.
    for (const service of SERVICES) {
      const problems = (() => {
        try {
          execFileSync(promtool, ["check", "metrics"], { input: scraped[service], encoding: "utf8" });
          return "";
        } catch (err) {
          return `${(err as { stdout?: string }).stdout ?? ""}${(err as { stderr?: string }).stderr ?? ""}`;
        }
      })();
      expect(problems, `promtool check metrics on ${service}`).toBe("");
    }
  });
});
