import { createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { signatureHeader } from "./signature.js";

const encode = (text: string) => new TextEncoder().encode(text);

describe("signatureHeader", () => {
  it("matches the Standard Webhooks reference vector, also with the key set up already", () => {
    const sign = () =>
      signatureHeader(
        ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        encode('{"test": 2432232314}'),
      );
    expect(sign()).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    expect(sign()).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("carries one signature per secret, each verifiable by the standardwebhooks package", () => {
    const secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2Vjb25kLXNlY3JldC0xMjM0NTY3ODkwMTI="];
    const payload = encode('{"a":  1}');
    const timestamp = Math.floor(Date.now() / 1000);
    const header = signatureHeader(secrets, "evt_1", timestamp, payload);
    expect(header.split(" ")).toHaveLength(2);
    for (const secret of secrets) {
      const headers = {
        "webhook-id": "evt_1",
        "webhook-timestamp": String(timestamp),
        "webhook-signature": header,
      };
      expect(new Webhook(secret).verify(Buffer.from(payload).toString(), headers)).toEqual({ a: 1 });
    }
    expect(() =>
      new Webhook("whsec_b3RoZXItc2VjcmV0LTEyMzQ1Njc4OTAxMjM0NQ==").verify(Buffer.from(payload).toString(), {
        "webhook-id": "evt_1",
        "webhook-timestamp": String(timestamp),
        "webhook-signature": header,
      }),
    ).toThrow();
  });
});

/** A v1a key pair as Herald stores it: whsk_ + base64(seed ‖ public key), and the public key. */
function keyPair() {
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  const seed = Buffer.from(jwk.d ?? "", "base64url");
  const pub = Buffer.from(jwk.x ?? "", "base64url");
  const publicKey = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: jwk.x ?? "" }, format: "jwk" });
  return { secret: `whsk_${Buffer.concat([seed, pub]).toString("base64")}`, publicKey };
}

describe("signatureHeader with v1a (ed25519) keys", () => {
  const payload = encode('{"order": 1}');
  const signed = (id: string, ts: number, body: Uint8Array) =>
    Buffer.concat([Buffer.from(`${id}.${ts}.`), body]);

  it("signs with ed25519 over id.timestamp.payload, verifiable with the public key", () => {
    const keys = keyPair();
    const header = signatureHeader([keys.secret], "evt_1", 1614265330, payload);
    expect(header).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    const signature = Buffer.from(header.slice(4), "base64");
    expect(verify(null, signed("evt_1", 1614265330, payload), keys.publicKey, signature)).toBe(true);
    expect(verify(null, signed("evt_2", 1614265330, payload), keys.publicKey, signature)).toBe(false);
    expect(verify(null, signed("evt_1", 1614265330, encode('{"order": 2}')), keys.publicKey, signature)).toBe(
      false,
    );
    expect(verify(null, signed("evt_1", 1614265330, payload), keyPair().publicKey, signature)).toBe(false);
  });

  it("mixes v1 and v1a signatures during a rotation from one scheme to the other", () => {
    const keys = keyPair();
    const hmac = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const header = signatureHeader(
      [keys.secret, hmac],
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      1614265330,
      encode('{"test": 2432232314}'),
    );
    const [v1a, v1] = header.split(" ");
    expect(v1a).toMatch(/^v1a,/);
    expect(v1).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("refuses a malformed private key without repeating it", () => {
    const bad = `whsk_${Buffer.alloc(40, 7).toString("base64")}`;
    let message = "";
    try {
      signatureHeader([bad], "evt_1", 1, payload);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/does not decode to 64 bytes/);
    expect(message).not.toContain(bad.slice(5));
  });
});
