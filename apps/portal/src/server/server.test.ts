import { describe, expect, it } from "vitest";
import { contentSecurityPolicy } from "./headers.js";
import { forwardRpc, PORTAL_METHODS } from "./rpc-forward.js";

describe("contentSecurityPolicy", () => {
  it("allows only the portal's own scripts, and framing by the tenant's origins or none", () => {
    const csp = contentSecurityPolicy(["https://app.example.com"]);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe");
    expect(csp).toContain("frame-ancestors https://app.example.com");
    expect(contentSecurityPolicy([])).toContain("frame-ancestors 'none'");
  });
});

describe("forwardRpc", () => {
  const upstreams = { routing: "http://routing.test", audit: "http://audit.test/" };
  const calls: Array<{ url: string; headers: Headers }> = [];
  const fakeFetch = (async (url: string, init: RequestInit) => {
    calls.push({ url, headers: init.headers as Headers });
    return new Response('{"ok":true}', { status: 200, headers: { "content-type": "application/json" } });
  }) as unknown as typeof fetch;
  const request = (rpc: string, method = "POST") => ({
    method,
    rpc,
    headers: {
      authorization: "Bearer t",
      cookie: "c=1",
      "content-type": "application/json",
      "accept-encoding": "gzip, br",
    },
    body: new Uint8Array(),
  });

  it("sends each portal method to its service with the bearer token and no cookies", async () => {
    const res = await forwardRpc(request("herald.v1.AuditService/GetEvent"), upstreams, fakeFetch);
    expect(res.status).toBe(200);
    expect(calls.at(-1)?.url).toBe("http://audit.test/herald.v1.AuditService/GetEvent");
    expect(calls.at(-1)?.headers.get("authorization")).toBe("Bearer t");
    expect(calls.at(-1)?.headers.get("cookie")).toBeNull();
    // fetch decodes compressed answers, so none is asked for.
    expect(calls.at(-1)?.headers.get("accept-encoding")).toBeNull();
    await forwardRpc(request("herald.v1.EndpointService/RotateSecret"), upstreams, fakeFetch);
    expect(calls.at(-1)?.url).toBe("http://routing.test/herald.v1.EndpointService/RotateSecret");
    await forwardRpc(request("herald.v1.EventTypeService/ListEventTypes"), upstreams, fakeFetch);
    expect(calls.at(-1)?.url).toBe("http://routing.test/herald.v1.EventTypeService/ListEventTypes");
    await forwardRpc(request("herald.v1.AuditService/ListEndpointHealth"), upstreams, fakeFetch);
    expect(calls.at(-1)?.url).toBe("http://audit.test/herald.v1.AuditService/ListEndpointHealth");
  });

  it("refuses every other method, and anything but POST", async () => {
    const before = calls.length;
    for (const rpc of [
      "herald.v1.ApiKeyService/CreateApiKey",
      "herald.v1.PortalService/CreatePortalLink",
      "herald.v1.TenantService/DeleteTenant",
      "herald.v1.AuditService/Redrive",
      "herald.v1.EventTypeService/CreateEventType",
      "herald.v1.EventTypeService/UpdateEventType",
      "herald.v1.EventTypeService/ArchiveEventType",
      "../admin",
    ]) {
      expect(PORTAL_METHODS[rpc]).toBeUndefined();
      expect((await forwardRpc(request(rpc), upstreams, fakeFetch)).status).toBe(404);
    }
    expect(
      (await forwardRpc(request("herald.v1.AuditService/GetEvent", "GET"), upstreams, fakeFetch)).status,
    ).toBe(404);
    expect(calls.length).toBe(before);
  });

  it("answers unavailable without the cause when the service refuses or cannot be reached", async () => {
    const refused = Object.assign(new TypeError("fetch failed"), {
      cause: Object.assign(new Error("tlsv13 alert certificate required"), {
        code: "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED",
      }),
    });
    const errors: Array<[string, unknown]> = [];
    const res = await forwardRpc(
      request("herald.v1.EndpointService/ListEndpoints"),
      upstreams,
      async () => {
        throw refused;
      },
      (service, error) => errors.push([service, error]),
    );
    expect(res.status).toBe(503);
    expect(JSON.parse(new TextDecoder().decode(res.body))).toEqual({
      code: "unavailable",
      message: "the routing service cannot be reached",
    });
    expect(errors).toEqual([["routing", refused]]);
  });
});
