// The portal-pages scenario: how long each page of the tenant portal waits for its data as the log grows.
// One stack and the portal server; the measured tenant's log is filled in bulk (reads-fill.ts, as the
// reads scenario does), and at each size every page's load is timed: the RPCs the page makes when it
// opens, through the portal's /rpc entry with a portal session's token, in the browser's Connect JSON,
// at once where the page makes them at once and one after the other where it waits for the first
// answer. The goal (issue 29): each page answers in under 300 ms with 1M attempts.
import { type ChildProcess, spawn } from "node:child_process";
import os from "node:os";
import { join } from "node:path";
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import {
  AuditService,
  EndpointService,
  EventTypeService,
  PortalService,
  TenantService,
} from "@herald/contracts";
import { TEST_ADMIN_KEY } from "@herald/platform/testing";
import { MongoClient } from "mongodb";
import { grpcClient } from "../e2e/support/clients.js";
import { createEndpoint, createTenant, eventually } from "../e2e/support/fixtures.js";
import { type Receiver, startReceiver } from "../e2e/support/receiver.js";
import { freePort, REPO_ROOT, startStack } from "../e2e/support/stack.js";
import { describe, type ReadMeasure, type ReadsOptions, timeRead, waitIdle } from "./reads.js";
import { EVENT_TYPES, type EventLog, LogFiller, RECEIVER_REPLY } from "./reads-fill.js";
import { type ScenarioContext, serviceNodeArgs, trackStack } from "./scenario.js";
import { nowMs, round, sleep } from "./system.js";

const HOUR = 3_600_000;
/** The goal: each page answers within this. */
export const PAGE_GOAL_MS = 300;

/** The clients a portal page uses, through the portal's entry. */
interface PortalApi {
  tenants: Client<typeof TenantService>;
  endpoints: Client<typeof EndpointService>;
  eventTypes: Client<typeof EventTypeService>;
  audit: Client<typeof AuditService>;
}

interface PageFixture {
  api: PortalApi;
  /** Audit itself over gRPC with the tenant's full key: the message log's read without the portal. */
  audit: Client<typeof AuditService>;
  tenantId: string;
  endpointId: string;
  log: EventLog;
  /** The message log's second page, as its "Older" button asks for it. */
  secondPageToken: string;
}

interface Page {
  id: string;
  title: string;
  call(fx: PageFixture, timeoutMs: number): Promise<unknown>;
}

const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)] as T;

/** Each page's loads, as apps/portal/web/pages make them (page sizes included). */
export const PAGES: Page[] = [
  {
    id: "shell",
    title: "Any page opened afresh: GetTenant (name and brand)",
    call: (fx, timeoutMs) => fx.api.tenants.getTenant({ tenantId: fx.tenantId }, { timeoutMs }),
  },
  {
    id: "endpoints",
    title: "Endpoints: ListEndpoints (20)",
    call: (fx, timeoutMs) =>
      fx.api.endpoints.listEndpoints({ tenantId: fx.tenantId, pageSize: 20 }, { timeoutMs }),
  },
  {
    id: "endpoint",
    title: "An endpoint: GetEndpoint, then GetEndpointHealth and ListAttempts by endpoint (20) at once",
    call: async (fx, timeoutMs) => {
      const ids = { tenantId: fx.tenantId, endpointId: fx.endpointId };
      await fx.api.endpoints.getEndpoint(ids, { timeoutMs });
      await Promise.all([
        fx.api.audit.getEndpointHealth(ids, { timeoutMs }),
        fx.api.audit.listAttempts({ ...ids, pageSize: 20 }, { timeoutMs }),
      ]);
    },
  },
  {
    id: "health",
    title: "Health: ListEndpointHealth (10) and ListEndpoints (100) at once",
    call: (fx, timeoutMs) =>
      Promise.all([
        fx.api.audit.listEndpointHealth({ tenantId: fx.tenantId, pageSize: 10 }, { timeoutMs }),
        fx.api.endpoints.listEndpoints({ tenantId: fx.tenantId, pageSize: 100 }, { timeoutMs }),
      ]),
  },
  {
    id: "events",
    title: "Message log: ListEvents (25)",
    call: (fx, timeoutMs) => fx.api.audit.listEvents({ tenantId: fx.tenantId, pageSize: 25 }, { timeoutMs }),
  },
  {
    id: "events-direct",
    title: "For comparison, the message log's ListEvents (25) straight to audit over gRPC with a tenant key",
    call: (fx, timeoutMs) => fx.audit.listEvents({ tenantId: fx.tenantId, pageSize: 25 }, { timeoutMs }),
  },
  {
    id: "events-older",
    title: "Message log, its second page (Older): ListEvents (25) with a page token",
    call: (fx, timeoutMs) =>
      fx.api.audit.listEvents(
        { tenantId: fx.tenantId, pageSize: 25, pageToken: fx.secondPageToken },
        { timeoutMs },
      ),
  },
  {
    id: "events-type",
    title: "Message log filtered by event type (one of 8): ListEvents (25)",
    call: (fx, timeoutMs) =>
      fx.api.audit.listEvents(
        { tenantId: fx.tenantId, pageSize: 25, eventType: EVENT_TYPES[1] },
        { timeoutMs },
      ),
  },
  {
    id: "event",
    title: "An event (a random one): GetEvent, then ListAttempts by event (20)",
    call: async (fx, timeoutMs) => {
      const eventId = pick(fx.log.ids);
      await fx.api.audit.getEvent({ tenantId: fx.tenantId, eventId }, { timeoutMs });
      await fx.api.audit.listAttempts({ tenantId: fx.tenantId, eventId, pageSize: 20 }, { timeoutMs });
    },
  },
  {
    id: "event-types",
    title: "Event catalog: ListEventTypes (50)",
    call: (fx, timeoutMs) =>
      fx.api.eventTypes.listEventTypes({ tenantId: fx.tenantId, pageSize: 50 }, { timeoutMs }),
  },
  {
    id: "event-type",
    title: "An event type: GetEventType",
    call: (fx, timeoutMs) =>
      fx.api.eventTypes.getEventType({ tenantId: fx.tenantId, name: pick(EVENT_TYPES) }, { timeoutMs }),
  },
];

