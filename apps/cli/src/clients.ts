import { readFileSync } from "node:fs";
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import {
  ApiKeyService,
  AuditService,
  EndpointService,
  EventTypeService,
  IngestService,
  ListenService,
  PortalService,
  TenantService,
} from "@herald/contracts";
import { type CliConfig, type CliTlsFiles, requireApiKey } from "./config.js";
import { tagServiceUrl, UsageError } from "./errors.js";

/** Connect clients of every public Herald service. */
export interface HeraldClients {
  tenants: Client<typeof TenantService>;
  endpoints: Client<typeof EndpointService>;
  apiKeys: Client<typeof ApiKeyService>;
  eventTypes: Client<typeof EventTypeService>;
  portal: Client<typeof PortalService>;
  ingest: Client<typeof IngestService>;
  audit: Client<typeof AuditService>;
  /** herald listen's stream and reports: no default deadline, as the stream lasts until stopped. */
  listen: Client<typeof ListenService>;
}

/** What https:// connections trust and present: the contents of the TLS files. */
interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

function readTlsFiles(files: CliTlsFiles): TlsMaterial {
  const read = (path: string | undefined, option: string) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new UsageError(`${option}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
  };
  const material: TlsMaterial = {
    ca: read(files.caFile, "--tls-ca-file"),
    cert: read(files.certFile, "--tls-cert-file"),
    key: read(files.keyFile, "--tls-key-file"),
  };
  return Object.fromEntries(Object.entries(material).filter(([, v]) => v !== undefined));
}

/**
 * Connect protocol over HTTP/1.1 with the bearer key, the call timeout and the URL on each error; an
 * https:// URL trusts the given CA besides the system's and presents the client certificate if any.
 */
function transportTo(
  baseUrl: string,
  apiKey: string,
  timeoutMs: number | undefined,
  tls: TlsMaterial,
): Transport {
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
    ...(baseUrl.startsWith("https:") && { nodeOptions: tls }),
  });
}

export function createClients(config: CliConfig): HeraldClients {
  const apiKey = requireApiKey(config);
  const tls = readTlsFiles(config.tls);
  const routing = transportTo(config.urls.routing, apiKey, config.timeoutMs, tls);
  return {
    tenants: createClient(TenantService, routing),
    endpoints: createClient(EndpointService, routing),
    apiKeys: createClient(ApiKeyService, routing),
    eventTypes: createClient(EventTypeService, routing),
    portal: createClient(PortalService, routing),
    ingest: createClient(IngestService, transportTo(config.urls.ingest, apiKey, config.timeoutMs, tls)),
    audit: createClient(AuditService, transportTo(config.urls.audit, apiKey, config.timeoutMs, tls)),
    listen: createClient(ListenService, transportTo(config.urls.delivery, apiKey, undefined, tls)),
  };
}
