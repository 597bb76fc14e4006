import type { AddressInfo } from "node:net";
import express, { type Express } from "express";
import { describe, expect, it } from "vitest";
import type { ReceiverOptions } from "../receive/receiver.js";
import { Webhook } from "../webhook.js";
import { itServesWebhooks, type RunningServer, SECRET, signedRequest } from "./adapter-contract.js";
import { createExpressReceiver } from "./express.js";

async function startExpress(
  options: ReceiverOptions<unknown>,
  mountBefore: (app: Express) => void = () => {},
): Promise<RunningServer> {
  const app = express();
  mountBefore(app);
  app.post("/webhooks", createExpressReceiver(options));
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const options = () => ({ webhook: new Webhook(SECRET), handler: () => {} });

describe("createExpressReceiver", () => {
  itServesWebhooks((receiverOptions) => startExpress(receiverOptions));

  it("answers 500 body_already_parsed, naming the fix, when express.json() ran first", async () => {
    const server = await startExpress(options(), (app) => app.use(express.json()));
    try {
      const response = await fetch(server.url, signedRequest('{"n": 1}'));
      expect(response.status).toBe(500);
      const body = (await response.json()) as { error: string; message: string };
      expect(body.error).toBe("body_already_parsed");
      expect(body.message).toMatch(/express\.json\(\).*express\.raw\(\{ type: "\*\/\*" \}\)/);
    } finally {
      await server.close();
    }
  });

  it("takes the Buffer from express.raw()", async () => {
    const server = await startExpress(options(), (app) => app.use(express.raw({ type: "*/*" })));
    try {
      expect((await fetch(server.url, signedRequest('{"n": 2}'))).status).toBe(204);
    } finally {
      await server.close();
    }
  });

  it("reads the stream when a parser skipped the request and left {} (Express 4 style)", async () => {
    const server = await startExpress(options(), (app) =>
      app.use((request, _response, next) => {
        request.body = {};
        next();
      }),
    );
    try {
      expect((await fetch(server.url, signedRequest('{"n": 3}'))).status).toBe(204);
    } finally {
      await server.close();
    }
  });
});
