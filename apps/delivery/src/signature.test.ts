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
