import { AttemptWait } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { deliveryWaitText } from "./waits.js";

describe("deliveryWaitText", () => {
  it("says how long a delivery waited and for what, or nothing when it did not", () => {
    expect(deliveryWaitText({ waitedMs: 1_234, waitedFor: AttemptWait.ENDPOINT_LIMIT })).toBe(
      "waited 1.2 s for its endpoint's limit",
    );
    expect(deliveryWaitText({ waitedMs: 40, waitedFor: AttemptWait.TENANT_TURN })).toBe(
      "waited 40 ms for its turn among the tenants",
    );
    expect(deliveryWaitText({ waitedMs: 5, waitedFor: 99 as AttemptWait })).toBe("waited 5 ms");
    expect(deliveryWaitText({ waitedMs: 0, waitedFor: AttemptWait.UNSPECIFIED })).toBe("");
  });
});
