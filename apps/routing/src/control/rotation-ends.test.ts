import type { EndpointDocument } from "@herald/platform/model";
import { describe, expect, it } from "vitest";
import { rotationEndedFacts } from "./rotation-ends.js";

const T0 = new Date("2026-12-06T08:00:00Z");
const at = (s: number) => new Date(T0.getTime() + s * 1000);

function endpoint(expiries: Array<Date | undefined>): EndpointDocument {
  return {
    _id: "ep_1",
    tenant_id: "acme",
    url: "https://hooks.example.com/in?token=abc",
    secrets: expiries.map((expire_time, i) => ({
      id: `sec_${i}`,
      sealed: "sealed-value",
      create_time: T0,
      ...(expire_time ? { expire_time } : {}),
    })),
  } as EndpointDocument;
}

describe("rotationEndedFacts", () => {
  it("reports each secret whose overlap ended in the window, once per secret and expiry", () => {
    const facts = rotationEndedFacts([endpoint([undefined, at(30), at(-30), at(90)])], T0, at(60));
    expect(facts).toEqual([
      {
        type: "herald.secret.rotation_ended",
        tenantId: "acme",
        key: `ep_1:sec_1:${at(30).toISOString()}`,
        data: { endpoint_id: "ep_1", endpoint_url: "https://hooks.example.com/in", secret_id: "sec_1" },
        time: at(30),
      },
    ]);
    // The next look, overlapping the first, reports the same fact (same key), and the new one.
    const next = rotationEndedFacts([endpoint([undefined, at(30), at(-30), at(90)])], at(20), at(120));
    expect(next.map((f) => f.key)).toEqual([facts[0]?.key, `ep_1:sec_3:${at(90).toISOString()}`]);
    expect(JSON.stringify(next)).not.toMatch(/sealed-value|token=abc/);
  });
});