export interface PortalPagesSizeResult {
  /** Events of the measured tenant, each with one attempt. */
  events: number;
  /** The machine's load average (1 min) before the pages were timed. */
  loadAverage: number;
  pages: Record<string, ReadMeasure>;
}

export interface PortalPagesResult {
  id: "portal-pages";
  title: string;
  samples: number;
  capSeconds: number;
  pages: Array<{ id: string; title: string }>;
  sizes: PortalPagesSizeResult[];
  totalSeconds: number;
  notes: string[];
}

/** The portal's clients through its /rpc entry, in Connect JSON as the browser's connect-web sends. */
function portalApi(portalUrl: string, token: string): PortalApi {
  const bearer: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  const transport = createConnectTransport({
    baseUrl: `${portalUrl}/rpc`,
    httpVersion: "1.1",
    interceptors: [bearer],
  });
  return {
    tenants: createClient(TenantService, transport),
    endpoints: createClient(EndpointService, transport),
    eventTypes: createClient(EventTypeService, transport),
    audit: createClient(AuditService, transport),
  };
}

async function startPortal(
  routingUrl: string,
  auditUrl: string,
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(REPO_ROOT, "apps/portal/dist/server/main.js")], {
    env: {
      PATH: process.env.PATH ?? "",
      PORTAL_PORT: String(port),
      HERALD_ROUTING_URL: routingUrl,
      HERALD_AUDIT_URL: auditUrl,
      HERALD_ADMIN_KEY: TEST_ADMIN_KEY,
    },
    stdio: "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined),
    15_000,
    "portal up",
  );
  return { url, child };
}

