import type { Request, RequestHandler } from "express";
import { BodyRejectedError, payloadTooLarge } from "../receive/body.js";
import { Receiver, type ReceiverOptions } from "../receive/receiver.js";
import { readNodeBody, writeNodeResponse } from "./node-http.js";

/** Options of {@link createExpressReceiver}; the handler's second argument is the Express `Request`. */
export type ExpressReceiverOptions = ReceiverOptions<Request>;

/**
 * Express middleware for a webhook route. Mount it before any JSON body parser, or after an
 * `express.raw()` that matches every content type: the signature covers the raw bytes, which a JSON
 * parser throws away. Such a mistake is answered 500 `body_already_parsed`, saying so.
 */
export function createExpressReceiver(options: ExpressReceiverOptions): RequestHandler {
  const receiver = new Receiver(options);
  return (request, response, next) => {
    const readBody = () => readExpressBody(request, receiver.maxBodyBytes);
    receiver
      .handle({ headers: request.headers, readBody }, request)
      .then((result) => writeNodeResponse(request, response, result))
      .catch(next);
  };
}

async function readExpressBody(request: Request, maxBodyBytes: number): Promise<Uint8Array> {
  const body: unknown = request.body;
  if (body instanceof Uint8Array) {
    if (body.length > maxBodyBytes) throw payloadTooLarge(maxBodyBytes);
    return body;
  }
  // Express 4 parsers leave {} on requests they skip without reading them; anything else means consumed.
  if (request.readableEnded || (body !== undefined && !isEmptyObject(body))) {
    throw new BodyRejectedError(
      500,
      "body_already_parsed",
      "A body parser (such as express.json()) already consumed this request, so the signed bytes are gone. " +
        'Mount the webhook route before it, or put express.raw({ type: "*/*" }) on this route.',
    );
  }
  return readNodeBody(request, maxBodyBytes);
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && Object.keys(value).length === 0;
}
