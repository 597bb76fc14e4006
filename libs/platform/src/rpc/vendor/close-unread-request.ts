/**
 * Vendor shim: a request whose body is left unread is closed once it is answered.
 *
 * - Upstream behaviour: connect-node stops reading a request body it answers early (e.g. over
 *   readMaxBytes) and ends the answer, but nothing tells the client to stop sending. Node resets such
 *   a stream itself only when its body was never read at all, so a client still sending waits on
 *   HTTP/2 flow control forever and the stream stays open. RFC 9113 §8.1 has the server send
 *   RST_STREAM with NO_ERROR after a complete answer in this case.
 * - Upstream issue: none found; to be filed, text in docs/upstream/connect-node-unread-request-body.md.
 * - Measured: without it, a raw 5 MiB gRPC frame to a 4 MiB limit waited forever ("a raw 5 MiB frame
 *   is refused and its stream closed, not left waiting on flow control", test/e2e/bad-input.test.ts).
 * - Delete when: connect-node (or Node's HTTP/2 compatibility layer) resets a stream answered before
 *   its body was read; then delete this file and its two call sites (server.ts, unary-grpc.ts).
 */
import http2 from "node:http2";

const { NGHTTP2_NO_ERROR } = http2.constants;

/**
 * Called as an answer's trailers go out. If the request's body was not read to its end, tells the
 * client to stop sending (RST_STREAM NO_ERROR).
 */
export function closeUnreadRequest(stream: http2.ServerHttp2Stream, bodyRead: () => boolean): void {
  setImmediate(() => {
    if (!bodyRead() && !stream.destroyed) stream.close(NGHTTP2_NO_ERROR);
  });
}

/** Wraps an HTTP/2 compatibility handler so each of its answers closes an unread request; see above. */
export function withUnreadRequestsClosed(
  handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
): (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void {
  return (req, res) => {
    req.stream.once("wantTrailers", () => closeUnreadRequest(req.stream, () => req.complete));
    handler(req, res);
  };
}
