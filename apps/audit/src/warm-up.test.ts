import { describe, expect, it } from "vitest";
import { AUDIT_WARM_UP_WRITES_PER_ROUND, warmUpRecordPath } from "./warm-up.js";

describe("warmUpRecordPath", () => {
  it("writes every made-up record's documents without a broker or database", async () => {
    // It needs no database or broker: were it to touch one, it would throw or hang here. The count
    // shows each round's records got through the checks to the writer's documents and operations.
    const written = await warmUpRecordPath(30);
    expect(written).toBe(30 * AUDIT_WARM_UP_WRITES_PER_ROUND);
  });
});
