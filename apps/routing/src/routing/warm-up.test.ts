import { createLogger } from "@herald/platform";
import { describe, expect, it } from "vitest";
import { WARM_UP_ROUTED_ENDPOINTS, warmUpRoutingPath } from "./warm-up.js";

describe("warmUpRoutingPath", () => {
  it("routes every made-up event to its matching endpoints without anything outside the process", async () => {
    // It needs no database, broker or network: were it to touch one, it would throw or hang here. The
    // count shows the events went through matching and filters, not a shortcut that routes nothing.
    const tasks = await warmUpRoutingPath(createLogger({ service: "test", level: "silent" }), 30);
    expect(tasks).toBe(30 * WARM_UP_ROUTED_ENDPOINTS);
  });
});
