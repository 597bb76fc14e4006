import { checkDeclaredLength, collectChunks } from "../receive/body.js";
import { Receiver, type ReceiverOptions } from "../receive/receiver.js";

/** Options of {@link createFetchReceiver}; the handler's second argument is the `Request`. */
export type FetchReceiverOptions = ReceiverOptions<Request>;

/**
 * A `(Request) => Promise<Response>` handler: Next.js route handlers, Hono, Cloudflare Workers, Deno,
 * Bun. Uses Web Crypto where `node:crypto` is missing, so it runs on edge runtimes.
 */
export function createFetchReceiver(options: FetchReceiverOptions): (request: Request) => Promise<Response> {
  const receiver = new Receiver(options);
  return async (request) => {
    const readBody = () => readFetchBody(request, receiver.maxBodyBytes);
    const result = await receiver.handle({ headers: request.headers, readBody }, request);
    return new Response(result.body ?? null, { status: result.status, headers: result.headers });
  };
}

async function readFetchBody(request: Request, maxBodyBytes: number): Promise<Uint8Array> {
  checkDeclaredLength(request.headers.get("content-length"), maxBodyBytes);
  if (request.body === null) return new Uint8Array(0);
  return collectChunks(streamChunks(request.body), maxBodyBytes);
}

/** A reader as an async iterable: not every runtime makes ReadableStream iterable. */
async function* streamChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel(); // stops the upload when the limit is passed; harmless once done
  }
}
