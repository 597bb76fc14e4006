import dns from "node:dns";
import type { IncomingHttpHeaders } from "node:http";
import net from "node:net";
import { inSpan } from "@herald/platform";
import { forbiddenDestinationReason, type UrlAllowlist } from "@herald/platform/model";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { Agent, buildConnector, type Dispatcher, errors } from "undici";
import { type UrlParts, urlParts } from "./url-parts.js";

/** Options of {@link WebhookClient}. */
export interface WebhookClientOptions {
  /** Time to open the TCP (and TLS) connection. */
  connectTimeoutMs: number;
  /** Time for the whole request, from sending to the last byte read. */
  requestTimeoutMs: number;
  /** Bytes of the response body kept; the rest is not read. */
  maxResponseBytes: number;
  /** Connections kept per origin. */
  connectionsPerOrigin: number;
  /**
   * What the operator allows although not public (HERALD_URL_ALLOWLIST). Checked with the platform's
   * URL policy on the address actually connected to, after DNS, so a host name that resolves (or
   * re-resolves) to a private address is refused unless that name itself is allowlisted.
   */
  allowlist: UrlAllowlist;
  /** Resolves a host name to all its addresses; default the system resolver (tests inject one). */
  resolveHost?: (hostname: string) => Promise<dns.LookupAddress[]>;
}

/** What came back from one POST. */
export interface WebhookResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** At most `maxResponseBytes`, decoded as UTF-8. */
  body: string;
  latencyMs: number;
}

/**
 * The request never got a response; `errorClass` says why in the terms of herald.v1.ErrorClass
 * ("listen_unreported": a listen stream did not report it in time).
 */
export class WebhookRequestError extends Error {
  readonly errorClass: "timeout" | "connection" | "dns" | "blocked" | "tls" | "listen_unreported";
  readonly latencyMs: number;
  constructor(errorClass: WebhookRequestError["errorClass"], message: string, latencyMs: number) {
    super(message);
    this.name = "WebhookRequestError";
    this.errorClass = errorClass;
    this.latencyMs = latencyMs;
  }
}

type LookupCallback = (err: Error | null, address: string | dns.LookupAddress[], family?: number) => void;

class BlockedAddressError extends Error {
  constructor(address: string, reason: string) {
    super(`destination address ${address} is not allowed (${reason})`);
    this.name = "BlockedAddressError";
  }
}

/**
 * POSTs webhooks with undici: a keep-alive pool per origin, connect and total timeouts, no redirects
 * followed, a bounded response read, and an SSRF guard at connect time.
 */
export class WebhookClient {
  readonly #agent: Agent;
  readonly #options: WebhookClientOptions;

