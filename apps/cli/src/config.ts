import { UsageError } from "./errors.js";

/** The services the CLI talks to. */
export type ServiceName = "ingest" | "routing" | "delivery" | "audit";

/** Where each service listens when nothing says otherwise: `npm start` on this machine. */
export const DEFAULT_URLS: Readonly<Record<ServiceName, string>> = {
  ingest: "http://127.0.0.1:7001",
  routing: "http://127.0.0.1:7002",
  delivery: "http://127.0.0.1:7003",
  audit: "http://127.0.0.1:7004",
};

/** Environment variables read when the matching option is absent. */
export const ENV = {
  apiKey: "HERALD_API_KEY",
  ingest: "HERALD_INGEST_URL",
  routing: "HERALD_ROUTING_URL",
  delivery: "HERALD_DELIVERY_URL",
  audit: "HERALD_AUDIT_URL",
  tlsCaFile: "HERALD_TLS_CA_FILE",
  tlsCertFile: "HERALD_TLS_CERT_FILE",
  tlsKeyFile: "HERALD_TLS_KEY_FILE",
} as const;

export const DEFAULT_TIMEOUT_MS = 30_000;

/** The global options as commander parsed them. */
export interface GlobalOptions {
  apiKey?: string;
  ingestUrl?: string;
  routingUrl?: string;
  deliveryUrl?: string;
  auditUrl?: string;
  json?: boolean;
  /** Milliseconds, already parsed. */
  timeout?: number;
  tlsCaFile?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
}

/** PEM files for https:// service URLs; each one left out is not used. */
export interface CliTlsFiles {
  /** CAs to trust besides the system's, e.g. the one that signed Herald's certificate. */
  caFile?: string;
  /** A client certificate and its key, for ports that require one. */
  certFile?: string;
  keyFile?: string;
}

/** Everything a command needs to reach Herald, checked. */
export interface CliConfig {
  /** Bearer token; "" when none was given (only `--help` works then). */
  apiKey: string;
  urls: Record<ServiceName, string>;
  json: boolean;
  timeoutMs: number;
  tls: CliTlsFiles;
}

/** Options first, then the environment, then the defaults. */
export function resolveConfig(
  options: GlobalOptions,
  env: Readonly<Record<string, string | undefined>>,
): CliConfig {
  const pick = (option: string | undefined, variable: string) =>
    option !== undefined && option !== "" ? option : env[variable];
  return {
    apiKey: (pick(options.apiKey, ENV.apiKey) ?? "").trim(),
    urls: {
      ingest: serviceUrl("--ingest-url", pick(options.ingestUrl, ENV.ingest) ?? DEFAULT_URLS.ingest),
      routing: serviceUrl("--routing-url", pick(options.routingUrl, ENV.routing) ?? DEFAULT_URLS.routing),
      delivery: serviceUrl(
        "--delivery-url",
        pick(options.deliveryUrl, ENV.delivery) ?? DEFAULT_URLS.delivery,
      ),
      audit: serviceUrl("--audit-url", pick(options.auditUrl, ENV.audit) ?? DEFAULT_URLS.audit),
    },
    json: options.json === true,
    timeoutMs: options.timeout ?? DEFAULT_TIMEOUT_MS,
    tls: tlsFiles({
      caFile: pick(options.tlsCaFile, ENV.tlsCaFile),
      certFile: pick(options.tlsCertFile, ENV.tlsCertFile),
      keyFile: pick(options.tlsKeyFile, ENV.tlsKeyFile),
    }),
  };
}

/** The TLS files given; a client certificate needs its key and the other way round. */
function tlsFiles(files: CliTlsFiles): CliTlsFiles {
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new UsageError(
      `--tls-cert-file and --tls-key-file go together ($${ENV.tlsCertFile} and $${ENV.tlsKeyFile}): give both or neither`,
    );
  }
  return Object.fromEntries(Object.entries(files).filter(([, path]) => path !== undefined && path !== ""));
}

/** An http(s) base URL without a trailing slash. */
export function serviceUrl(option: string, text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${option}: "${text}" is not a URL; expected e.g. ${DEFAULT_URLS.routing}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`${option}: "${text}" must be an http:// or https:// URL`);
  }
  return url.href.replace(/\/+$/, "");
}

/** The API key, or a usage error saying how to give one. */
export function requireApiKey(config: CliConfig): string {
  if (config.apiKey === "") {
    throw new UsageError(`no API key: set ${ENV.apiKey} or pass --api-key`);
  }
  return config.apiKey;
}
