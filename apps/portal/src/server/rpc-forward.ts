import type { UpstreamFetch, UpstreamResponse } from "./upstream.js";

/** Which service answers each method the portal may call, by "package.Service/Method". */
export const PORTAL_METHODS: Readonly<Record<string, "routing" | "audit">> = Object.fromEntries([
  ...["ExchangePortalLink"].map((m) => [`herald.v1.PortalService/${m}`, "routing"]),
  ...["GetTenant"].map((m) => [`herald.v1.TenantService/${m}`, "routing"]),
  ...[
    "CreateEndpoint",
    "GetEndpoint",
    "ListEndpoints",
    "UpdateEndpoint",
    "DeleteEndpoint",
    "EnableEndpoint",
    "DisableEndpoint",
    "RotateSecret",
    "GetEndpointSecret",
    "TestEndpoint",
  ].map((m) => [`herald.v1.EndpointService/${m}`, "routing"]),
  ...["GetEventType", "ListEventTypes"].map((m) => [`herald.v1.EventTypeService/${m}`, "routing"]),
  ...[
    "ListAttempts",
    "GetEvent",
    "ListEvents",
    "Redeliver",
    "Recover",
    "GetEndpointHealth",
    "ListEndpointHealth",
  ].map((m) => [`herald.v1.AuditService/${m}`, "audit"]),
]);

/**
 * Request headers passed on: the Connect protocol's own and the bearer token, nothing else. Not
 * accept-encoding: fetch decodes a compressed answer itself, so the services must send it plain.
 */
const FORWARDED_REQUEST_HEADERS = [
  "content-type",
  "authorization",
  "connect-protocol-version",
  "connect-timeout-ms",
];
const FORWARDED_RESPONSE_HEADERS = ["content-type"];

/** The largest request body forwarded: the portal's calls are small. */
export const MAX_RPC_BODY_BYTES = 1024 * 1024;

export interface ForwardRequest {
  method: string;
  /** "package.Service/Method" */
  rpc: string;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

export interface ForwardResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** A Connect unary error as JSON, as the browser client reads it. */
export function connectError(status: number, code: string, message: string): ForwardResponse {
  return {
    status,
    headers: { "content-type": "application/json" },
    body: new TextEncoder().encode(JSON.stringify({ code, message })),
  };
}

/**
 * Forwards one Connect unary call to the service that answers it. Only the portal's methods pass, so the
 * entry is no open proxy to the services' other APIs; the services authorize the token themselves. A
 * service that cannot be reached, or refuses the connection (e.g. the portal's client certificate), is
 * `unavailable` to the browser, without the cause: `onError` gets that, for the portal's log.
 */
export async function forwardRpc(
  req: ForwardRequest,
  upstreams: { routing: string; audit: string },
  fetchFn: UpstreamFetch = fetch,
  onError: (service: "routing" | "audit", error: unknown) => void = () => {},
): Promise<ForwardResponse> {
  const service = PORTAL_METHODS[req.rpc];
  if (req.method !== "POST" || service === undefined) {
    return connectError(404, "unimplemented", `the portal does not serve ${req.rpc}`);
  }
  const headers = new Headers();
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = req.headers[name];
    if (typeof value === "string") headers.set(name, value);
  }
  let res: UpstreamResponse;
  let body: Uint8Array;
  try {
    res = await fetchFn(`${upstreams[service].replace(/\/+$/, "")}/${req.rpc}`, {
      method: "POST",
      headers,
      body: req.body,
    });
    body = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    onError(service, err);
    return connectError(503, "unavailable", `the ${service} service cannot be reached`);
  }
  const out: Record<string, string> = {};
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = res.headers.get(name);
    if (value !== null) out[name] = value;
  }
  return { status: res.status, headers: out, body };
}
