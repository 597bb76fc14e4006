import { create } from "@bufbuild/protobuf";
import { CreateApiKeyRequestSchema, Scope } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { parseNewApiKey } from "./api-key-input.js";

const request = (init: { name?: string; tenantId?: string; scopes?: Scope[] }) =>
  create(CreateApiKeyRequestSchema, { name: "ci", ...init });

describe("parseNewApiKey", () => {
  it("takes SCOPE_ADMIN alone without a tenant, or tenant scopes with one", () => {
    expect(parseNewApiKey(request({ scopes: [Scope.ADMIN] }))).toEqual({ name: "ci", scopes: [Scope.ADMIN] });
    expect(
      parseNewApiKey(
        request({ tenantId: "t1", scopes: [Scope.EVENTS_PUBLISH, Scope.AUDIT_READ, Scope.EVENTS_PUBLISH] }),
      ),
    ).toEqual({ name: "ci", tenantId: "t1", scopes: [Scope.EVENTS_PUBLISH, Scope.AUDIT_READ] });
  });

  it.each<[{ name?: string; tenantId?: string; scopes: Scope[] }, RegExp]>([
    [{ name: "", scopes: [Scope.ADMIN] }, /^name: required/],
    [{ scopes: [] }, /^scopes: required/],
    [{ tenantId: "t1", scopes: [Scope.ADMIN] }, /^scopes: SCOPE_ADMIN must be the only scope/],
    [{ scopes: [Scope.ADMIN, Scope.AUDIT_READ] }, /^scopes: SCOPE_ADMIN must be the only scope/],
    [
      { tenantId: "t1", scopes: [Scope.AUDIT_READ, Scope.UNSPECIFIED] },
      /^scopes\[1\]: must be SCOPE_EVENTS_PUBLISH/,
    ],
    [{ tenantId: "t1", scopes: [99 as Scope] }, /^scopes\[0\]: /],
    [{ scopes: [Scope.ENDPOINTS_MANAGE] }, /^tenant_id: required/],
    [{ tenantId: "bad id", scopes: [Scope.ENDPOINTS_MANAGE] }, /^tenant_id: must be 1-64/],
  ])("refuses %j", (init, message) => {
    expect(() => parseNewApiKey(request(init))).toThrow(message);
  });
});
