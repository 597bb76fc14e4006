import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { payloadTooLarge } from "../receive/body.js";
import { errorResponse, Receiver, type ReceiverOptions, type ReceiverResponse } from "../receive/receiver.js";

/** Options of {@link fastifyReceiver}; the handler's second argument is the `FastifyRequest`. */
export interface FastifyReceiverOptions extends ReceiverOptions<FastifyRequest> {
  /** The route's path inside the plugin's `prefix`. Default `"/"`. */
  path?: string;
}

/**
 * A Fastify plugin that adds one POST route. Inside its own encapsulated context it replaces every
 * content-type parser with one that keeps the raw bytes (Fastify's JSON parser would lose them), so the
 * rest of the app keeps its parsers. Register it with a prefix:
 * `app.register(fastifyReceiver, { prefix: "/webhooks/herald", webhook, handler })`.
 */
export const fastifyReceiver: FastifyPluginAsync<FastifyReceiverOptions> = async (fastify, options) => {
  const receiver = new Receiver(options);
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    "*",
    { parseAs: "buffer", bodyLimit: receiver.maxBodyBytes },
    (_request, body, done) => done(null, body),
  );
  fastify.setErrorHandler((error: { code?: string }, _request, reply) => {
    if (error.code !== "FST_ERR_CTP_BODY_TOO_LARGE") return reply.send(error);
    const tooLarge = payloadTooLarge(receiver.maxBodyBytes);
    return send(reply, errorResponse(tooLarge.status, tooLarge.code, tooLarge.message));
  });
  fastify.post(options.path ?? "/", async (request, reply) => {
    const readBody = async () => (request.body instanceof Uint8Array ? request.body : new Uint8Array(0));
    return send(reply, await receiver.handle({ headers: request.headers, readBody }, request));
  });
};

function send(reply: FastifyReply, result: ReceiverResponse): FastifyReply {
  return reply.code(result.status).headers(result.headers).send(result.body);
}
