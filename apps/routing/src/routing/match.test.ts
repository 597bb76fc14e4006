import type { EndpointDocument } from "@herald/platform/model";
import { describe, expect, it } from "vitest";
import { matchesChannels, matchesEventType, selectEndpoints } from "./match.js";

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
    const selected = selectEndpoints(endpoints, { eventType: "order.created", channels: ["eu"] });
    expect(selected.map((e) => e._id)).toEqual(["a", "c", "d", "e"]);
  });
});
