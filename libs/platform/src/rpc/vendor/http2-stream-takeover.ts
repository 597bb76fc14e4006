/**
 * Vendor shim: an HTTP/2 stream is offered to the lean unary path before Node's compatibility layer.
 *
 * - Upstream behaviour: connect-node serves HTTP/2 only as a `(request, response)` handler, i.e.
 *   through Node's compatibility layer, whose own 'stream' listener builds an Http2ServerRequest and
 *   Http2ServerResponse for every stream. Node has no way to claim a stream before that listener runs,
 *   so the server's `emit` is wrapped: a stream the lean path takes never reaches the listeners.
 * - Upstream issue: none found; to be filed, text in docs/upstream/connect-node-http2-stream-api.md.
 * - Measured: the compatibility objects are part of each call's cost that the lean path saves
 *   (docs/decisions/lean-unary-grpc-path.md).
 * - Delete when: unary-grpc.ts goes (connect-node serves plain unary gRPC from the 'stream' event at
 *   about the lean path's cost); the two go together.
 */
import type http2 from "node:http2";

/** Takes a stream and answers it (true), or leaves it to the server's listeners (false). */
export type StreamTaker = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;

/** Makes `take` see each of the server's streams first; one it takes is not emitted any further. */
export function takeStreamsFirst(server: http2.Http2Server, take: StreamTaker): void {
  const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean;
  server.emit = ((event: string | symbol, ...args: unknown[]) =>
    (event === "stream" && take(args[0] as http2.ServerHttp2Stream, args[1] as http2.IncomingHttpHeaders)) ||
    emit(event, ...args)) as typeof server.emit;
}
