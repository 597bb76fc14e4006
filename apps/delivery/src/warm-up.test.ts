import { createLogger } from "@herald/platform";
import { SecretBox } from "@herald/platform/model";
import { TEST_SECRET_KEYS } from "@herald/platform/testing";
import { describe, expect, it } from "vitest";
import { warmUpDeliveryPath } from "./warm-up.js";

describe("warmUpDeliveryPath", () => {
  it("delivers every made-up task, signed, to its own receiver, without a broker or database", async () => {
    // It needs no database or broker: were it to touch one, it would throw or hang here. Its receiver's
    // counts show each task went through deliverTask and the webhook client, not a shortcut.
    const result = await warmUpDeliveryPath({
      box: new SecretBox(TEST_SECRET_KEYS),
      userAgent: "Herald/test",
      logger: createLogger({ service: "test", level: "silent" }),
      rounds: 40,
    });
    expect(result).toEqual({ received: 40, signed: 40, records: 40 });
  });
});
