import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type AuditRecord, type DeliveryTask, EventSchema, SkipReason } from "@herald/contracts";
import { createLogger } from "@herald/platform";
import type { ControlPlaneCache, EndpointDocument, TenantDocument } from "@herald/platform/model";
import { testTenant } from "@herald/platform/testing";
import { describe, expect, it } from "vitest";
import { routeEvent } from "./route-event.js";

const NOW = new Date("2026-03-01T12:00:00Z");

const tenant = testTenant("t1", { create_time: new Date(NOW.getTime() - 60_000), update_time: NOW });

const endpoint: Partial<EndpointDocument> = {
  _id: "ep_1",
  tenant_id: "t1",
  event_types: [],
  channels: [],
  disabled: false,
};

async function route(ten: TenantDocument, endpoints = [endpoint]) {
  const tasks: DeliveryTask[] = [];
  const audits: AuditRecord[] = [];
  const counted: Array<number | "dropped"> = [];
  const routed = await routeEvent(
    {
      cache: {
        tenant: async () => ten,
        endpointsOf: async () => endpoints as unknown as EndpointDocument[],
      } as unknown as ControlPlaneCache,
      publishTask: async (t) => void tasks.push(t),
      publishAudit: async (r) => void audits.push(r),
      logger: createLogger({ service: "test", level: "silent" }),
      now: () => NOW,
      metrics: {
        recordRouted: (count) => void counted.push(count),
        countDropped: () => void counted.push("dropped"),
      },
    },
    create(EventSchema, {
      id: "evt_1",
      tenantId: "t1",
      eventType: "a.b",
      createTime: timestampFromDate(NOW),
    }),
  );
  return { routed, tasks, audits, counted };
}

describe("routeEvent", () => {
  it("routes an event of a live tenant and records where it went", async () => {
    const { routed, tasks, audits, counted } = await route(tenant);
    expect(routed).toEqual(["ep_1"]);
    expect(tasks.map((t) => t.endpointId)).toEqual(["ep_1"]);
    expect(audits).toHaveLength(1);
    expect(counted).toEqual([1]);
  });

  it("records why the other endpoints did not take the event, filters included", async () => {
    const { routed, audits } = await route(tenant, [
      endpoint,
      { ...endpoint, _id: "ep_2", event_types: ["x.*"] },
      { ...endpoint, _id: "ep_3", filter: 'type == "other"' },
    ]);
    expect(routed).toEqual(["ep_1"]);
    const record = audits[0]?.record;
    expect(record?.case).toBe("routing");
    if (record?.case !== "routing") return;
    expect(record.value.endpointIds).toEqual(["ep_1"]);
    expect(record.value.skipped.map((s) => [s.endpointId, s.reason, s.filter])).toEqual([
      ["ep_2", SkipReason.EVENT_TYPE, ""],
      ["ep_3", SkipReason.FILTER_FALSE, 'type == "other"'],
    ]);
    expect(record.value.skippedOmitted).toBe(0);
  });

  it("records every endpoint as skipped for a disabled tenant", async () => {
    const { routed, tasks, audits } = await route({ ...tenant, disabled: true });
    expect(routed).toEqual([]);
    expect(tasks).toEqual([]);
    const record = audits[0]?.record;
    expect(record?.case === "routing" && record.value.skipped.map((s) => s.reason)).toEqual([
      SkipReason.TENANT_DISABLED,
    ]);
  });

  it("counts an event no endpoint matches as routed to none, and records it", async () => {
    const { routed, audits, counted } = await route(tenant, []);
    expect(routed).toEqual([]);
    expect(audits).toHaveLength(1);
    expect(counted).toEqual([0]);
  });

  it.each<[string, TenantDocument]>([
    ["being deleted", { ...tenant, delete_time: NOW }],
    ["re-created after the event", { ...tenant, create_time: new Date(NOW.getTime() + 60_000) }],
  ])("drops an event of a tenant %s without a task or a record", async (_, ten) => {
    expect(await route(ten)).toEqual({ routed: [], tasks: [], audits: [], counted: ["dropped"] });
  });
});
