import { create } from "@bufbuild/protobuf";
import { type AuditRecord, AuditRecordSchema } from "@herald/contracts";
import type { TenantDocument } from "@herald/platform/model";
import { testTenant } from "@herald/platform/testing";
import { describe, expect, it } from "vitest";
import { dropRecordsOfDeletedTenants, isRecordOfDeletedTenant } from "./deleted-tenants.js";

const MINUTE = 60_000;
const T0 = new Date("2026-06-01T12:00:00Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * MINUTE);
const GRACE = MINUTE;

function tenant(patch: Partial<TenantDocument> = {}): TenantDocument {
  return testTenant("t1", { create_time: at(-60), update_time: at(-60), ...patch });
}

/** An event id created at `time` (Crockford base32 milliseconds, then 16 characters). */
function eventIdAt(time: Date, n = 0): string {
  const chars = "0123456789abcdefghjkmnpqrstvwxyz";
  let t = time.getTime();
  let out = "";
  for (let i = 0; i < 10; i++, t = Math.floor(t / 32)) out = chars[t % 32] + out;
  return `evt_${out}${String(n).padStart(16, "0")}`;
}

describe("isRecordOfDeletedTenant", () => {
  it.each<[string, TenantDocument | null, Date | undefined, boolean]>([
    ["a live tenant's event", tenant(), at(0), false],
    ["an unknown tenant's event", null, at(0), false],
    ["an event whose time is unknown", tenant({ delete_time: at(0) }), undefined, false],
    ["an event of a tenant being deleted", tenant({ delete_time: at(1) }), at(0), true],
    ["an event that raced the deletion", tenant({ delete_time: at(0) }), at(0.5), true],
    ["an event of a purged tenant", tenant({ delete_time: at(0), purge_time: at(2) }), at(-5), true],
    // A stale tombstone in a cache: the new tenant's events are after the grace period, so kept.
    [
      "a re-created tenant's event, against the tombstone",
      tenant({ delete_time: at(0), purge_time: at(2) }),
      at(3),
      false,
    ],
    ["an old event, against the re-created tenant", tenant({ create_time: at(3) }), at(-5), true],
    ["a new event of the re-created tenant", tenant({ create_time: at(3) }), at(4), false],
  ])("%s: %s", (_, ten, eventTime, dropped) => {
    expect(isRecordOfDeletedTenant(ten, eventTime, GRACE)).toBe(dropped);
  });
});

describe("dropRecordsOfDeletedTenants", () => {
  it("keeps the records of live and unknown tenants, reading each tenant once", async () => {
    const lookups: string[] = [];
    const tenants: Record<string, TenantDocument> = {
      live: tenant({ _id: "live" }),
      gone: tenant({ _id: "gone", delete_time: at(0) }),
    };
    const keep = dropRecordsOfDeletedTenants(async (id) => {
      lookups.push(id);
      return tenants[id] ?? null;
    }, GRACE);
    const record = (tenantId: string, eventId: string): AuditRecord =>
      create(AuditRecordSchema, {
        record: { case: "routing", value: { tenantId, eventId, endpointIds: [] } },
      });
    const records = [
      record("live", eventIdAt(at(-1), 1)),
      record("gone", eventIdAt(at(-1), 2)),
      record("gone", eventIdAt(at(-2), 3)),
      record("unknown", eventIdAt(at(-1), 4)),
      record("gone", "evt_not_a_ulid"),
    ];
    const kept = await keep(records);
    expect(kept.map((r) => r.record.value?.eventId)).toEqual([
      eventIdAt(at(-1), 1),
      eventIdAt(at(-1), 4),
      "evt_not_a_ulid",
    ]);
    expect(lookups.sort()).toEqual(["gone", "live", "unknown"]);
  });
});
