import type {
  CreateTenantRequest,
  PortalSettings,
  TenantSettings,
  UpdateTenantRequest,
} from "@herald/contracts";
import { InvalidArgumentError } from "@herald/platform";
import type { PortalSettingsDocument, TenantSettingsDocument } from "@herald/platform/model";
import { checkMetadata, checkRetrySchedule, checkTenantId, checkText } from "./fields.js";

export const MAX_TENANT_NAME = 200;
export const MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Ten years: longer is a mistake more often than a wish. */
export const MAX_RETENTION_DAYS = 3650;
/** A hundred turns for another's one: more would let one tenant starve the others for long stretches. */
export const MAX_DELIVERY_WEIGHT = 100;

/** A checked CreateTenant request. */
export interface NewTenant {
  /** Unset: generate one. */
  id?: string;
  name: string;
  metadata: Record<string, string>;
  settings: TenantSettingsDocument;
}

/** A checked UpdateTenant request: only what is to be replaced. */
export interface TenantPatch {
  name?: string;
  metadata?: Record<string, string>;
  settings?: TenantSettingsDocument;
}

export function checkTenantSettings(
  field: string,
  settings: TenantSettings | undefined,
): TenantSettingsDocument {
  const maxPayloadBytes = settings?.maxPayloadBytes ?? 0;
  if (maxPayloadBytes > MAX_PAYLOAD_BYTES) {
    throw new InvalidArgumentError(
      `${field}.max_payload_bytes`,
      `must be at most ${MAX_PAYLOAD_BYTES} (1 MiB), got ${maxPayloadBytes}; 0 uses the platform default`,
    );
  }
  const retentionDays = settings?.retentionDays ?? 0;
  if (retentionDays > MAX_RETENTION_DAYS) {
    throw new InvalidArgumentError(
      `${field}.retention_days`,
      `must be at most ${MAX_RETENTION_DAYS} (10 years), got ${retentionDays}; 0 uses the platform default`,
    );
  }
  const deliveryWeight = settings?.deliveryWeight ?? 0;
  if (deliveryWeight > MAX_DELIVERY_WEIGHT) {
    throw new InvalidArgumentError(
      `${field}.delivery_weight`,
      `must be from 1 to ${MAX_DELIVERY_WEIGHT}, got ${deliveryWeight}; 0 uses the default weight of 1`,
    );
  }
  return {
    rate_limit_per_second: settings?.rateLimitPerSecond ?? 0,
    max_payload_bytes: maxPayloadBytes,
    retry_schedule_ms: checkRetrySchedule(`${field}.retry_schedule`, settings?.retrySchedule),
    retention_days: retentionDays,
    // Stored only when on, as in tenants written before the catalog: absent means off.
    ...(settings?.refuseUnknownEventTypes ? { refuse_unknown_event_types: true } : {}),
    ...(settings?.validatePayloads ? { validate_payloads: true } : {}),
    portal: checkPortalSettings(`${field}.portal`, settings?.portal),
    // Stored only when above the default, as in tenants written before it: absent means 1.
    ...(deliveryWeight > 1 ? { delivery_weight: deliveryWeight } : {}),
  };
}

export const MAX_FRAME_ANCESTORS = 20;
/** An origin as CSP frame-ancestors takes it: scheme, host (optionally "*." first), optional port. */
const ORIGIN = /^https?:\/\/(\*\.)?[a-zA-Z0-9.-]+(:[0-9]{1,5})?$/;

/** The portal's embedding and look, checked so that nothing read from them can break out of a header or style. */
export function checkPortalSettings(
  field: string,
  portal: PortalSettings | undefined,
): PortalSettingsDocument {
  const frameAncestors = portal?.frameAncestors ?? [];
  if (frameAncestors.length > MAX_FRAME_ANCESTORS) {
    throw new InvalidArgumentError(`${field}.frame_ancestors`, `at most ${MAX_FRAME_ANCESTORS} origins`);
  }
  frameAncestors.forEach((origin, i) => {
    if (!ORIGIN.test(origin)) {
      throw new InvalidArgumentError(
        `${field}.frame_ancestors[${i}]`,
        'must be an origin such as "https://app.example.com" (no path)',
      );
    }
  });
  const brandColor = portal?.brandColor ?? "";
  if (brandColor !== "" && !/^#[0-9a-fA-F]{6}$/.test(brandColor)) {
    throw new InvalidArgumentError(`${field}.brand_color`, 'must be "#rrggbb"');
  }
  const logoUrl = portal?.logoUrl ?? "";
  if (logoUrl !== "") {
    let url: URL | undefined;
    try {
      url = new URL(logoUrl);
    } catch {}
    if (url?.protocol !== "https:" || logoUrl.length > 2048) {
      throw new InvalidArgumentError(`${field}.logo_url`, "must be an https URL of at most 2048 characters");
    }
  }
  return { frame_ancestors: [...frameAncestors], brand_color: brandColor, logo_url: logoUrl };
}

export function parseNewTenant(req: CreateTenantRequest): NewTenant {
  return {
    id: req.tenantId === "" ? undefined : checkTenantId("tenant_id", req.tenantId),
    name: checkText("name", req.name, { max: MAX_TENANT_NAME, required: true }),
    metadata: checkMetadata("metadata", req.metadata),
    settings: checkTenantSettings("settings", req.settings),
  };
}

export function parseTenantPatch(req: UpdateTenantRequest): TenantPatch {
  const patch: TenantPatch = {};
  if (req.name !== undefined)
    patch.name = checkText("name", req.name, { max: MAX_TENANT_NAME, required: true });
  if (req.metadata) patch.metadata = checkMetadata("metadata.entries", req.metadata.entries);
  if (req.settings) patch.settings = checkTenantSettings("settings", req.settings);
  return patch;
}
