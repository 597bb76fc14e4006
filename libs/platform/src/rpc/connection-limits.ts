import type net from "node:net";

/** How long a client connection of an RPC port may take, and how many may be open at once. */
export interface ConnectionLimits {
  /**
   * Time a connection has to deliver a complete request head (HTTP/1.1 request line and headers, or
   * HTTP/2's first HEADERS), counted from its opening (TLS handshake included) or, on a kept-alive
   * HTTP/1.1 connection, from its previous response. Past it the connection is closed.
   */
  headersTimeoutMs: number;
  /** Time a request has from its head to the last byte of its body (an HTTP/2 stream: to its end). */
  requestTimeoutMs: number;
  /** Time an HTTP/1.1 connection is kept alive without traffic after its last response. */
  keepAliveTimeoutMs: number;
  /** Time an HTTP/2 connection is kept without an open stream (gRPC clients reconnect on demand). */
  idleTimeoutMs: number;
  /** Connections open at once on the port; more are closed as they arrive. */
  maxConnections: number;
}

/**
 * Why the server closed a connection (or cancelled an HTTP/2 stream) on its own: over the cap, no
 * complete request head in time, or a request body that did not end in time.
 */
export type ConnectionCutReason = "refused" | "headers_timeout" | "request_timeout";

export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 300_000,
  maxConnections: 10_000,
};

/**
 * One client connection of the RPC port and its deadline. Node's own header and request timeouts only
 * run for an HTTP/1.1 server that listens itself, and nothing times out a socket before its first
 * byte; the RPC server hands sockets over after sniffing them, so it keeps its own deadline per
 * connection: set while the connection owes a request, cleared while one is in flight.
 */
export class ClientConnection {
  /** The TCP socket: destroying it closes a TLS session over it too. */
  readonly raw: net.Socket;
  /** HTTP/1.1 requests or HTTP/2 streams in flight. */
  active = 0;
  #deadline: NodeJS.Timeout | undefined;

  constructor(raw: net.Socket) {
    this.raw = raw;
    raw.once("close", () => this.cancelDeadline());
  }

  /** Runs `expire` (by default: closes the connection) unless the deadline is cancelled within `ms`. */
  closeWithin(ms: number, expire: () => void = () => this.raw.destroy()): void {
    this.cancelDeadline();
    if (this.raw.destroyed) return;
    this.#deadline = setTimeout(expire, ms);
    this.#deadline.unref();
  }

  cancelDeadline(): void {
    if (this.#deadline === undefined) return;
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }
}
