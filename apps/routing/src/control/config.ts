import { configFields, type ServiceConfig } from "@herald/platform";
import { operatorTenant, secretKeyRing, type UrlAllowlist, urlAllowlist } from "@herald/platform/model";

/** Environment variables the control plane reads, to extend the routing service's config schema with. */
export const controlPlaneConfigFields = {
  /** Key ring sealing endpoint secrets at rest: `id:base64key[,id:base64key]`, first one seals. */
  HERALD_SECRET_KEYS: secretKeyRing,
  /** CIDRs and host names endpoint URLs may point at although they are not public; see urlAllowlist. */
  HERALD_URL_ALLOWLIST: urlAllowlist,
  /** Endpoints re-sealed under the key ring's first key per batch of the background re-seal. */
  SECRET_RESEAL_BATCH: configFields.positiveInt
    .max(1_000)
    .default(100)
    .describe("endpoints re-sealed under the key ring's first key per batch"),
  /** Time between re-seal passes; each restart runs one at once, so after a key change it starts at once. */
  SECRET_RESEAL_INTERVAL: configFields.duration
    .refine((ms) => ms >= 1_000, { message: "must be at least 1s" })
    .default(600_000)
    .describe("time between re-seal passes; a pass runs at start, then every interval"),
  /** Whether endpoint URLs may use plain http; https only unless "true". */
  HERALD_ALLOW_HTTP: configFields.flag.default(false).describe("accept `http://` endpoint URLs"),
  /**
   * How long TestEndpoint waits for delivery to send the test and answer; longer than delivery's
   * DELIVERY_TIMEOUT_MS, so a slow receiver's timeout reaches the caller as the attempt's error.
   */
  TEST_SEND_TIMEOUT: configFields.duration
    .refine((ms) => ms >= 1_000 && ms <= 120_000, { message: "must be between 1s and 2m" })
    .default(20_000)
    .describe(
      "how long `TestEndpoint` waits for delivery's answer; keep it above delivery's `DELIVERY_TIMEOUT_MS`",
    ),
  /** The operator's platform tenant: gets a copy of every tenant's operational events. */
  HERALD_OPERATOR_TENANT: operatorTenant,
};

/** The configuration the control plane needs; the routing service's config has at least this. */
export type ControlPlaneConfig = ServiceConfig & {
  HERALD_SECRET_KEYS: string;
  SECRET_RESEAL_BATCH: number;
  SECRET_RESEAL_INTERVAL: number;
  HERALD_URL_ALLOWLIST: UrlAllowlist;
  HERALD_ALLOW_HTTP: boolean;
  TEST_SEND_TIMEOUT: number;
  HERALD_OPERATOR_TENANT: string;
};
