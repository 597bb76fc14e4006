import dns from "node:dns";
import net from "node:net";
import type { Readable } from "node:stream";
import { inSpan } from "@herald/platform";
import { forbiddenDestinationReason, type UrlAllowlist } from "@herald/platform/model";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { Agent, buildConnector, errors, request } from "undici";

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
    const target = new URL(url);
    return inSpan(
      "POST",
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "http.request.method": "POST",
          "url.full": `${target.origin}${target.pathname}`,
          "server.address": target.hostname,
          "server.port": Number(target.port || (target.protocol === "https:" ? 443 : 80)),
        },
        describeError: (err) =>
          err instanceof WebhookRequestError ? { type: err.errorClass, message: err.message } : undefined,
      },
      async (span) => {
        const started = performance.now();
        const elapsed = () => Math.round(performance.now() - started);
        // Not AbortSignal.timeout: its timer outlives the request until it fires, so the signal and all
        // it reaches get promoted to the old generation (docs/investigations/garbage-collection.md). This
        // timer goes when the request does.
        const deadline = new AbortController();
        const timer = setTimeout(
          () => deadline.abort(new DOMException("the request timed out", "TimeoutError")),
          this.#options.requestTimeoutMs,
        );
        try {
          const res = await request(url, {
            method: "POST",
            headers,
            body,
            dispatcher: this.#agent,
            signal: deadline.signal,
          });
          span.setAttribute("http.response.status_code", res.statusCode);
          // An HTTP client span fails on 4xx and 5xx, with the status as its error.type.
          if (res.statusCode >= 400) {
            span.setAttribute("error.type", String(res.statusCode));
            span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${res.statusCode}` });
          }
          const text = await readCapped(res.body, this.#options.maxResponseBytes);
          return { status: res.statusCode, headers: res.headers, body: text, latencyMs: elapsed() };
        } catch (err) {
          // inSpan records it on the span (describeError above).
          throw classify(err, elapsed());
        } finally {
          clearTimeout(timer);
        }
      },
    );
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}

/**
 * Reads at most `max` bytes, then drops the connection rather than read an endless body. Listens for
 * 'data' rather than iterating: an async iterator over a stream costs a dozen objects per response.
 */
function readCapped(body: Readable, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      // The error listener stays: a late error must not become an uncaught one.
      body.off("data", onData).off("end", done);
      resolve(Buffer.concat(chunks).subarray(0, max).toString("utf8"));
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= max) {
        done();
        body.destroy();
      }
    };
    body.on("data", onData).once("end", done).once("error", reject);
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
