import { create } from "@bufbuild/protobuf";
import { CreateTenantRequestSchema, UpdateTenantRequestSchema } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { msToDuration } from "./fields.js";
import { problem } from "./input.test-support.js";
import { parseNewTenant, parseTenantPatch } from "./tenant-input.js";

describe("parseNewTenant", () => {
  it("maps a request to the stored fields, leaving the id to generate when empty", () => {
    const parsed = parseNewTenant(
      create(CreateTenantRequestSchema, {
        name: "Acme",
        metadata: { plan: "gold" },
        settings: {
          rateLimitPerSecond: 100,
          maxPayloadBytes: 1024 * 1024,
          retrySchedule: { delays: [msToDuration(1_000), msToDuration(86_400_000)] },
          retentionDays: 7,
          deliveryWeight: 3,
        },
      }),
    );
    expect(parsed).toEqual({
      id: undefined,
      name: "Acme",
      metadata: { plan: "gold" },
      settings: {
        rate_limit_per_second: 100,
        max_payload_bytes: 1048576,
        retry_schedule_ms: [1_000, 86_400_000],
        retention_days: 7,
        portal: { frame_ancestors: [], brand_color: "", logo_url: "" },
        delivery_weight: 3,
      },
    });
    expect(parseNewTenant(create(CreateTenantRequestSchema, { tenantId: "A_b-9", name: "x" })).id).toBe(
      "A_b-9",
    );
  });

  it.each<[object, string]>([
    [{ name: "" }, "name: required"],
    [{ name: "   " }, "name: required"],
    [{ name: "n".repeat(201) }, "name: is 201 characters long; at most 200"],
    [{ name: "a\nb" }, "name: must not contain control characters (line breaks, tabs, NUL)"],
    [{ tenantId: "has space" }, "tenant_id: must be 1-64 characters of a-z, A-Z, 0-9, _ or -"],
    [{ tenantId: "x".repeat(65) }, "tenant_id: must be 1-64 characters of a-z, A-Z, 0-9, _ or -"],
    [
      { metadata: { "a.b": "x" } },
      'metadata["a.b"]: keys may not contain "." or control characters, nor start with "$"',
    ],
    [
      { metadata: { $x: "x" } },
      'metadata["$x"]: keys may not contain "." or control characters, nor start with "$"',
    ],
    [
      { metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"])) },
      "metadata: has 51 entries; at most 50",
    ],
    [
      { settings: { rateLimitPerSecond: 0, maxPayloadBytes: 1024 * 1024 + 1 } },
      "settings.max_payload_bytes: must be at most 1048576 (1 MiB), got 1048577; 0 uses the platform default",
    ],
    [
      { settings: { rateLimitPerSecond: 0, maxPayloadBytes: 0, retentionDays: 3651 } },
      "settings.retention_days: must be at most 3650 (10 years), got 3651; 0 uses the platform default",
    ],
    [
      { settings: { deliveryWeight: 101 } },
      "settings.delivery_weight: must be from 1 to 100, got 101; 0 uses the default weight of 1",
    ],
    [
      {
        settings: {
          rateLimitPerSecond: 0,
          maxPayloadBytes: 0,
          retrySchedule: { delays: [msToDuration(500)] },
        },
      },
      "settings.retry_schedule.delays[0]: must be between 1s and 24h, got 0.5s",
    ],
    [
      {
        settings: {
          rateLimitPerSecond: 0,
          maxPayloadBytes: 0,
          retrySchedule: { delays: [{ seconds: -5n, nanos: 0 }] },
        },
      },
      "settings.retry_schedule.delays[0]: must not be negative",
    ],
  ])("refuses case %# (%s)", (init, message) => {
    const req = create(CreateTenantRequestSchema, { name: "ok", ...init });
    expect(problem(() => parseNewTenant(req))).toBe(message);
  });
});

describe("parseTenantPatch", () => {
  it("keeps only the fields present", () => {
    expect(parseTenantPatch(create(UpdateTenantRequestSchema, { tenantId: "t" }))).toEqual({});
    expect(
      parseTenantPatch(
        create(UpdateTenantRequestSchema, { tenantId: "t", name: "New", metadata: { entries: {} } }),
      ),
    ).toEqual({ name: "New", metadata: {} });
    expect(
      parseTenantPatch(
        create(UpdateTenantRequestSchema, { settings: { rateLimitPerSecond: 5, maxPayloadBytes: 0 } }),
      ),
    ).toEqual({
      settings: {
        rate_limit_per_second: 5,
        max_payload_bytes: 0,
        retry_schedule_ms: [],
        retention_days: 0,
        portal: { frame_ancestors: [], brand_color: "", logo_url: "" },
      },
    });
    expect(
      parseTenantPatch(
        create(UpdateTenantRequestSchema, {
          settings: { refuseUnknownEventTypes: true, validatePayloads: true },
        }),
      ).settings,
    ).toMatchObject({ refuse_unknown_event_types: true, validate_payloads: true });
    // The default weight is stored as absent, as in tenants written before it.
    const weights = [0, 1, 2, 100].map(
      (deliveryWeight) =>
        parseTenantPatch(create(UpdateTenantRequestSchema, { settings: { deliveryWeight } })).settings
          ?.delivery_weight,
    );
    expect(weights).toEqual([undefined, undefined, 2, 100]);
    expect(problem(() => parseTenantPatch(create(UpdateTenantRequestSchema, { name: "" })))).toBe(
      "name: required",
    );
    expect(
      problem(() =>
        parseTenantPatch(create(UpdateTenantRequestSchema, { metadata: { entries: { "a.b": "" } } })),
      ),
    ).toMatch(/^metadata\.entries\["a\.b"\]: /);
  });
});
