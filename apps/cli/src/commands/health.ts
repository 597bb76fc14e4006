import { create } from "@bufbuild/protobuf";
import {
  CircuitState,
  type EndpointHealth,
  GetEndpointHealthResponseSchema,
  HealthWindow,
  ListEndpointHealthResponseSchema,
} from "@herald/contracts";
import type { Command } from "commander";
import { type Bind, idArg } from "../command.js";
import { errorClassName, formatTime, NONE, renderFields, renderTable } from "../format.js";
import { printList } from "../pages.js";

const WINDOW_NAMES: Record<HealthWindow, string> = {
  [HealthWindow.HEALTH_WINDOW_UNSPECIFIED]: "?",
  [HealthWindow.HEALTH_WINDOW_1H]: "1h",
  [HealthWindow.HEALTH_WINDOW_24H]: "24h",
  [HealthWindow.HEALTH_WINDOW_7D]: "7d",
};

const CIRCUIT_NAMES: Record<CircuitState, string> = {
  [CircuitState.UNSPECIFIED]: NONE,
  [CircuitState.UNKNOWN]: "unknown (no attempt in 7d)",
  [CircuitState.CLOSED]: "closed (latest attempt succeeded)",
  [CircuitState.MAYBE_OPEN]: "maybe open (latest attempt failed)",
};

/** An endpoint's health: one row per window, then the figures that are not per window. */
export function healthDetails(health: EndpointHealth | undefined): string {
  if (!health) return NONE;
  const rows = health.windows.map((w) => {
    const s = w.statusClasses;
    return [
      WINDOW_NAMES[w.window] ?? "?",
      String(w.attempts),
      String(w.succeeded),
      String(w.failed),
      w.attempts === 0n ? NONE : `${(w.successRate * 100).toFixed(1)}%`,
      s ? `${s.status2xx}/${s.status3xx}/${s.status4xx}/${s.status5xx}/${s.noResponse}` : NONE,
      w.attempts === 0n ? NONE : `${w.latencyP50Ms}/${w.latencyP95Ms}/${w.latencyP99Ms}`,
      w.failures.length === 0
        ? NONE
        : w.failures.map((f) => `${errorClassName(f.errorClass)} ${f.count}`).join(", "),
    ];
  });
  const table = renderTable(
    ["window", "attempts", "ok", "failed", "success", "2xx/3xx/4xx/5xx/none", "p50/p95/p99 ms", "failures"],
    rows,
  );
  const fields = renderFields([
    ["last success", formatTime(health.lastSuccessTime)],
    ["last failure", formatTime(health.lastFailureTime)],
    ["circuit", CIRCUIT_NAMES[health.circuitState] ?? NONE],
    [
      "backlog",
      health.backlogTime
        ? `${health.backlog} awaiting a retry (counted ${formatTime(health.backlogTime)})`
        : NONE,
    ],
    ["latency error", `within ${(health.latencyRelativeError * 100).toFixed(1)}%`],
  ]);
  return `${table}\n\n${fields}`;
}

/** One line per endpoint: its last day, and the figures that are not per window. */
export function healthRows(endpoints: readonly EndpointHealth[]): string {
  return renderTable(
    ["endpoint", "24h attempts", "success", "p95 ms", "last failure", "circuit", "backlog"],
    endpoints.map((h) => {
      const day = h.windows.find((w) => w.window === HealthWindow.HEALTH_WINDOW_24H);
      const attempts = day?.attempts ?? 0n;
      return [
        h.endpointId,
        String(attempts),
        attempts === 0n ? NONE : `${((day?.successRate ?? 0) * 100).toFixed(1)}%`,
        attempts === 0n ? NONE : String(day?.latencyP95Ms ?? 0),
        formatTime(h.lastFailureTime),
        (CIRCUIT_NAMES[h.circuitState] ?? NONE).split(" (")[0] ?? NONE,
        h.backlogTime ? String(h.backlog) : NONE,
      ];
    }),
  );
}

/** Audit's largest ListEndpointHealth page. */
const HEALTH_PAGE_SIZE = 20;

export function registerHealthCommand(endpoints: Command, bind: Bind): void {
  endpoints
    .command("health")
    .description(
      "an endpoint's attempts, success rate, latency and backlog over 1h, 24h and 7d; without an id, every endpoint's",
    )
    .argument("[id]", "endpoint id")
    .requiredOption("--tenant <id>", "tenant id")
    .action(
      bind<{ tenant: string }>(async (ctx, args, options) => {
        if (args[0] !== undefined) {
          const res = await ctx.clients.audit.getEndpointHealth({
            tenantId: options.tenant,
            endpointId: idArg(args),
          });
          ctx.output(GetEndpointHealthResponseSchema, res, () => healthDetails(res.health));
          return;
        }
        await printList(ctx, {
          call: (paging) => ctx.clients.audit.listEndpointHealth({ tenantId: options.tenant, ...paging }),
          items: (res) => res.endpoints,
          maxPageSize: HEALTH_PAGE_SIZE,
          schema: ListEndpointHealthResponseSchema,
          response: (page) => create(ListEndpointHealthResponseSchema, { endpoints: page.items }),
          empty: "no endpoints",
          rows: healthRows,
        });
      }),
    );
}
