import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import type { EndpointDocument, EndpointSecretDocument } from "@herald/platform/model";
import { SecretBox, signingSecrets } from "@herald/platform/model";
import { TEST_SECRET_KEYS, testEndpoint } from "@herald/platform/testing";
import { describe, expect, it } from "vitest";
import {
  currentScheme,
  generateKeyPair,
  generateSigningSecret,
  MAX_VALID_SECRETS,
  newSealedSecret,
  parseSigningSecret,
  rotateSecretDocuments,
  sealedUnderCurrentKey,
  sealSecret,
  validSecretDocuments,
} from "./secrets.js";

const box = new SecretBox(TEST_SECRET_KEYS);
const t0 = new Date("2030-01-01T00:00:00Z");
const at = (ms: number) => new Date(t0.getTime() + ms);

function endpointWith(secrets: EndpointSecretDocument[]): EndpointDocument {
  return testEndpoint({ url: "https://example.com/", secrets, create_time: t0 });
}

describe("signing secrets", () => {
  it("generates whsec_ + base64 of 32 random bytes", () => {
    const secret = generateSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), "base64")).toHaveLength(32);
    expect(generateSigningSecret()).not.toBe(secret);
  });

  it("accepts supplied secrets of 24-64 bytes with or without the prefix, stored with it", () => {
    const key = Buffer.alloc(24, 1).toString("base64");
    expect(parseSigningSecret("secret", key)).toBe(`whsec_${key}`);
    expect(parseSigningSecret("secret", `whsec_${key}`)).toBe(`whsec_${key}`);
    const long = Buffer.alloc(64, 2).toString("base64");
    expect(parseSigningSecret("secret", long)).toBe(`whsec_${long}`);
  });

  it.each([
    ["too short", Buffer.alloc(23, 1).toString("base64"), /24-64 bytes, got 23/],
    ["too long", Buffer.alloc(65, 1).toString("base64"), /24-64 bytes, got 65/],
    ["empty after the prefix", "whsec_", /standard base64/],
    ["not base64", "whsec_not*base64!", /standard base64/],
    ["base64url", `whsec_${Buffer.alloc(32, 0xfb).toString("base64url")}`, /standard base64/],
    ["unpadded", `whsec_${Buffer.alloc(32, 1).toString("base64").replace(/=+$/, "")}`, /standard base64/],
  ])("refuses a supplied secret that is %s, without echoing it", (_, text, message) => {
    let error: Error | undefined;
    try {
      parseSigningSecret("secret", text);
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error?.message.startsWith("secret: ")).toBe(true);
    if (text.length > 8) expect(error?.message).not.toContain(text.slice(6));
  });

  it("seals secrets so that the stored value holds no trace of them", () => {
    const secret = generateSigningSecret();
    const stored = sealSecret(secret, box, t0);
    expect(stored.sealed).not.toContain(secret.slice(6));
    expect(stored.sealed).not.toContain("whsec_");
    expect(stored.id).toMatch(/^sec_[0-9a-f]{16}$/);
    expect(box.open(stored.sealed)).toBe(secret);
  });
});

describe("rotation", () => {
  const first = sealSecret("whsec_first", box, t0);

  it("keeps the previous secret valid through the overlap, then only the new one", () => {
    const second = sealSecret("whsec_second", box, at(1_000));
    const secrets = rotateSecretDocuments([first], second, 60_000, at(1_000));
    expect(secrets.map((s) => s.id)).toEqual([second.id, first.id]);
    expect(secrets[1]?.expire_time).toEqual(at(61_000));
    expect(secrets[0]?.expire_time).toBeUndefined();

    const endpoint = endpointWith(secrets);
    expect(signingSecrets(endpoint, box, at(60_999))).toEqual(["whsec_second", "whsec_first"]);
    expect(signingSecrets(endpoint, box, at(61_000))).toEqual(["whsec_second"]);
  });

  it("ends the previous secrets at once with a zero overlap, dropping them", () => {
    const second = sealSecret("whsec_second", box, at(1_000));
    expect(rotateSecretDocuments([first], second, 0, at(1_000))).toEqual([second]);
  });

  it("never extends an earlier expiry and drops expired secrets when writing", () => {
    const expiring = { ...sealSecret("whsec_old", box, t0), expire_time: at(5_000) };
    const expired = { ...sealSecret("whsec_older", box, t0), expire_time: at(500) };
    const current = sealSecret("whsec_current", box, at(100));
    const next = sealSecret("whsec_next", box, at(1_000));
    const secrets = rotateSecretDocuments([current, expiring, expired], next, 86_400_000, at(1_000));
    expect(secrets.map((s) => s.id)).toEqual([next.id, current.id, expiring.id]);
    expect(secrets[2]?.expire_time).toEqual(at(5_000));
    expect(secrets[1]?.expire_time).toEqual(at(86_401_000));
  });

  it(`refuses to keep more than ${MAX_VALID_SECRETS} valid secrets`, () => {
    let secrets = [first];
    for (let i = 1; i < MAX_VALID_SECRETS; i++) {
      secrets = rotateSecretDocuments(secrets, sealSecret(`whsec_${i}`, box, at(i)), 60_000, at(i));
    }
    expect(secrets).toHaveLength(MAX_VALID_SECRETS);
    expect(() => rotateSecretDocuments(secrets, sealSecret("whsec_x", box, at(9)), 60_000, at(9))).toThrow(
      /at most 5/,
    );
    expect(rotateSecretDocuments(secrets, sealSecret("whsec_x", box, at(9)), 0, at(9))).toHaveLength(1);
  });

  it("lists valid secrets newest first whatever the stored order", () => {
    const older = sealSecret("whsec_a", box, t0);
    const newer = { ...sealSecret("whsec_b", box, at(10)) };
    expect(validSecretDocuments([older, newer], at(20)).map((s) => s.id)).toEqual([newer.id, older.id]);
  });
});

