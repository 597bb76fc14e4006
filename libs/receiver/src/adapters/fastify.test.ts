import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import type { ReceiverOptions } from "../receive/receiver.js";
import { Webhook } from "../webhook.js";
import { itServesWebhooks, type RunningServer, SECRET } from "./adapter-contract.js";
import { fastifyReceiver } from "./fastify.js";

async function startFastify(options: ReceiverOptions<unknown>): Promise<RunningServer & { base: string }> {
  const app = Fastify();
  app.post("/json", async (request) => ({ parsed: request.body }));
  await app.register(fastifyReceiver, { ...options, prefix: "/webhooks" });
  const base = await app.listen({ port: 0, host: "127.0.0.1" });
  return { base, url: `${base}/webhooks`, close: () => app.close() };
}

describe("fastifyReceiver", () => {
  itServesWebhooks(startFastify);

  it("leaves the JSON parser of the rest of the app alone", async () => {
    const server = await startFastify({ webhook: new Webhook(SECRET), handler: () => {} });
    try {
      const init = { method: "POST", headers: { "content-type": "application/json" }, body: '{"a": 1}' };
      expect(await (await fetch(`${server.base}/json`, init)).json()).toEqual({ parsed: { a: 1 } });
    } finally {
      await server.close();
    }
  });
});
