import { type Client, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import {
  AuditService,
  EndpointService,
  EventTypeService,
  PortalService,
  TenantService,
} from "@herald/contracts";

/** The services, through the portal's own origin (/rpc), with the session's token when there is one. */
export interface Api {
  portal: Client<typeof PortalService>;
  tenants: Client<typeof TenantService>;
  endpoints: Client<typeof EndpointService>;
  eventTypes: Client<typeof EventTypeService>;
  audit: Client<typeof AuditService>;
}

export function createApi(token: string | undefined): Api {
  const bearer: Interceptor = (next) => (req) => {
    if (token) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  const transport = createConnectTransport({
    baseUrl: `${location.origin}/rpc`,
    interceptors: [bearer],
    defaultTimeoutMs: 15_000,
  });
  return {
    portal: createClient(PortalService, transport),
    tenants: createClient(TenantService, transport),
    endpoints: createClient(EndpointService, transport),
    eventTypes: createClient(EventTypeService, transport),
    audit: createClient(AuditService, transport),
  };
}

/** What to show a person for a failed call: the service's own message, never a stack. */
export function errorText(err: unknown): string {
  if (err instanceof ConnectError) return err.rawMessage || err.code.toString();
  return err instanceof Error ? err.message : String(err);
}
