// The fetch receiver as it runs on an edge runtime: no node:crypto, so verification goes through Web Crypto.
import { describe, expect, it, vi } from "vitest";
import { Webhook } from "../webhook.js";
import { SECRET, signedRequest } from "./adapter-contract.js";
import { createFetchReceiver } from "./fetch.js";

vi.mock("../node-crypto.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../node-crypto.js")>()),
  nodeCrypto: undefined,
}));

describe("createFetchReceiver without node:crypto", () => {
  const handle = createFetchReceiver({ webhook: new Webhook(SECRET), handler: () => {} });

  it("verifies with Web Crypto", async () => {
    expect((await handle(new Request("http://receiver/", signedRequest('{"edge": true}')))).status).toBe(204);
    const forged = signedRequest(
      '{"edge": true}',
      "msg_forged",
      "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXk=",
    );
    const rejected = await handle(new Request("http://receiver/", forged));
    expect(rejected.status).toBe(400);
    expect(await rejected.json()).toMatchObject({ error: "no_matching_signature" });
  });

  it("tells sync callers to use verifyAsync", () => {
    expect(() => new Webhook(SECRET).verify("{}", {})).toThrow(/verifyAsync/);
  });
});
