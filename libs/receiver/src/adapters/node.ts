import type { IncomingMessage, ServerResponse } from "node:http";
import { Receiver, type ReceiverOptions } from "../receive/receiver.js";
import { readNodeBody, writeNodeResponse } from "./node-http.js";

/** Options of {@link createNodeReceiver}; the handler's second argument is the `IncomingMessage`. */
export type NodeReceiverOptions = ReceiverOptions<IncomingMessage>;

/**
 * A `(req, res)` handler for `node:http` (and anything built on it) that reads the raw body up to
 * `maxBodyBytes`, verifies, dedupes and calls your handler. Route only webhook POSTs to it.
 */
export function createNodeReceiver(
  options: NodeReceiverOptions,
): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  const receiver = new Receiver(options);
  return async (request, response) => {
    const readBody = () => readNodeBody(request, receiver.maxBodyBytes);
    const result = await receiver.handle({ headers: request.headers, readBody }, request);
    writeNodeResponse(request, response, result);
  };
}