describe("sealedUnderCurrentKey", () => {
  const oldKey = `old:${Buffer.alloc(32, 1).toString("base64")}`;
  const ring = new SecretBox(`new:${Buffer.alloc(32, 2).toString("base64")},${oldKey}`);
  const at = new Date(0);

  it("re-seals a secret under an older key and keeps one under the current key as it is", () => {
    const old = { id: "s1", sealed: new SecretBox(oldKey).seal("whsec_a"), create_time: at };
    const resealed = sealedUnderCurrentKey(old, ring);
    expect(resealed.sealed.startsWith("v1:new:")).toBe(true);
    expect(ring.open(resealed.sealed)).toBe("whsec_a");
    expect(sealedUnderCurrentKey(resealed, ring)).toBe(resealed);
  });

  it("keeps a secret under a key the ring lacks as it is, so rotating away from it still works", () => {
    const foreign = {
      id: "s2",
      sealed: new SecretBox(`gone:${Buffer.alloc(32, 3).toString("base64")}`).seal("x"),
      create_time: at,
    };
    expect(sealedUnderCurrentKey(foreign, ring)).toBe(foreign);
  });
});

describe("v1a key pairs", () => {
  it("generates whsk_ (seed and public key) and whpk_ keys that sign and verify together", () => {
    const { privateKey, publicKey } = generateKeyPair();
    expect(privateKey).toMatch(/^whsk_[A-Za-z0-9+/]{86}==$/);
    expect(publicKey).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    const bytes = Buffer.from(privateKey.slice(5), "base64");
    expect(bytes.subarray(32).toString("base64")).toBe(publicKey.slice(5));
    const key = createPrivateKey({
      key: {
        kty: "OKP",
        crv: "Ed25519",
        d: bytes.subarray(0, 32).toString("base64url"),
        x: bytes.subarray(32).toString("base64url"),
      },
      format: "jwk",
    });
    const pub = createPublicKey({
      key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(publicKey.slice(5), "base64").toString("base64url") },
      format: "jwk",
    });
    const signature = sign(null, Buffer.from("m"), key);
    expect(verify(null, Buffer.from("m"), pub, signature)).toBe(true);
    expect(generateKeyPair().privateKey).not.toBe(privateKey);
  });

  it("seals the private key, keeps the public key in clear, and makes v1a the endpoint's scheme", () => {
    const v1 = newSealedSecret("v1", undefined, box, t0);
    expect(v1).not.toHaveProperty("scheme");
    expect(box.open(v1.sealed)).toMatch(/^whsec_/);
    const v1a = newSealedSecret("v1a", undefined, box, at(1));
    expect(v1a).toMatchObject({ scheme: "v1a", public_key: expect.stringMatching(/^whpk_/) });
    const opened = box.open(v1a.sealed);
    expect(opened).toMatch(/^whsk_/);
    expect(v1a.sealed).not.toContain(opened.slice(5, 20));
    expect(currentScheme([v1], t0)).toBe("v1");
    const rotated = rotateSecretDocuments([v1], v1a, 60_000, at(1));
    expect(currentScheme(rotated, at(2))).toBe("v1a");
    // Both stay valid through the overlap: the endpoint signs with both schemes meanwhile.
    expect(signingSecrets(endpointWith(rotated), box, at(2)).map((s) => s.slice(0, 5))).toEqual([
      "whsk_",
      "whsec",
    ]);
    expect(currentScheme([], t0)).toBe("v1");
  });
});
