import type { UpstreamFetch } from "./upstream.js";

/** Reads a tenant's allowed frame ancestors from routing, with the admin key; cached briefly. */
export class FrameAncestors {
  readonly #cache = new Map<string, { origins: string[]; readAt: number }>();
  readonly #routingUrl: string;
  readonly #adminKey: string;
  readonly #ttlMs: number;
  readonly #fetch: UpstreamFetch;

  constructor(options: { routingUrl: string; adminKey: string; ttlMs?: number; fetch?: UpstreamFetch }) {
    this.#routingUrl = options.routingUrl.replace(/\/+$/, "");
    this.#adminKey = options.adminKey;
    this.#ttlMs = options.ttlMs ?? 10_000;
    this.#fetch = options.fetch ?? fetch;
  }

  /**
   * The origins that may frame the tenant's portal; none when the tenant is unknown or routing does not
   * answer, so a failure never widens framing.
   */
  async of(tenantId: string): Promise<string[]> {
    const cached = this.#cache.get(tenantId);
    if (cached && Date.now() - cached.readAt < this.#ttlMs) return cached.origins;
    let origins: string[] = [];
    try {
      const res = await this.#fetch(`${this.#routingUrl}/herald.v1.TenantService/GetTenant`, {
        method: "POST",
        headers: new Headers({
          "content-type": "application/json",
          authorization: `Bearer ${this.#adminKey}`,
        }),
        body: JSON.stringify({ tenantId }),
      });
      if (res.ok) {
        const body = (await res.json()) as {
          tenant?: { settings?: { portal?: { frameAncestors?: string[] } } };
        };
        origins = body.tenant?.settings?.portal?.frameAncestors ?? [];
      }
    } catch {
      return [];
    }
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(tenantId, { origins, readAt: Date.now() });
    return origins;
  }
}
