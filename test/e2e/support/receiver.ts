import http from "node:http";
import type { AddressInfo } from "node:net";

/** One request a receiver got, with the body exactly as received. */
export interface ReceivedRequest {
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

/** What to answer: a status, optional headers, or "hang" to never answer. */
export type Reply = { status: number; headers?: Record<string, string>; body?: string } | "hang";

/** A real HTTP server on 127.0.0.1 that records every request and answers as told. */
export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** Decides each answer; default 204. Called with the 1-based count of requests so far. */
  reply: (request: ReceivedRequest, count: number) => Reply;
  /** Resolves once `count` requests arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startReceiver(path = "/webhook"): Promise<Receiver> {
  const waiters: Array<() => void> = [];
  const hanging = new Set<http.ServerResponse>();
  const receiver = {
    url: "",
    requests: [] as ReceivedRequest[],
    reply: (() => ({ status: 204 })) as Receiver["reply"],
  } as Receiver;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const request = { headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
      receiver.requests.push(request);
      for (const wake of waiters.splice(0)) wake();
      const reply = receiver.reply(request, receiver.requests.length);
      if (reply === "hang") {
        hanging.add(res);
        return;
      }
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  receiver.waitFor = async (count, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    while (receiver.requests.length < count) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`receiver got ${receiver.requests.length} of ${count} requests in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return receiver.requests;
  };
  receiver.close = async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return receiver;
}
