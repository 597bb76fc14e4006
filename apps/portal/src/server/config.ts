import { z } from "zod";

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
      "the routing service the portal forwards to (http:// or https://; NODE_EXTRA_CA_CERTS for a private CA)",
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
});

export type PortalConfig = z.infer<typeof portalConfigSchema>;

/** The config, or an error listing one line per bad variable. */
export function loadPortalConfig(env: Record<string, string | undefined>): PortalConfig {
  const parsed = portalConfigSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  throw new Error(`invalid portal configuration:\n${lines.join("\n")}`);
}
