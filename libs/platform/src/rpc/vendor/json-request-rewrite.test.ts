import { fromJson } from "@bufbuild/protobuf";
import { EndpointSchema, PublishEventRequestSchema, TenantSchema } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { onlyKnownFields } from "./json-request-rewrite.js";

describe("onlyKnownFields", () => {
  it("is true only where fromJson reads the same with and without ignoreUnknownFields", () => {
    const cases: [object, boolean][] = [
      [
        { tenantId: "a", event: { eventType: "o.c", payload: null, payloadJson: "{}", channels: ["x"] } },
        true,
      ],
      [{ tenant_id: "a", event: { event_type: "o.c", payload_json: "{}" } }, true],
      [{ tenantId: "a", extra: 1 }, false],
      [{ event: { eventType: "o.c", later: true } }, false],
    ];
    for (const [json, expected] of cases) {
      expect(onlyKnownFields(PublishEventRequestSchema, json as never)).toBe(expected);
      const strict = () => fromJson(PublishEventRequestSchema, json as never);
      if (expected)
        expect(strict()).toEqual(
          fromJson(PublishEventRequestSchema, json as never, { ignoreUnknownFields: true }),
        );
      else expect(strict).toThrow();
    }
  });

  it("answers false for enums and recurses into nested messages", () => {
    expect(onlyKnownFields(TenantSchema, { id: "a", settings: { rateLimitPerSecond: 5 } } as never)).toBe(
      true,
    );
    expect(onlyKnownFields(TenantSchema, { id: "a", settings: { nope: 5 } } as never)).toBe(false);
    expect(
      onlyKnownFields(TenantSchema, { createTime: "2026-12-06T07:00:00Z", metadata: { k: "v" } } as never),
    ).toBe(true);
    expect(
      onlyKnownFields(EndpointSchema, { id: "a", signatureScheme: "SIGNATURE_SCHEME_V1" } as never),
    ).toBe(false);
  });
});
