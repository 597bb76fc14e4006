import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { ReceiverOptions } from "../receive/receiver.js";
import { Webhook } from "../webhook.js";
import { itServesWebhooks, type RunningServer, SECRET, signedRequest } from "./adapter-contract.js";
import { createFetchReceiver } from "./fetch.js";

function toFetchRequest(request: IncomingMessage, origin: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    for (const item of [value ?? []].flat()) headers.append(name, item);
  }
  const body = Readable.toWeb(request) as ReadableStream<Uint8Array>;
  return new Request(new URL(request.url ?? "/", origin), {
    method: request.method,
    headers,
    body,
    duplex: "half",
  });
}

/** A node:http server that hands each request to the fetch handler as a Request, as a runtime would. */
export async function startFetchBridge(options: ReceiverOptions<unknown>): Promise<RunningServer> {
  const handle = createFetchReceiver(options);
  const server = createServer(async (request, response) => {
    const answer = await handle(toFetchRequest(request, "http://127.0.0.1"));
    response.writeHead(answer.status, Object.fromEntries(answer.headers));
    response.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/webhooks`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function streamOf(text: string, chunkSize: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

describe("createFetchReceiver", () => {
  itServesWebhooks(startFetchBridge);

  it("answers 413 to a streamed body without Content-Length once it passes the limit", async () => {
    const handle = createFetchReceiver({
      webhook: new Webhook(SECRET),
      handler: () => {},
      maxBodyBytes: 1024,
    });
    const init = signedRequest(JSON.stringify({ pad: "x".repeat(4096) }));
    const body = streamOf(String(init.body), 256);
    const response = await handle(new Request("http://receiver/", { ...init, body, duplex: "half" }));
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: "payload_too_large" });
  });
});
