import { Scope } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { PermissionDeniedError } from "../errors.js";
import {
  authorizeEndpoint,
  authorizeTenant,
  authorizeWrite,
  generateApiKey,
  hashApiKeySecret,
  parseApiKeyToken,
  safeEqual,
  visibleEndpoints,
} from "./auth.js";

describe("API key tokens", () => {
  it("parse back into the id and a secret matching the stored hash", () => {
    const key = generateApiKey();
    const parsed = parseApiKeyToken(key.token);
    expect(parsed?.id).toBe(key.id);
    expect(hashApiKeySecret(parsed?.secret ?? "")).toBe(key.secretHash);
    expect(key.token).not.toContain(key.secretHash);
  });

  it.each(["", "hk_", "Bearer hk_x", `hk_${"0".repeat(18)}_short`, `sk_${"0".repeat(18)}_${"a".repeat(43)}`])(
    "refuses the malformed token %j",
    (token) => expect(parseApiKeyToken(token)).toBeUndefined(),
  );
});

describe("authorizeTenant", () => {
  const tenantKey = { keyId: "k", tenantId: "acme", scopes: new Set([Scope.EVENTS_PUBLISH]) };

  it("lets a tenant key act on its own tenant with its scope", () => {
    expect(() => authorizeTenant(tenantKey, "acme", Scope.EVENTS_PUBLISH)).not.toThrow();
  });

  it("refuses another tenant and a missing scope", () => {
    expect(() => authorizeTenant(tenantKey, "globex", Scope.EVENTS_PUBLISH)).toThrow(PermissionDeniedError);
    expect(() => authorizeTenant(tenantKey, "acme", Scope.AUDIT_READ)).toThrow(/lacks the audit:read scope/);
  });

  it("lets an admin key act on any tenant", () => {
    const admin = { keyId: "a", scopes: new Set([Scope.ADMIN]) };
    expect(() => authorizeTenant(admin, "globex", Scope.AUDIT_READ)).not.toThrow();
  });
});

describe("portal session limits", () => {
  const limited = {
    keyId: "s",
    tenantId: "acme",
    scopes: new Set([Scope.AUDIT_READ]),
    endpointIds: new Set(["ep_1"]),
    readOnly: true,
  };
  const full = { keyId: "k", tenantId: "acme", scopes: new Set([Scope.AUDIT_READ]) };

  it("lets a limited session see only its endpoints, and an ordinary key every one", () => {
    expect(() => authorizeEndpoint(limited, "ep_1")).not.toThrow();
    expect(() => authorizeEndpoint(limited, "ep_2")).toThrow(/may not access endpoint "ep_2"/);
    expect(() => authorizeEndpoint(full, "ep_2")).not.toThrow();
    expect(visibleEndpoints(limited)).toEqual(["ep_1"]);
    expect(visibleEndpoints(full)).toBeUndefined();
  });

  it("refuses changes to a read-only session", () => {
    expect(() => authorizeWrite(limited)).toThrow(/read-only/);
    expect(() => authorizeWrite(full)).not.toThrow();
  });
});

describe("safeEqual", () => {
  it("compares by value, including length", () => {
    expect(safeEqual("abc", "abc")).toBe(true);
    expect(safeEqual("abc", "abd")).toBe(false);
    expect(safeEqual("abc", "abcd")).toBe(false);
  });
});
