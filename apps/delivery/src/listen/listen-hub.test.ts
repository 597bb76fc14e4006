import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  ControlNotificationSchema,
  DeliveryTaskSchema,
  ReportDeliveryRequestSchema,
} from "@herald/contracts";
import { describe, expect, it, vi } from "vitest";
import { ListenHub } from "./listen-hub.js";
import { ListenStreamClosedError, ListenStreamEndedError } from "./listen-stream.js";

const task = create(DeliveryTaskSchema, {
  eventId: "evt_1",
  tenantId: "acme",
  endpointId: "ep_1",
  attempt: 1,
});
const request = { headers: {}, body: new Uint8Array() };

function hub(relayReport = vi.fn(async () => undefined)) {
  return {
    relayReport,
    hub: new ListenHub({ instanceId: "aa11", reportTimeoutMs: 60_000, heartbeatMs: 60_000, relayReport }),
  };
}

async function firstDeliveryId(messages: AsyncGenerator<{ message: { case?: string; value?: unknown } }>) {
  for await (const m of messages)
    if (m.message.case === "delivery") return (m.message.value as { deliveryId: string }).deliveryId;
  return "";
}

describe("ListenHub", () => {
  it("settles a report of its own delivery, and only for the stream's tenant and endpoint", async () => {
    const { hub: h } = hub();
    const stream = h.open("acme", "ep_1", "key1");
    const answered = stream.forward(task, request);
    const deliveryId = await firstDeliveryId(stream.messages());
    expect(deliveryId).toMatch(/^ld_aa11_/);
    const report = (init: object) =>
      create(ReportDeliveryRequestSchema, { deliveryId, status: 204, ...init });
    expect(await h.report(report({ tenantId: "globex", endpointId: "ep_1" }))).toBe("unknown");
    expect(await h.report(report({ tenantId: "acme", endpointId: "ep_2" }))).toBe("unknown");
    expect(await h.report(report({ tenantId: "acme", endpointId: "ep_1" }))).toBe("settled");
    await expect(answered).resolves.toMatchObject({ status: 204 });
  });

  it("relays a report of another instance's delivery to it", async () => {
    const { hub: h, relayReport } = hub();
    const report = create(ReportDeliveryRequestSchema, {
      tenantId: "acme",
      endpointId: "ep_1",
      deliveryId: "ld_bb22_000000000000000000000000",
    });
    expect(await h.report(report)).toBe("relayed");
    expect(relayReport).toHaveBeenCalledWith("bb22", report);
    expect(await h.report(create(ReportDeliveryRequestSchema, { deliveryId: "nonsense" }))).toBe("unknown");
  });

  it("closes an endpoint's older stream when a newer one opens, and every stream on closeAll", async () => {
    const { hub: h } = hub();
    const older = h.open("acme", "ep_1", "key1");
    const waiting = older.forward(task, request).catch((err: unknown) => err);
    const newer = h.open("acme", "ep_1", "key1");
    expect(older.closed).toBe(true);
    expect(await waiting).toBeInstanceOf(ListenStreamClosedError);
    // Closing the older one again leaves the newer one registered.
    h.close(older);
    expect(h.size).toBe(1);
    h.open("acme", "ep_2", "key2");
    h.closeAll(new ListenStreamEndedError(Code.Unavailable, "shutting down"));
    expect(newer.closed).toBe(true);
    expect(h.size).toBe(0);
  });

  it("tells an older stream a newer one took over", async () => {
    const { hub: h } = hub();
    const older = h.open("acme", "ep_1", "key1");
    const messages = older.messages();
    await messages.next();
    h.open("acme", "ep_1", "key1");
    await expect(messages.next()).rejects.toMatchObject({ code: Code.Aborted });
  });

  it("ends the streams of a revoked key, and of an endpoint or tenant gone, keeping the rest", async () => {
    const { hub: h } = hub();
    const [a, b, c] = [
      h.open("acme", "ep_1", "key1"),
      h.open("acme", "ep_2", "key2"),
      h.open("globex", "ep_3", "key3"),
    ];
    const notification = (init: object) => create(ControlNotificationSchema, init);
    const gone = async () => new ListenStreamEndedError(Code.NotFound, "gone");
    await h.applyControlChange(notification({ tenantId: "acme", apiKeyId: "key1" }), gone);
    expect([a.closed, b.closed, c.closed]).toEqual([true, false, false]);
    // ep_2 changed but still exists: kept; a check that fails keeps it too.
    await h.applyControlChange(notification({ tenantId: "acme", endpointId: "ep_2" }), async () => undefined);
    await h.applyControlChange(notification({ tenantId: "acme", endpointId: "ep_2" }), async () => {
      throw new Error("mongodb down");
    });
    expect(b.closed).toBe(false);
    // A tenant-wide change checks every stream of that tenant only.
    const checked: string[] = [];
    await h.applyControlChange(notification({ tenantId: "acme" }), async (stream) => {
      checked.push(stream.endpointId);
      return gone();
    });
    expect(checked).toEqual(["ep_2"]);
    expect([b.closed, c.closed]).toEqual([true, false]);
    await h.applyControlChange(undefined, gone);
    await h.applyControlChange(notification({ tenantId: "globex", eventType: "order.created" }), gone);
    expect(c.closed).toBe(false);
  });
});
