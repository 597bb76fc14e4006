import { describe, expect, it } from "vitest";
import { warmUpEventPath } from "./warm-up.js";

describe("warmUpEventPath", () => {
  it("runs the per-event code to the end without anything outside the process", () => {
    // It needs no database, broker or network: were it to touch one, it would throw or hang here.
    expect(() => warmUpEventPath(50)).not.toThrow();
  });
});
