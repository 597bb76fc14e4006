import { create } from "@bufbuild/protobuf";
import { ControlNotificationSchema, Scope } from "@herald/contracts";
import type { Db } from "mongodb";
import { beforeEach, describe, expect, it } from "vitest";
import { ApiKeyAuthenticator, type ApiKeyDocument } from "./api-keys.js";
import { generateApiKey } from "./auth.js";

/** An `api_keys` collection in memory that counts its reads. */
class FakeKeys {
  readonly docs = new Map<string, ApiKeyDocument>();
  reads = 0;

  db(): Db {
    const findOne = async (filter: { _id: string }) => {
      this.reads++;
      return this.docs.get(filter._id) ?? null;
    };
    return { collection: () => ({ findOne }) } as unknown as Db;
  }

  add(tenantId: string | undefined, scopes: Scope[]): { id: string; token: string } {
    const key = generateApiKey();
    this.docs.set(key.id, {
      _id: key.id,
      name: key.id,
      tenant_id: tenantId,
      scopes,
      secret_hash: key.secretHash,
      revoked: false,
      create_time: new Date(0),
    });
    return { id: key.id, token: key.token };
  }

  /** Revokes in storage only, as another routing instance would: no invalidation reaches the cache. */
  revoke(id: string): void {
    const doc = this.docs.get(id);
    if (doc) doc.revoked = true;
  }
}

let keys: FakeKeys;
let clock: number;
let authenticator: ApiKeyAuthenticator;

beforeEach(() => {
  keys = new FakeKeys();
  clock = 0;
  authenticator = new ApiKeyAuthenticator(keys.db(), { adminKey: "bootstrap", now: () => clock });
});

const notification = (init: {
  tenantId?: string;
  endpointId?: string;
  apiKeyId?: string;
  eventType?: string;
}) => create(ControlNotificationSchema, init);

