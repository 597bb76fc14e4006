// The load generator's Connect client: unary Connect calls with JSON bodies over HTTP/1.1, as a REST user
// publishes (curl, fetch, any HTTP library), on an undici pool of keep-alive connections. It has the
// shape of the e2e suite's gRPC client, so the load runs take either.
import { Pool } from "undici";
import type { GrpcIngestClient } from "../e2e/support/clients.js";

/** A refused call, with the Connect error code as the gRPC client's errors carry theirs. */
class ConnectCallError extends Error {
  readonly code: string;
  readonly details: string;

  constructor(status: number, body: string) {
    let code = `http ${status}`;
    let message = body.slice(0, 200);
    try {
      const parsed = JSON.parse(body) as { code?: string; message?: string };
      code = parsed.code ?? code;
      message = parsed.message ?? message;
    } catch {
      // not a Connect error body
    }
    super(`${code}: ${message}`);
    this.code = code;
    this.details = message;
  }
}

/** An input event as the e2e gRPC client takes it (snake_case, payload as bytes). */
interface EventIn {
  event_type: string;
  payload: Buffer;
}

const eventJson = (event: EventIn) => ({
  eventType: event.event_type,
  payload: event.payload.toString("base64"),
});

/**
 * IngestService over Connect JSON on HTTP/1.1, through `connections` keep-alive connections to
 * `baseUrl` (http://host:port), one call at a time on each.
 */
export function connectJsonIngestClient(baseUrl: string, connections: number): GrpcIngestClient {
  const pool = new Pool(baseUrl, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const call = async <R>(method: string, body: unknown, token: string): Promise<R> => {
    const res = await pool.request({
      method: "POST",
      path: `/herald.v1.IngestService/${method}`,
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new ConnectCallError(res.statusCode, text);
    return JSON.parse(text) as R;
  };
  return {
    async publishEvent(request, token) {
      const { tenant_id, event } = request as { tenant_id: string; event: EventIn };
      const res = await call<{ eventId?: string; duplicate?: boolean }>(
        "PublishEvent",
        { tenantId: tenant_id, event: eventJson(event) },
        token,
      );
      return { event_id: res.eventId ?? "", duplicate: res.duplicate ?? false };
    },
    async publishEvents(request, token) {
      const { tenant_id, events } = request as { tenant_id: string; events: EventIn[] };
      const res = await call<{
        results?: Array<{ eventId?: string; duplicate?: boolean; errorCode?: string; errorMessage?: string }>;
      }>("PublishEvents", { tenantId: tenant_id, events: events.map(eventJson) }, token);
      return {
        results: (res.results ?? []).map((r) => ({
          event_id: r.eventId ?? "",
          duplicate: r.duplicate ?? false,
          error_code: r.errorCode ?? "",
          error_message: r.errorMessage ?? "",
        })),
      };
    },
    close: () => void pool.close().catch(() => undefined),
  };
}
