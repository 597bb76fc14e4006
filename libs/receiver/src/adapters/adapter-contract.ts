// What every framework adapter must do, over a real HTTP server on 127.0.0.1, with requests signed by the
// standardwebhooks package. Each adapter's test file runs it with a function that starts its server.
import { randomUUID } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { expect, it } from "vitest";
import { Deduplicator } from "../dedupe/deduplicator.js";
import { MemoryStore } from "../dedupe/memory-store.js";
import type { ReceiverOptions, WebhookEvent } from "../receive/receiver.js";
import { Webhook } from "../webhook.js";

export const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

export interface RunningServer {
  /** The webhook route's URL. */
  url: string;
  close(): Promise<void>;
}

/** Starts the adapter under test on port 0 with these options. */
export type StartServer = (options: ReceiverOptions<unknown>) => Promise<RunningServer>;

export function signedRequest(body: string, id = `msg_${randomUUID()}`, secret = SECRET): RequestInit {
  const now = new Date();
  return {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
      "webhook-signature": new StandardWebhook(secret).sign(id, now, body),
    },
    body,
  };
}

interface Harness {
  server: RunningServer;
  events: WebhookEvent[];
  contexts: unknown[];
}

async function serve(
  start: StartServer,
  overrides: Partial<ReceiverOptions<unknown>> = {},
  handler: (event: WebhookEvent) => unknown = () => undefined,
): Promise<Harness> {
  const events: WebhookEvent[] = [];
  const contexts: unknown[] = [];
  const server = await start({
    webhook: new Webhook(SECRET),
    handler: (event, context) => {
      events.push(event);
      contexts.push(context);
      return handler(event);
    },
    ...overrides,
  });
  return { server, events, contexts };
}

async function withServer(harness: Harness, test: (harness: Harness) => Promise<void>): Promise<void> {
  try {
    await test(harness);
  } finally {
    await harness.server.close();
  }
}

export function itServesWebhooks(start: StartServer): void {
  it("answers 204 to a good request and hands the event and the request to the handler", async () => {
    await withServer(await serve(start), async ({ server, events, contexts }) => {
      const body = '{"type": "order.created", "data": {"id": 1}}';
      const request = signedRequest(body, "msg_good");
      const response = await fetch(server.url, request);
      expect(response.status).toBe(204);
      expect(events).toHaveLength(1);
      expect(events[0]?.id).toBe("msg_good");
      expect(events[0]?.payload).toEqual({ type: "order.created", data: { id: 1 } });
      expect(new TextDecoder().decode(events[0]?.rawBody)).toBe(body);
      expect(contexts[0]).toBeTypeOf("object");
    });
  });

  it("answers 400 with the code to a bad signature, without the secret, and does not call the handler", async () => {
    await withServer(await serve(start), async ({ server, events }) => {
      const response = await fetch(
        server.url,
        signedRequest("{}", "msg_bad", "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXk="),
      );
      expect(response.status).toBe(400);
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({ error: "no_matching_signature", message: expect.any(String) });
      expect(text).not.toContain(SECRET.slice("whsec_".length));
      expect(events).toHaveLength(0);
    });
  });

  it("answers 400 missing_header to an unsigned request", async () => {
    await withServer(await serve(start), async ({ server }) => {
      const response = await fetch(server.url, { method: "POST", body: "{}" });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: "missing_header" });
    });
  });

  it("answers 200 with x-herald-duplicate: 1 to a delivery already handled", async () => {
    const dedupe = new Deduplicator(new MemoryStore());
    await withServer(await serve(start, { dedupe }), async ({ server, events }) => {
      const request = signedRequest('{"n": 1}');
      expect((await fetch(server.url, request)).status).toBe(204);
      const duplicate = await fetch(server.url, request);
      expect(duplicate.status).toBe(200);
      expect(duplicate.headers.get("x-herald-duplicate")).toBe("1");
      expect(events).toHaveLength(1);
    });
  });

  it("answers 409 to a delivery of an id still being handled", async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const dedupe = new Deduplicator(new MemoryStore());
    await withServer(await serve(start, { dedupe }, () => gate), async ({ server, events }) => {
      const request = signedRequest('{"n": 2}');
      const first = fetch(server.url, request);
      await expect.poll(() => events.length).toBe(1); // the first delivery's handler is running
      const second = await fetch(server.url, request);
      expect(second.status).toBe(409);
      expect(second.headers.get("x-herald-duplicate")).toBe("in-progress");
      expect(await second.json()).toMatchObject({ error: "duplicate_in_progress" });
      release();
      expect((await first).status).toBe(204);
    });
  });

  it("answers 500 without the error's message when the handler throws, and runs it again on retry", async () => {
    const dedupe = new Deduplicator(new MemoryStore());
    const reported: unknown[] = [];
    let calls = 0;
    const handler = () => {
      calls += 1;
      if (calls === 1) throw new Error("database password is hunter2");
    };
    await withServer(
      await serve(start, { dedupe, onError: (error) => reported.push(error) }, handler),
      async ({ server }) => {
        const request = signedRequest('{"n": 3}');
        const failed = await fetch(server.url, request);
        expect(failed.status).toBe(500);
        const text = await failed.text();
        expect(JSON.parse(text)).toMatchObject({ error: "handler_failed" });
        expect(text).not.toContain("hunter2");
        expect(reported).toEqual([expect.objectContaining({ message: "database password is hunter2" })]);
        expect((await fetch(server.url, request)).status).toBe(204);
        expect(calls).toBe(2);
      },
    );
  });

  it("answers 413 to a body over maxBodyBytes", async () => {
    await withServer(await serve(start, { maxBodyBytes: 1024 }), async ({ server, events }) => {
      const response = await fetch(server.url, signedRequest(JSON.stringify({ pad: "x".repeat(4096) })));
      expect(response.status).toBe(413);
      expect(await response.json()).toMatchObject({ error: "payload_too_large" });
      expect(events).toHaveLength(0);
      expect((await fetch(server.url, signedRequest('{"small": true}'))).status).toBe(204);
    });
  });
}