/** Runs the portal-pages scenario; it stops growing the log once `endBy` (ms since the epoch) has passed. */
export async function runPortalPages(
  ctx: ScenarioContext,
  options: ReadsOptions,
  endBy: number,
): Promise<PortalPagesResult> {
  const started = nowMs();
  const notes: string[] = [];
  ctx.progress("[portal-pages] starting stack and portal");
  const stack = await startStack(
    { AUDIT_MONGO_DB: "bench_audit_portal" },
    { nodeArgs: serviceNodeArgs(process.env) },
  );
  trackStack(stack);
  const mongo = new MongoClient(ctx.mongoUrl, { serverSelectionTimeoutMS: 5_000, socketTimeoutMS: 600_000 });
  let receiver: Receiver | undefined;
  let portal: ChildProcess | undefined;
  const stopPortal = () => portal?.kill("SIGTERM");
  try {
    receiver = await startReceiver();
    receiver.reply = () => {
      (receiver as Receiver).requests.length = 0;
      return RECEIVER_REPLY;
    };
    const tenants = [];
    for (let t = 0; t < 3; t++) {
      const tenant = await createTenant(stack, `bench-portal-${t}`, { rateLimitPerSecond: 1_000_000 });
      tenants.push({ tenant, endpointId: (await createEndpoint(tenant, receiver.url)).id });
    }
    const main = tenants[0] as (typeof tenants)[number];
    const routing = (key?: string) =>
      createConnectTransport({
        baseUrl: stack.url("routing"),
        httpVersion: "1.1",
        interceptors: [
          (next) => (req) => {
            if (key) req.header.set("authorization", `Bearer ${key}`);
            return next(req);
          },
        ],
      });
    const eventTypes = createClient(EventTypeService, routing(TEST_ADMIN_KEY));
    for (const name of EVENT_TYPES)
      await eventTypes.createEventType({
        tenantId: main.tenant.id,
        name,
        description: `Bench type ${name}`,
        schema: JSON.stringify({ type: "object", properties: { n: { type: "integer" } } }),
        examples: [JSON.stringify({ n: 1 })],
      });
    // A session as `herald portal link` mints and the browser exchanges: the pages read with its token.
    const { code } = await createClient(PortalService, routing(TEST_ADMIN_KEY)).createPortalLink({
      tenantId: main.tenant.id,
    });
    const { token } = await createClient(PortalService, routing()).exchangePortalLink({ code });
    const started2 = await startPortal(stack.url("routing"), stack.url("audit"));
    portal = started2.child;
    // The bench may exit without unwinding (its budget, a second interrupt): the portal goes with it.
    process.once("exit", stopPortal);

    const filler = new LogFiller(
      mongo.db(stack.env.MONGO_DB),
      mongo.db(stack.env.AUDIT_MONGO_DB),
      tenants.map(({ tenant, endpointId }) => ({ id: tenant.id, endpointId, url: receiver?.url ?? "" })),
    );
    const fx: PageFixture = {
      api: portalApi(started2.url, token),
      audit: grpcClient(AuditService, stack.url("audit"), main.tenant.fullKey),
      tenantId: main.tenant.id,
      endpointId: main.endpointId,
      log: filler.log,
      secondPageToken: "",
    };
    const sizes: PortalPagesSizeResult[] = [];
    for (const size of options.sizes) {
      if (ctx.stop()) break;
      if (nowMs() > endBy) {
        notes.push(`stopped before ${size.toLocaleString("en-US")} events: over the scenario's time budget`);
        break;
      }
      const now = Date.now();
      const fill = await filler.fill(
        size - filler.log.length,
        now - 23 * HOUR,
        now - 60_000,
        (written, total) =>
          ctx.progress(
            `[portal-pages] filling to ${size.toLocaleString("en-US")}: ${written}/${total} events`,
          ),
      );
      ctx.log(
        `[portal-pages] ${size.toLocaleString("en-US")} events: wrote ${fill.events} events in ${fill.seconds} s`,
      );
      await waitIdle(ctx);
      fx.secondPageToken = (
        await fx.api.audit.listEvents({ tenantId: fx.tenantId, pageSize: 25 }, { timeoutMs: options.capMs })
      ).nextPageToken;
      const loadAverage = round(os.loadavg()[0] ?? 0, 2);
      const pages: Record<string, ReadMeasure> = {};
      for (const page of PAGES) {
        if (ctx.stop()) break;
        ctx.progress(`[portal-pages] ${size.toLocaleString("en-US")} events: ${page.title}`);
        pages[page.id] = await timeRead(ctx, fx, page, options);
        ctx.log(
          `[portal-pages]   ${page.id}: ${describe(pages[page.id] as ReadMeasure, options.capMs / 1000)}`,
        );
      }
      sizes.push({ events: size, loadAverage, pages });
    }
    return {
      id: "portal-pages",
      title: "Portal pages as the log grows: 1 tenant × 1 endpoint, each event delivered once",
      samples: options.samples,
      capSeconds: options.capMs / 1000,
      pages: PAGES.map(({ id, title }) => ({ id, title })),
      sizes,
      totalSeconds: round((nowMs() - started) / 1000),
      notes,
    };
  } finally {
    ctx.progress("[portal-pages] stopping stack");
    stopPortal();
    process.removeListener("exit", stopPortal);
    await mongo.close().catch(() => undefined);
    await Promise.race([
      stack.stop(),
      sleep(120_000).then(() => Promise.reject(new Error("timed out"))),
    ]).catch((err: Error) => ctx.log(`[portal-pages] stopping the stack: ${err.message}`));
    trackStack(undefined);
    await receiver?.close();
  }
}
