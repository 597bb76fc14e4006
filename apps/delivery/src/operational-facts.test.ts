import { DisabledReason, ErrorClass } from "@herald/contracts";
import type { EndpointDocument, OperationalFact } from "@herald/platform/model";
import { describe, expect, it } from "vitest";
import {
  circuitFact,
  circuitNotifier,
  deadFact,
  disabledFact,
  failingSustainedFact,
} from "./operational-facts.js";

const T0 = Date.parse("2026-12-06T08:00:00Z");
const HOUR = 3_600_000;
const failed = { status: 0, errorClass: ErrorClass.TIMEOUT };

function endpoint(patch: Partial<EndpointDocument> = {}): EndpointDocument {
  return {
    _id: "ep_1",
    tenant_id: "acme",
    url: "https://user:pass@hooks.example.com/in?token=abc",
    update_time: new Date(T0 - 1_000),
    ...patch,
  } as EndpointDocument;
}

describe("operational facts of delivery", () => {
  it("keys a sustained failure by its run and period: one per period, none in the first", () => {
    const ep = endpoint({ failing_since: new Date(T0) });
    expect(failingSustainedFact(ep, T0 + HOUR - 1, HOUR, failed)).toBeUndefined();
    const first = failingSustainedFact(ep, T0 + HOUR, HOUR, failed);
    const sameHour = failingSustainedFact(ep, T0 + 2 * HOUR - 1, HOUR, failed);
    const next = failingSustainedFact(ep, T0 + 2 * HOUR, HOUR, failed);
    expect(first?.key).toBe(sameHour?.key);
    expect(next?.key).not.toBe(first?.key);
    expect(first?.data).toMatchObject({ phase: "sustained", last_status: 0, last_error: "timeout" });
    // A new run (after a success) is another fact, and 0 turns the repeats off.
    const newRun = endpoint({ failing_since: new Date(T0 + 10) });
    expect(failingSustainedFact(newRun, T0 + 10 + HOUR, HOUR, failed)?.key).not.toBe(first?.key);
    expect(failingSustainedFact(ep, T0 + 5 * HOUR, 0, failed)).toBeUndefined();
  });

  it("buckets circuit transitions by endpoint, direction and 5 minutes", () => {
    const ep = endpoint();
    const opened = circuitFact(ep, "open", T0 + 1_000);
    expect(opened.type).toBe("herald.endpoint.circuit_opened");
    expect(circuitFact(ep, "open", T0 + 299_999).key).toBe(opened.key);
    expect(circuitFact(ep, "open", T0 + 300_000).key).not.toBe(opened.key);
    expect(circuitFact(ep, "closed", T0 + 1_000).type).toBe("herald.endpoint.circuit_closed");
  });

  it("tells a circuit's transitions of an endpoint it finds, and nothing of one gone or moved", async () => {
    const emitted: OperationalFact[] = [];
    const endpoints = new Map([["ep_1", endpoint()]]);
    const tell = circuitNotifier({
      endpoint: async (id) => endpoints.get(id),
      emit: async (fact) => void emitted.push(fact),
      now: () => T0,
    });
    tell("open", "ep_1", "acme");
    tell("closed", "ep_gone", "acme");
    tell("closed", "ep_1", "other-tenant");
    await new Promise((resolve) => setImmediate(resolve));
    expect(emitted.map((f) => [f.type, f.tenantId, f.data])).toEqual([
      [
        "herald.endpoint.circuit_opened",
        "acme",
        { endpoint_id: "ep_1", endpoint_url: "https://hooks.example.com/in" },
      ],
    ]);
  });

  it("reports one dead letter per endpoint and minute", () => {
    const ep = endpoint();
    const task = { eventId: "evt_1", eventType: "order.created", attempt: 8 };
    expect(deadFact(ep, task, 500, T0).key).toBe(
      deadFact(ep, { ...task, eventId: "evt_2" }, 500, T0 + 59_999).key,
    );
    expect(deadFact(ep, task, 500, T0 + 60_000).key).not.toBe(deadFact(ep, task, 500, T0).key);
  });

  it("keys a disabling by the endpoint's version, and carries no credentials or query", () => {
    const fact = disabledFact(endpoint(), DisabledReason.GONE, T0);
    expect(fact.key).toBe(`ep_1:${new Date(T0 - 1_000).toISOString()}`);
    expect(fact.data.endpoint_url).toBe("https://hooks.example.com/in");
    expect(JSON.stringify(fact)).not.toMatch(/pass|token/);
  });
});
