import { create } from "@bufbuild/protobuf";
import { AttemptWait, DeliverySchema, DeliveryState } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { deliveryRows } from "./events.js";

describe("deliveryRows", () => {
  it("says how long a delivery's attempts waited in all, and for what the longest was", () => {
    const waited = create(DeliverySchema, {
      endpointId: "ep_slow",
      state: DeliveryState.SUCCEEDED,
      attemptCount: 2,
      lastResponseStatus: 200,
      waitedMs: 1_250,
      waitedFor: AttemptWait.ENDPOINT_LIMIT,
    });
    const straight = create(DeliverySchema, { endpointId: "ep_fast", state: DeliveryState.SUCCEEDED });
    const lines = deliveryRows([waited, straight]).split("\n");
    expect(lines[0]).toMatch(/WAITED\s*$/);
    expect(lines.find((l) => l.startsWith("ep_slow"))).toMatch(/1\.3s \(endpoint at its limit\)\s*$/);
    expect(lines.find((l) => l.startsWith("ep_fast"))).toMatch(/-\s*$/);
  });
});
