import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import type { ReceiverOptions } from "../receive/receiver.js";
import { Webhook } from "../webhook.js";
import { itServesWebhooks, type RunningServer, SECRET, signedRequest } from "./adapter-contract.js";
import { createNodeReceiver } from "./node.js";

async function startNodeServer(options: ReceiverOptions<unknown>): Promise<RunningServer> {
  const server = createServer(createNodeReceiver(options));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** POSTs in 512-byte chunks with Transfer-Encoding: chunked, so the server cannot see the size up front. */
function postChunked(url: string, init: RequestInit): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = init.headers as Record<string, string>;
    const request = httpRequest(url, { method: "POST", headers }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on("error", reject);
    const body = String(init.body);
    for (let offset = 0; offset < body.length; offset += 512) request.write(body.slice(offset, offset + 512));
    request.end();
  });
}

describe("createNodeReceiver", () => {
  itServesWebhooks(startNodeServer);

  it("answers 413 to a chunked body that passes the limit", async () => {
    const server = await startNodeServer({
      webhook: new Webhook(SECRET),
      handler: () => {},
      maxBodyBytes: 1024,
    });
    try {
      expect(await postChunked(server.url, signedRequest(JSON.stringify({ pad: "x".repeat(4096) })))).toBe(
        413,
      );
      expect(await postChunked(server.url, signedRequest('{"small": true}'))).toBe(204);
    } finally {
      await server.close();
    }
  });
});
