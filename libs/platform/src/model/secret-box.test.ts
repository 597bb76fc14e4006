import { describe, expect, it } from "vitest";
import { SecretBox, SecretBoxError } from "./secret-box.js";

const key = (byte: number) => Buffer.alloc(32, byte).toString("base64");

describe("SecretBox", () => {
  it("seals so that the plaintext does not appear, and opens it again", () => {
    const box = new SecretBox(`k1:${key(1)}`);
    const sealed = box.seal("whsec_c2VjcmV0");
    expect(sealed).not.toContain("whsec_");
    expect(sealed.startsWith("v1:k1:")).toBe(true);
    expect(box.open(sealed)).toBe("whsec_c2VjcmV0");
    expect(box.seal("same")).not.toBe(box.seal("same"));
  });

  it("opens values sealed under an older key after rotation, and flags them stale", () => {
    const old = new SecretBox(`k1:${key(1)}`);
    const sealed = old.seal("whsec_old");
    const rotated = new SecretBox(`k2:${key(2)},k1:${key(1)}`);
    expect(rotated.currentKeyId).toBe("k2");
    expect(rotated.open(sealed)).toBe("whsec_old");
    expect(rotated.isStale(sealed)).toBe(true);
    expect(rotated.isStale(rotated.seal("x"))).toBe(false);
  });

  it("refuses tampered values and unknown keys without echoing the value, also once the genuine one was opened", () => {
    const box = new SecretBox(`k1:${key(1)}`);
    const sealed = box.seal("whsec_x");
    expect(box.open(sealed)).toBe("whsec_x");
    const parts = sealed.split(":");
    parts[4] = Buffer.from("tampered").toString("base64");
    expect(() => box.open(parts.join(":"))).toThrow(/failed authentication under key "k1"/);
    expect(() => new SecretBox(`k9:${key(9)}`).open(sealed)).toThrow(/not in the key ring/);
  });

  it.each([
    ["", /empty/],
    ["k1", /<id>:<base64/],
    [`k1:${Buffer.alloc(16).toString("base64")}`, /32 bytes, got 16/],
    [`k1:${key(1)},k1:${key(2)}`, /appears twice/],
  ])("rejects the key ring %j", (ring, message) => {
    expect(() => new SecretBox(ring)).toThrow(SecretBoxError);
    expect(() => new SecretBox(ring)).toThrow(message);
  });
});
