import { describe, expect, it } from "vitest";
import { eventIdTime } from "./event-time.js";

describe("eventIdTime", () => {
  it("reads the creation time from an event id", () => {
    // 1_700_000_000_123 ms in Crockford base32, then 16 random characters.
    expect(eventIdTime("evt_01hf7yat3v0000000000000000")?.getTime()).toBe(1_700_000_000_123);
    expect(eventIdTime("evt_0000000001zzzzzzzzzzzzzzzz")?.getTime()).toBe(1);
  });

  it.each(["evt_own_db", "ep_01hf7yat3v0000000000000000", "evt_01hf7yat3u0000000000000000", ""])(
    "gives undefined for %j",
    (id) => {
      expect(eventIdTime(id)).toBeUndefined();
    },
  );
});
