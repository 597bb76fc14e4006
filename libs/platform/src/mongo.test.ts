import { describe, expect, it } from "vitest";
import { MONGODB_CAPABILITIES, storageCapabilitiesOf } from "./mongo.js";

describe("storage capabilities", () => {
  it("are MongoDB's for a MongoDB buildInfo", () => {
    expect(
      storageCapabilitiesOf({
        version: "7.0.14",
        gitVersion: "ce59cfc6a3c5e5c067dca0d30697edd68d4f5188",
        ok: 1,
      }),
    ).toEqual(MONGODB_CAPABILITIES);
    expect(MONGODB_CAPABILITIES.concurrentWrites).toBe(true);
  });

  it("have no concurrent writes on the embedded wire server, which reports ferretdbVersion", () => {
    expect(storageCapabilitiesOf({ version: "7.0.42", ferretdbVersion: "unknown", ok: 1 })).toEqual({
      concurrentWrites: false,
    });
  });
});
