import { configFields, type ServiceConfig, type UrlAllowlist } from "@herald/platform";
import { z } from "zod";

/** Environment variables the control plane reads, to extend the routing service's config schema with. */
export const controlPlaneConfigFields = {
  /** Key ring sealing endpoint secrets at rest: `id:base64key[,id:base64key]`, first one seals. */
  HERALD_SECRET_KEYS: configFields.secretKeyRing,
  /** CIDRs and host names endpoint URLs may point at although they are not public; see configFields. */
  HERALD_URL_ALLOWLIST: configFields.urlAllowlist,
  /** Whether endpoint URLs may use plain http; https only unless "true". */
  HERALD_ALLOW_HTTP: z
    .enum(["true", "false"], { error: 'must be "true" or "false"' })
    .default("false")
    .transform((value) => value === "true"),
};

/** The configuration the control plane needs; the routing service's config has at least this. */
export type ControlPlaneConfig = ServiceConfig & {
  HERALD_SECRET_KEYS: string;
  HERALD_URL_ALLOWLIST: UrlAllowlist;
  HERALD_ALLOW_HTTP: boolean;
};