describe("ApiKeyAuthenticator", () => {
  it("reads a busy key from MongoDB once while its cached copy is fresh", async () => {
    const key = keys.add("t1", [Scope.EVENTS_PUBLISH]);
    const principals = await Promise.all(
      Array.from({ length: 20 }, () => authenticator.authenticate(key.token)),
    );
    expect(principals.every((p) => p?.keyId === key.id && p.tenantId === "t1")).toBe(true);
    clock = 999;
    await authenticator.authenticate(key.token);
    expect(keys.reads).toBe(1);
  });

  it("refuses a key revoked without any notification once its cached copy is 1 s old (a disconnected service)", async () => {
    const key = keys.add("t1", [Scope.AUDIT_READ]);
    expect(await authenticator.authenticate(key.token)).toBeDefined();
    keys.revoke(key.id);
    clock = 1_000;
    expect(await authenticator.authenticate(key.token)).toBeUndefined();
  });

  it("does not hand a call a read under way that began 1 s ago or more (it may predate a revocation)", async () => {
    const key = keys.add("t1", [Scope.AUDIT_READ]);
    let release = () => {};
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Each read sees the document as it was when the read began, and answers once released.
    const findOne = async (filter: { _id: string }) => {
      const doc = keys.docs.get(filter._id);
      const seen = doc && { ...doc };
      await slow;
      return seen ?? null;
    };
    const slowReads = new ApiKeyAuthenticator({ collection: () => ({ findOne }) } as unknown as Db, {
      adminKey: "bootstrap",
      now: () => clock,
    });
    const early = slowReads.authenticate(key.token);
    clock = 999;
    const joined = slowReads.authenticate(key.token);
    keys.revoke(key.id);
    clock = 1_000;
    const late = slowReads.authenticate(key.token);
    release();
    expect(await early).toBeDefined();
    expect(await joined).toBeDefined();
    expect(await late).toBeUndefined();
  });

  it("never trusts a cached key longer than 1 s, whatever cacheTtlMs asks for", async () => {
    const long = new ApiKeyAuthenticator(keys.db(), {
      adminKey: "bootstrap",
      cacheTtlMs: 60_000,
      now: () => clock,
    });
    const key = keys.add(undefined, [Scope.ADMIN]);
    expect(await long.authenticate(key.token)).toBeDefined();
    keys.revoke(key.id);
    clock = 1_000;
    expect(await long.authenticate(key.token)).toBeUndefined();
  });

  it("forgets a revoked tenant key named by a notification at once, and keeps the tenant's other keys", async () => {
    const revoked = keys.add("t1", [Scope.AUDIT_READ]);
    const kept = keys.add("t1", [Scope.EVENTS_PUBLISH]);
    await authenticator.authenticate(revoked.token);
    await authenticator.authenticate(kept.token);
    keys.revoke(revoked.id);
    authenticator.onControlChange(notification({ tenantId: "t1", apiKeyId: revoked.id }));
    expect(await authenticator.authenticate(revoked.token)).toBeUndefined();
    expect(await authenticator.authenticate(kept.token)).toBeDefined();
    expect(keys.reads).toBe(3);
  });

  it("forgets a revoked admin key (no tenant) named by a notification at once", async () => {
    const admin = keys.add(undefined, [Scope.ADMIN]);
    await authenticator.authenticate(admin.token);
    keys.revoke(admin.id);
    authenticator.onControlChange(notification({ tenantId: "", apiKeyId: admin.id }));
    expect(await authenticator.authenticate(admin.token)).toBeUndefined();
  });

  it("forgets every key on reconnection, and on an older routing's admin revocation that names no key", async () => {
    const admin = keys.add(undefined, [Scope.ADMIN]);
    const tenant = keys.add("t1", [Scope.AUDIT_READ]);
    for (const change of [undefined, notification({ tenantId: "" })]) {
      await authenticator.authenticate(admin.token);
      await authenticator.authenticate(tenant.token);
      const before = keys.reads;
      authenticator.onControlChange(change);
      await authenticator.authenticate(admin.token);
      await authenticator.authenticate(tenant.token);
      expect(keys.reads - before).toBe(2);
    }
  });

  it("forgets a tenant's keys on a tenant-wide change (its deletion), not on an endpoint or event type change", async () => {
    const key = keys.add("t1", [Scope.AUDIT_READ]);
    await authenticator.authenticate(key.token);
    authenticator.onControlChange(notification({ tenantId: "t1", endpointId: "ep1" }));
    authenticator.onControlChange(notification({ tenantId: "t1", eventType: "order.created" }));
    await authenticator.authenticate(key.token);
    expect(keys.reads).toBe(1);
    keys.docs.delete(key.id);
    authenticator.onControlChange(notification({ tenantId: "t1" }));
    expect(await authenticator.authenticate(key.token)).toBeUndefined();
  });

  it("does not cache a read that a revocation overtook", async () => {
    const key = keys.add("t1", [Scope.AUDIT_READ]);
    const reading = authenticator.authenticate(key.token);
    keys.revoke(key.id);
    authenticator.onControlChange(notification({ tenantId: "t1", apiKeyId: key.id }));
    await reading;
    expect(await authenticator.authenticate(key.token)).toBeUndefined();
  });

  it("refuses a portal session's key once it expires, also from its cache, and keeps its limits", async () => {
    let wall = 10_000;
    const expiring = new ApiKeyAuthenticator(keys.db(), {
      adminKey: "bootstrap",
      now: () => clock,
      wallClock: () => wall,
    });
    const key = keys.add("t1", [Scope.AUDIT_READ]);
    Object.assign(keys.docs.get(key.id) ?? {}, {
      expire_time: new Date(11_000),
      endpoint_ids: ["ep_1"],
      read_only: true,
    });
    const principal = await expiring.authenticate(key.token);
    expect(principal).toMatchObject({ expiresAt: 11_000, readOnly: true });
    expect([...(principal?.endpointIds ?? [])]).toEqual(["ep_1"]);
    wall = 11_000;
    expect(await expiring.authenticate(key.token)).toBeUndefined();
    expect(keys.reads).toBe(1);
  });

  it("refuses unknown tokens and wrong secrets", async () => {
    const key = keys.add("t1", [Scope.AUDIT_READ]);
    expect(await authenticator.authenticate("nonsense")).toBeUndefined();
    expect(await authenticator.authenticate(`${key.token}x`)).toBeUndefined();
    expect((await authenticator.authenticate("bootstrap"))?.keyId).toBe("bootstrap-admin");
  });
});