  constructor(options: WebhookClientOptions) {
    this.#options = options;
    const resolveHost = options.resolveHost ?? ((hostname) => dns.promises.lookup(hostname, { all: true }));
    // net.connect calls this for host names; every address is checked, so a name that resolves (or
    // re-resolves, as in DNS rebinding) to a forbidden address is refused before any byte is sent.
    const guardedLookup = ((hostname: string, lookupOptions: dns.LookupOptions, callback: LookupCallback) => {
      resolveHost(hostname).then(
        (list) => {
          for (const { address } of list) {
            const reason = forbiddenDestinationReason(hostname, address, options.allowlist);
            if (reason) return callback(new BlockedAddressError(address, reason), "");
          }
          if (list.length === 0)
            return callback(Object.assign(new Error("no address"), { code: "ENOTFOUND" }), "");
          if (lookupOptions.all) return callback(null, list);
          const first = list[0] as dns.LookupAddress;
          callback(null, first.address, first.family);
        },
        (err: Error) => callback(err, ""),
      );
    }) as unknown as typeof dns.lookup;
    const connect = buildConnector({ timeout: options.connectTimeoutMs, lookup: guardedLookup });
    this.#agent = new Agent({
      connections: options.connectionsPerOrigin,
      keepAliveTimeout: 30_000,
      connect(connectOptions, callback) {
        // An IP literal skips DNS, so check it here.
        const host = connectOptions.hostname.replace(/^\[|\]$/g, "");
        const reason = net.isIP(host) ? forbiddenDestinationReason(host, host, options.allowlist) : undefined;
        if (reason) {
          callback(new BlockedAddressError(host, reason), null);
          return;
        }
        connect(connectOptions, callback);
      },
    });
  }

  async post(url: string, headers: Record<string, string>, body: Uint8Array): Promise<WebhookResponse> {
    const target = urlParts(url);
    return inSpan(
      "POST",
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "http.request.method": "POST",
          "url.full": target.spanUrl,
          "server.address": target.hostname,
          "server.port": target.port,
        },
        describeError: (err) =>
          err instanceof WebhookRequestError ? { type: err.errorClass, message: err.message } : undefined,
      },
      async (span) => {
        const started = performance.now();
        const elapsed = () => Math.round(performance.now() - started);
        try {
          const res = await dispatchPost(this.#agent, target, headers, body, {
            maxBytes: this.#options.maxResponseBytes,
            timeoutMs: this.#options.requestTimeoutMs,
            onStatus(status) {
              span.setAttribute("http.response.status_code", status);
              // An HTTP client span fails on 4xx and 5xx, with the status as its error.type.
              if (status >= 400) {
                span.setAttribute("error.type", String(status));
                span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${status}` });
              }
            },
          });
          return { ...res, latencyMs: elapsed() };
        } catch (err) {
          // inSpan records it on the span (describeError above).
          throw classify(err, elapsed());
        }
      },
    );
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}

/** Options of {@link dispatchPost}. */
interface DispatchPostOptions {
  /** Bytes of the body kept; once this many arrived, the connection is dropped rather than read on. */
  maxBytes: number;
  /** Time for the whole request, from sending to the last byte read. */
  timeoutMs: number;
  /** Told the final status as soon as the response's head arrived. */
  onStatus(status: number): void;
}

/**
 * POSTs through the agent's `dispatch` with a handler that keeps the body's first bytes as they arrive.
 * undici's `request` wraps each answer in a Readable stream, and the call in an AsyncResource and an
 * AbortSignal, a measurable share of delivery's CPU per request (docs/decisions/single-event-speed.md).
 * Rejects with the error undici reports, or the timeout's `TimeoutError`, for {@link classify}.
 */
function dispatchPost(
  agent: Agent,
  target: UrlParts,
  headers: Record<string, string>,
  body: Uint8Array,
  options: DispatchPostOptions,
): Promise<Omit<WebhookResponse, "latencyMs">> {
  return new Promise((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    // Set when the request timed out before undici began it: it is aborted as it begins, as `request`
    // does with an aborted signal.
    let timedOut: Error | undefined;
    let settled = false;
    let status = 0;
    let responseHeaders: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    let size = 0;
    // A timer that goes when the request does, not AbortSignal.timeout, whose timer outlives the request
    // (docs/investigations/garbage-collection.md).
    const timer = setTimeout(() => {
      timedOut = new DOMException("the request timed out", "TimeoutError");
      controller?.abort(timedOut);
    }, options.timeoutMs);
    const answer = () => {
      settled = true;
      clearTimeout(timer);
      resolve({
        status,
        headers: responseHeaders,
        body: Buffer.concat(chunks, size).subarray(0, options.maxBytes).toString("utf8"),
      });
    };
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(started) {
        controller = started;
        if (timedOut) started.abort(timedOut);
      },
      onResponseStart(_controller, statusCode, responseHead) {
        // 1xx informational heads come before the final one, which alone counts.
        if (statusCode < 200) return;
        status = statusCode;
        responseHeaders = responseHead;
        options.onStatus(statusCode);
      },
      onResponseData(current, chunk) {
        if (settled) return;
        chunks.push(chunk);
        size += chunk.length;
        if (size < options.maxBytes) return;
        answer();
        current.abort(new Error("response body over its cap"));
      },
      onResponseEnd() {
        if (!settled) answer();
      },
      onResponseError(_controller, err) {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      },
    };
    agent.dispatch({ origin: target.origin, path: target.path, method: "POST", headers, body }, handler);
  });
}

function classify(err: unknown, latencyMs: number): WebhookRequestError {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const e = cause as NodeJS.ErrnoException;
  if (err instanceof BlockedAddressError || cause instanceof BlockedAddressError) {
    return new WebhookRequestError("blocked", (cause as Error).message, latencyMs);
  }
  if (
    (err as Error)?.name === "TimeoutError" ||
    err instanceof errors.ConnectTimeoutError ||
    err instanceof errors.HeadersTimeoutError ||
    err instanceof errors.BodyTimeoutError
  ) {
    return new WebhookRequestError("timeout", "the receiver did not answer in time", latencyMs);
  }
  if (e?.code === "ENOTFOUND" || e?.code === "EAI_AGAIN") {
    return new WebhookRequestError("dns", `DNS lookup failed (${e.code})`, latencyMs);
  }
  if (typeof e?.code === "string" && (e.code.startsWith("ERR_TLS") || e.code.includes("CERT"))) {
    return new WebhookRequestError("tls", `TLS failed (${e.code})`, latencyMs);
  }
  const code = e?.code ? ` (${e.code})` : "";
  return new WebhookRequestError("connection", `connection failed${code}`, latencyMs);
}
