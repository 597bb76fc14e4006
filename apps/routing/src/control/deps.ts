import type { EndpointStore, EventSchemaCache, SecretBox, TestDeliveryClient } from "@herald/platform/model";
import type { ApiKeyStore } from "./api-key-store.js";
import type { ControlChanges } from "./changes.js";
import type { EventTypeStore } from "./event-type-store.js";
import type { PortalLinkStore } from "./portal-links.js";
import type { TenantStore } from "./tenant-store.js";
import type { UrlPolicy } from "./url-policy.js";

/** What the control-plane RPC handlers work with. */
export interface ControlPlaneDeps {
  tenants: TenantStore;
  endpoints: EndpointStore;
  apiKeys: ApiKeyStore;
  eventTypes: EventTypeStore;
  portalLinks: PortalLinkStore;
  secretBox: SecretBox;
  urlPolicy: UrlPolicy;
  changes: ControlChanges;
  /** Compiled event type schemas, to check test payloads. */
  schemas: EventSchemaCache;
  /** Test deliveries: delivery sends them; a request waits `timeoutMs` for the attempt. */
  testSend: { client: TestDeliveryClient; timeoutMs: number };
  now: () => Date;
}
