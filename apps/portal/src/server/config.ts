import { z } from "zod";
import type { UpstreamTlsFiles } from "./upstream.js";

/** A PEM file's path; empty is the same as unset, as for the CLI. */
const pemFile = z.preprocess((value) => (value === "" ? undefined : value), z.string().optional());

/** The portal server's settings, from the environment (docs/operator-guide.md §13, "The tenant portal"). */
export const portalConfigSchema = z.object({
  HOST: z.string().min(1).default("127.0.0.1").describe("address the server listens on"),
  PORTAL_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65_535)
    .default(7005)
    .describe("port the portal listens on"),
  HERALD_ROUTING_URL: z
    .url()
    .default("http://127.0.0.1:7002")
    .describe(
      "the routing service the portal forwards to (http:// or https://; `HERALD_TLS_*` for a private CA and a client certificate)",
    ),
  HERALD_AUDIT_URL: z
    .url()
    .default("http://127.0.0.1:7004")
    .describe("the audit service the portal forwards to (http:// or https://)"),
  // The portal reads a tenant's frame ancestors with it, and nothing else.
  HERALD_ADMIN_KEY: z
    .string()
    .min(32)
    .meta({ description: "bootstrap admin API key", defaultText: "— (required, ≥ 32 chars)" }),
  // The same variables as the CLI's: the portal is a client of the services like it.
  HERALD_TLS_CA_FILE: pemFile.meta({
    description: "PEM CAs to trust for https:// service URLs, besides the default ones",
    defaultText: "empty: the default CAs",
  }),
  HERALD_TLS_CERT_FILE: pemFile.meta({
    description:
      "PEM client certificate presented to the services (for `RPC_TLS_CLIENT_AUTH`), with `HERALD_TLS_KEY_FILE`; reloaded when the files change",
    defaultText: "empty: none",
  }),
  HERALD_TLS_KEY_FILE: pemFile.meta({
    description: "PEM key of `HERALD_TLS_CERT_FILE`",
    defaultText: "empty: none",
  }),
});

export type PortalConfig = z.infer<typeof portalConfigSchema>;

/** The config, or an error listing one line per bad variable. */
export function loadPortalConfig(env: Record<string, string | undefined>): PortalConfig {
  const parsed = portalConfigSchema.safeParse(env);
  const lines = parsed.success
    ? tlsPairProblems(parsed.data)
    : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  if (parsed.success && lines.length === 0) return parsed.data;
  throw new Error(`invalid portal configuration:\n${lines.join("\n")}`);
}

/** A client certificate is of no use without its key, nor the key without it. */
function tlsPairProblems(config: PortalConfig): string[] {
  if (config.HERALD_TLS_CERT_FILE !== undefined && config.HERALD_TLS_KEY_FILE === undefined)
    return ["HERALD_TLS_KEY_FILE: required with HERALD_TLS_CERT_FILE (a client certificate needs its key)"];
  if (config.HERALD_TLS_KEY_FILE !== undefined && config.HERALD_TLS_CERT_FILE === undefined)
    return ["HERALD_TLS_CERT_FILE: required with HERALD_TLS_KEY_FILE (a key needs its certificate)"];
  return [];
}

/** The TLS files the portal's client to the services uses. */
export function upstreamTlsFiles(config: PortalConfig): UpstreamTlsFiles {
  return {
    ...(config.HERALD_TLS_CA_FILE !== undefined && { caFile: config.HERALD_TLS_CA_FILE }),
    ...(config.HERALD_TLS_CERT_FILE !== undefined && { certFile: config.HERALD_TLS_CERT_FILE }),
    ...(config.HERALD_TLS_KEY_FILE !== undefined && { keyFile: config.HERALD_TLS_KEY_FILE }),
  };
}
