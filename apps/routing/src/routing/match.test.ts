import { SkipReason } from "@herald/contracts";
import type { EndpointDocument } from "@herald/platform/model";
import { describe, expect, it } from "vitest";
import {
  decideRoutes,
  MAX_SKIPPED_LISTED,
  matchesChannels,
  matchesEventType,
  selectEndpoints,
} from "./match.js";

describe("matchesEventType", () => {
  it.each([
    [[], "order.created", true],
    [["*"], "anything", true],
    [["order.created"], "order.created", true],
    [["order.created"], "order.updated", false],
    [["order.*"], "order.created", true],
    [["order.*"], "order.item.added", true],
    [["order.*"], "order", false],
    [["order.*"], "orders.created", false],
    [["user.created", "order.*"], "order.paid", true],
    // Operational events go only where their namespace is named.
    [[], "herald.endpoint.disabled", false],
    [["*"], "herald.endpoint.disabled", false],
    [["herald.*"], "herald.endpoint.disabled", true],
    [["herald.endpoint.*"], "herald.endpoint.failing", true],
    [["herald.endpoint.*"], "herald.delivery.dead", false],
    [["order.*", "herald.delivery.dead"], "herald.delivery.dead", true],
    [["herald.*"], "order.created", false],
  ])("%j takes %s: %s", (filters, type, expected) => {
    expect(matchesEventType(filters, type)).toBe(expected);
  });
});

describe("matchesChannels", () => {
  it("takes everything without channels, else needs one in common", () => {
    expect(matchesChannels([], [])).toBe(true);
    expect(matchesChannels([], ["eu"])).toBe(true);
    expect(matchesChannels(["eu"], [])).toBe(false);
    expect(matchesChannels(["eu", "us"], ["us"])).toBe(true);
    expect(matchesChannels(["eu"], ["us"])).toBe(false);
  });
});

describe("selectEndpoints", () => {
  const endpoint = (id: string, patch: Partial<EndpointDocument>) =>
    ({ _id: id, disabled: false, event_types: [], channels: [], ...patch }) as EndpointDocument;

  it("keeps the endpoints whose filters and channels match, disabled ones too, in order", () => {
    const endpoints = [
      endpoint("a", {}),
      endpoint("b", { event_types: ["user.*"] }),
      endpoint("c", { disabled: true }),
      endpoint("d", { channels: ["eu"] }),
      endpoint("e", { event_types: ["order.created"], channels: ["us", "eu"] }),
    ];
    const selected = selectEndpoints(endpoints, {
      type: "order.created",
      channels: ["eu"],
      tenantId: "t",
      payload: new Uint8Array(),
    });
    expect(selected.map((e) => e._id)).toEqual(["a", "c", "d", "e"]);
  });
});

describe("decideRoutes", () => {
  const endpoint = (id: string, patch: Partial<EndpointDocument>) =>
    ({ _id: id, disabled: false, event_types: [], channels: [], ...patch }) as EndpointDocument;
  const event = (payload: unknown) => ({
    type: "order.created",
    channels: ["eu"],
    tenantId: "t",
    payload: new TextEncoder().encode(JSON.stringify(payload)),
  });

  it("says why each endpoint that did not take the event did not", () => {
    const endpoints = [
      endpoint("a", { filter: "payload.amount > 100" }),
      endpoint("b", { event_types: ["user.*"] }),
      endpoint("c", { channels: ["us"] }),
      endpoint("d", { filter: "payload.amount < 100" }),
      endpoint("e", { filter: "payload.missing == 1" }),
      endpoint("f", { disabled: true }),
    ];
    const decision = decideRoutes(endpoints, event({ amount: 150 }));
    expect(decision.endpoints.map((e) => e._id)).toEqual(["a", "f"]);
    expect(decision.skipped).toEqual([
      { endpointId: "b", reason: SkipReason.EVENT_TYPE, filter: "", detail: "" },
      { endpointId: "c", reason: SkipReason.CHANNEL, filter: "", detail: "" },
      { endpointId: "d", reason: SkipReason.FILTER_FALSE, filter: "payload.amount < 100", detail: "" },
      {
        endpointId: "e",
        reason: SkipReason.FILTER_ERROR,
        filter: "payload.missing == 1",
        detail: expect.stringMatching(/missing/),
      },
      { endpointId: "f", reason: SkipReason.ENDPOINT_DISABLED, filter: "", detail: "" },
    ]);
    expect(decision.skippedOmitted).toBe(0);
  });

  it("routes nothing for a disabled tenant and says so", () => {
    const decision = decideRoutes([endpoint("a", {})], event({}), { tenantDisabled: true });
    expect(decision.endpoints).toEqual([]);
    expect(decision.skipped.map((s) => s.reason)).toEqual([SkipReason.TENANT_DISABLED]);
  });

  it("lists at most MAX_SKIPPED_LISTED endpoints and counts the rest", () => {
    const endpoints = Array.from({ length: MAX_SKIPPED_LISTED + 7 }, (_, i) =>
      endpoint(`ep${i}`, { event_types: ["user.created"] }),
    );
    const decision = decideRoutes(endpoints, event({}));
    expect(decision.skipped).toHaveLength(MAX_SKIPPED_LISTED);
    expect(decision.skippedOmitted).toBe(7);
  });

  it("treats a stored filter that no longer compiles as an error, not a throw", () => {
    const decision = decideRoutes([endpoint("a", { filter: "nope(" })], event({}));
    expect(decision.endpoints).toEqual([]);
    expect(decision.skipped[0]?.reason).toBe(SkipReason.FILTER_ERROR);
  });
});
