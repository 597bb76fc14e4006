import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import {
  ApiKeyService,
  AuditService,
  EndpointService,
  IngestService,
  TenantService,
} from "@herald/contracts";
import { type CliConfig, requireApiKey } from "./config.js";
import { tagServiceUrl } from "./errors.js";

/** Connect clients of every public Herald service. */
export interface HeraldClients {
  tenants: Client<typeof TenantService>;
  endpoints: Client<typeof EndpointService>;
  apiKeys: Client<typeof ApiKeyService>;
  ingest: Client<typeof IngestService>;
  audit: Client<typeof AuditService>;
}

/** Connect protocol over HTTP/1.1 with the bearer key, the call timeout and the URL on each error. */
function transportTo(baseUrl: string, apiKey: string, timeoutMs: number): Transport {
  const authorize: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${apiKey}`);
    return next(req);
  };
  const nameUrlOnError: Interceptor = (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      throw tagServiceUrl(err, baseUrl);
    }
  };
  return createConnectTransport({
    baseUrl,
    httpVersion: "1.1",
    defaultTimeoutMs: timeoutMs,
    interceptors: [nameUrlOnError, authorize],
  });
}

export function createClients(config: CliConfig): HeraldClients {
  const apiKey = requireApiKey(config);
  const routing = transportTo(config.urls.routing, apiKey, config.timeoutMs);
  return {
    tenants: createClient(TenantService, routing),
    endpoints: createClient(EndpointService, routing),
    apiKeys: createClient(ApiKeyService, routing),
    ingest: createClient(IngestService, transportTo(config.urls.ingest, apiKey, config.timeoutMs)),
    audit: createClient(AuditService, transportTo(config.urls.audit, apiKey, config.timeoutMs)),
  };
}
