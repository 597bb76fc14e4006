import { describe, expect, it } from "vitest";
import { DeadLetterGrowth } from "./dead-letter-growth.js";

const WINDOW = 900_000;
const T0 = Date.parse("2026-12-06T08:00:00Z");

describe("DeadLetterGrowth", () => {
  it("tells once per tenant and window, when the threshold is reached", () => {
    const growth = new DeadLetterGrowth({ threshold: 3, windowMs: WINDOW });
    expect(growth.record("acme", T0)).toBeUndefined();
    expect(growth.record("other", T0 + 1)).toBeUndefined();
    expect(growth.record("acme", T0 + 2)).toBeUndefined();
    const fact = growth.record("acme", T0 + 3);
    expect(fact).toMatchObject({
      type: "herald.dead_letters.growing",
      tenantId: "acme",
      key: "2026-12-06T08:00:00.000Z",
      data: { dead_letters: 3, window_seconds: 900 },
    });
    // More in the same window: already told.
    expect(growth.record("acme", T0 + 4)).toBeUndefined();
    expect(growth.record("other", T0 + 5)).toBeUndefined();
  });

  it("counts each window afresh", () => {
    const growth = new DeadLetterGrowth({ threshold: 2, windowMs: WINDOW });
    growth.record("acme", T0 + WINDOW - 1);
    // One at the end of a window and one at the start of the next are not two in a window.
    expect(growth.record("acme", T0 + WINDOW)).toBeUndefined();
    expect(growth.record("acme", T0 + WINDOW + 1)?.key).toBe("2026-12-06T08:15:00.000Z");
  });

  it("never tells with a threshold of 0", () => {
    const growth = new DeadLetterGrowth({ threshold: 0, windowMs: WINDOW });
    for (let i = 0; i < 10; i++) expect(growth.record("acme", T0 + i)).toBeUndefined();
  });
});
