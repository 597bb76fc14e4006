import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { encodeUlid, newEventId } from "./event-id.js";
import { eventIdTime } from "./event-time.js";

/** The 128 bits as one number, five at a time: the plain reading of the layout. */
function referenceUlid(time: number, random: Uint8Array): string {
  let bits = BigInt(time);
  for (const byte of random) bits = (bits << 8n) | BigInt(byte);
  let out = "";
  for (let i = 0; i < 26; i++, bits >>= 5n)
    out = "0123456789abcdefghjkmnpqrstvwxyz"[Number(bits & 31n)] + out;
  return out;
}

describe("newEventId", () => {
  it("makes unique ids that sort by creation time", () => {
    const ids = [newEventId(1_000), newEventId(2_000), newEventId(3_000)];
    expect(new Set(ids).size).toBe(3);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]).toMatch(/^evt_[0-9a-z]{26}$/);
    // Purges and the checks against re-created tenants read the time back.
    expect(ids.map((id) => eventIdTime(id)?.getTime())).toEqual([1_000, 2_000, 3_000]);
  });

  it("never repeats random parts across refills of its pool", () => {
    const ids = Array.from({ length: 2_000 }, () => newEventId(1_700_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("encodeUlid", () => {
  it("encodes time then randomness as the 128-bit number would", () => {
    const cases: [number, Uint8Array][] = [
      [0, new Uint8Array(10)],
      [2 ** 48 - 1, new Uint8Array(10).fill(255)],
      [1_700_000_000_123, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])],
      ...Array.from({ length: 50 }, (): [number, Uint8Array] => [
        Math.floor(Math.random() * 2 ** 48),
        randomBytes(10),
      ]),
    ];
    for (const [time, random] of cases) expect(encodeUlid(time, random)).toBe(referenceUlid(time, random));
  });

  it("is all zeros and all ones at the ends of the range", () => {
    expect(encodeUlid(0, new Uint8Array(10))).toBe("0".repeat(26));
    expect(encodeUlid(2 ** 48 - 1, new Uint8Array(10).fill(255))).toBe(`7${"z".repeat(25)}`);
  });
});
