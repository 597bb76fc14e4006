import { create, equals, toBinary } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AttemptTrigger,
  AttemptWait,
  AuditRecordSchema,
  DeliveryState,
  type DeliveryTask,
  DisabledReason,
  ErrorClass,
} from "@herald/contracts";
import { createLogger } from "@herald/platform";
import {
  type EndpointDocument,
  type OperationalFact,
  sealHeaders,
  type TenantDocument,
} from "@herald/platform/model";
import { describe, expect, it } from "vitest";
import { CircuitBreakers } from "./circuit-breaker.js";
import { attemptRecord, attemptWait, type DeliverDeps, deliverTask, heldBack } from "./deliver-task.js";
import { box, deliveryDeps, deliveryTask, hookEndpoint, NOW, tenant } from "./delivery.test-support.js";
import { WebhookRequestError, type WebhookResponse } from "./webhook-client.js";

const endpoint = (patch: Partial<EndpointDocument> = {}) =>
  hookEndpoint({ headers: { "x-team": "billing" }, ...patch });

function task(patch: Omit<Partial<DeliveryTask>, "$typeName"> = {}): DeliveryTask {
  return deliveryTask({
    dueTime: timestampFromDate(new Date(NOW)),
    trigger: AttemptTrigger.SCHEDULED,
    ...patch,
  });
}

function harness(answer: () => Promise<WebhookResponse>, ep = endpoint(), ten: TenantDocument = tenant) {
  const { deps: shared, sent, audits } = deliveryDeps(answer, ep, ten);
  const released: number[] = [];
  const retries: Array<{ task: DeliveryTask; due: number; options?: object }> = [];
  const dead: DeliveryTask[] = [];
  const disabled: DisabledReason[] = [];
  const failingSince: Array<Date | undefined> = [];
  const recovered: string[] = [];
  const emitted: OperationalFact[] = [];
  const deps: DeliverDeps = {
    ...shared,
    publishAt: async (t, due, options) => void retries.push({ task: t, due, options }),
    publishDead: async (t) => void dead.push(t),
    disableEndpoint: async (_e, reason) => {
      disabled.push(reason);
      return true;
    },
    setFailingSince: async (_e, since) => {
      failingSince.push(since);
      return since !== undefined;
    },
    emit: async (fact) => void emitted.push(fact),
    failingSustainedMs: 3_600_000,
    breakers: new CircuitBreakers(
      { failureRatio: 0.5, minimumAttempts: 2, windowMs: 60_000, cooldownMs: 30_000 },
      () => NOW,
    ),
    announceRecovered: async (e) => void recovered.push(e._id),
    admit: async () => ({ admission: { release: async () => void released.push(1) } }),
    disableAfterMs: 86_400_000,
    platformScheduleMs: [5_000, 300_000],
    logger: createLogger({ service: "test", level: "silent" }),
  };
  const attempt = () => {
    const record = audits[0]?.record;
    if (record?.case !== "attempt") throw new Error("no attempt recorded");
    return record.value;
  };
  return { deps, sent, retries, dead, audits, disabled, failingSince, released, recovered, emitted, attempt };
}

const reply =
  (status: number, headers: Record<string, string> = {}) =>
  async () => ({
    status,
    headers,
    body: "nope",
    latencyMs: 12,
  });

describe("deliverTask", () => {
  it("sends sealed custom headers opened, and records none of their values", async () => {
    const sealed = endpoint(sealHeaders({ Authorization: "Bearer receiver-only" }, box));
    const h = harness(reply(500), sealed);
    await deliverTask(h.deps, task());
    expect(h.sent[0]?.headers.Authorization).toBe("Bearer receiver-only");
    expect(JSON.stringify(h.audits, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain(
      "receiver-only",
    );
  });

  it.each<[string, TenantDocument]>([
    ["being deleted", { ...tenant, delete_time: new Date(NOW) }],
    ["re-created after the event", { ...tenant, create_time: new Date(NOW + 60_000) }],
  ])("drops a task of a tenant %s without sending or recording it", async (_, ten) => {
    const h = harness(reply(200), endpoint(), ten);
    h.deps.breakers.record("ep_1", false);
    h.deps.breakers.record("ep_1", false);
    expect(h.deps.breakers.state("ep_1")).toBe("open");
    expect(await deliverTask(h.deps, task({ eventTime: timestampFromDate(new Date(NOW)) }))).toEqual({
      kind: "skipped",
    });
    expect(h.sent).toEqual([]);
    expect(h.audits).toEqual([]);
    // Its circuit state is gone with it.
    expect(h.deps.breakers.counts()).toEqual({ closed: 0, open: 0, "half-open": 0 });
  });

  it("signs, sends and records a success", async () => {
    const h = harness(reply(200));
    await deliverTask(h.deps, task());
    expect(h.sent[0]?.url).toBe("https://hooks.example.com/in?token=abc");
    expect(h.sent[0]?.headers).toMatchObject({
      "x-team": "billing",
      "webhook-id": "evt_1",
      "webhook-timestamp": String(NOW / 1000),
      "user-agent": "Herald/test",
    });
    expect(h.sent[0]?.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(h.audits[0]?.state).toBe(DeliveryState.SUCCEEDED);
    expect(h.attempt()).toMatchObject({
      success: true,
      responseStatus: 200,
      latencyMs: 12,
      errorClass: ErrorClass.NONE,
    });
    // The query string, where receivers put tokens, stays out of the record.
    expect(h.attempt().url).toBe("https://hooks.example.com/in");
    expect(h.retries).toEqual([]);
  });

  it("schedules the next attempt in the right tier after a failure", async () => {
    const h = harness(reply(500));
    await deliverTask(h.deps, task());
    expect(h.audits[0]?.state).toBe(DeliveryState.FAILED);
    expect(h.attempt()).toMatchObject({
      success: false,
      responseStatus: 500,
      errorClass: ErrorClass.HTTP_STATUS,
      responseBody: "nope",
    });
    const retry = h.retries[0];
    expect(retry?.task.attempt).toBe(2);
    expect(retry?.task.eventId).toBe("evt_1");
    const delay = (retry?.due ?? 0) - NOW;
    expect(delay).toBeGreaterThanOrEqual(4_000);
    expect(delay).toBeLessThanOrEqual(6_000);
    // On time: not a lower bound, nor lenient.
    expect(retry?.options).toEqual({ now: NOW });
    expect(timestampDate(h.attempt().nextAttemptTime ?? timestampFromDate(new Date())).getTime()).toBe(
      NOW + delay,
    );
  });

  it("dead-letters after the last attempt", async () => {
    const h = harness(reply(503));
    await deliverTask(h.deps, task({ attempt: 3 }));
    expect(h.dead.map((t) => t.attempt)).toEqual([3]);
    expect(h.audits[0]?.state).toBe(DeliveryState.DEAD);
    expect(h.retries).toEqual([]);
  });

  it("disables the endpoint on 410 Gone and stops retrying", async () => {
    const h = harness(reply(410));
    await deliverTask(h.deps, task());
    expect(h.disabled).toEqual([DisabledReason.GONE]);
    expect(h.audits[0]?.state).toBe(DeliveryState.DEAD);
    expect(h.retries).toEqual([]);
    expect(h.dead).toEqual([]);
  });

  it("honours Retry-After on 429, clamped to the schedule", async () => {
    const h = harness(reply(429, { "retry-after": "60" }));
    await deliverTask(h.deps, task());
    expect(h.retries[0]?.due).toBe(NOW + 60_000);
    const far = harness(reply(503, { "retry-after": "86400" }));
    await deliverTask(far.deps, task());
    expect(far.retries[0]?.due).toBe(NOW + 300_000);
  });

  it("retries a timeout and records its class", async () => {
    const h = harness(async () => {
      throw new WebhookRequestError("timeout", "the receiver did not answer in time", 15_000);
    });
    await deliverTask(h.deps, task());
    expect(h.attempt()).toMatchObject({
      errorClass: ErrorClass.TIMEOUT,
      responseStatus: 0,
      latencyMs: 15_000,
    });
    expect(h.retries).toHaveLength(1);
  });

  it("sends nothing to a disabled endpoint and records why", async () => {
    const h = harness(reply(200), endpoint({ disabled: true, disabled_reason: DisabledReason.MANUAL }));
    await deliverTask(h.deps, task());
    expect(h.sent).toEqual([]);
    expect(h.audits[0]?.state).toBe(DeliveryState.DEAD);
    expect(h.attempt().errorMessage).toMatch(/endpoint is disabled/);
  });

  it("uses the endpoint's own schedule before the tenant's and the platform's", async () => {
    const h = harness(reply(500), endpoint({ retry_schedule_ms: [1_000] }));
    await deliverTask(h.deps, task());
    const delay = (h.retries[0]?.due ?? 0) - NOW;
    expect(delay).toBeLessThanOrEqual(1_200);
    const last = harness(reply(500), endpoint({ retry_schedule_ms: [1_000] }));
    await deliverTask(last.deps, task({ attempt: 2 }));
    expect(last.dead).toHaveLength(1);
  });

  it("marks when a run of failures began, clears it on success, and disables after the limit", async () => {
    const first = harness(reply(500));
    await deliverTask(first.deps, task());
    expect(first.failingSince).toEqual([new Date(NOW)]);

    const recovered = harness(reply(200), endpoint({ failing_since: new Date(NOW - 1000) }));
    await deliverTask(recovered.deps, task());
    expect(recovered.failingSince).toEqual([undefined]);

    const longFailing = harness(reply(500), endpoint({ failing_since: new Date(NOW - 86_400_000) }));
    await deliverTask(longFailing.deps, task());
    expect(longFailing.disabled).toEqual([DisabledReason.FAILING]);
  });

  it("parks tasks without sending while the endpoint's circuit is open", async () => {
    const h = harness(reply(500));
    await deliverTask(h.deps, task());
    await deliverTask(h.deps, task());
    expect(h.sent).toHaveLength(2);
    const outcome = await deliverTask(h.deps, task({ attempt: 3 }));
    expect(outcome).toEqual({ kind: "parked" });
    expect(h.sent).toHaveLength(2);
    // 30 s of cooldown left: back no sooner, and later is fine if it costs the broker less.
    const parked = h.retries.at(-1);
    expect(parked?.task.attempt).toBe(3);
    expect(parked?.due).toBe(NOW + 30_000);
    expect(parked?.options).toEqual({ now: NOW, notBefore: true, lenient: true });
  });

  it("sends an operator's replay through an open circuit at once, and its success closes the circuit", async () => {
    let status = 500;
    const h = harness(async () => reply(status)());
    await deliverTask(h.deps, task());
    await deliverTask(h.deps, task());
    expect(await deliverTask(h.deps, task({ attempt: 3 }))).toEqual({ kind: "parked" });
    status = 200;
    const replay = await deliverTask(h.deps, task({ attempt: 4, trigger: AttemptTrigger.MANUAL }));
    expect(replay.kind).toBe("succeeded");
    expect(h.sent).toHaveLength(3);
    expect(h.deps.breakers.state("ep_1")).toBe("closed");
    // Every other delivery instance hears of it and closes its own circuit.
    expect(h.recovered).toEqual(["ep_1"]);
    expect((await deliverTask(h.deps, task({ attempt: 3 }))).kind).toBe("succeeded");
    expect(h.recovered).toEqual(["ep_1"]);
  });

  it("parks a task when the endpoint is at its rate or concurrency limit, and releases slots after sending", async () => {
    const h = harness(reply(200));
    h.deps.admit = async () => ({ waitMs: 700 });
    expect(await deliverTask(h.deps, task())).toEqual({ kind: "parked" });
    expect(h.sent).toEqual([]);
    expect(h.retries[0]?.task.attempt).toBe(1);
    expect(h.retries[0]?.due).toBe(NOW + 700);
    expect(h.retries[0]?.options).toEqual({ now: NOW, notBefore: true, lenient: false });

    const ok = harness(reply(200));
    await deliverTask(ok.deps, task());
    expect(ok.released).toEqual([1]);
  });

  describe("operational events", () => {
    const types = (h: { emitted: OperationalFact[] }) => h.emitted.map((f) => f.type);

    it("tells of an endpoint disabled by 410 Gone, with the reason and without its query string", async () => {
      const h = harness(reply(410));
      await deliverTask(h.deps, task());
      expect(h.emitted).toEqual([
        expect.objectContaining({
          type: "herald.endpoint.disabled",
          tenantId: "t1",
          key: `ep_1:${new Date(NOW).toISOString()}`,
          data: { endpoint_id: "ep_1", endpoint_url: "https://hooks.example.com/in", reason: "gone" },
        }),
      ]);
      expect(JSON.stringify(h.emitted)).not.toContain("token=abc");
    });

    it("tells nothing when another instance disabled the endpoint first", async () => {
      const h = harness(reply(410));
      h.deps.disableEndpoint = async () => false;
      await deliverTask(h.deps, task());
      expect(h.emitted).toEqual([]);
    });

    it("tells of the first failure after a success, once per run, with its status", async () => {
      const h = harness(reply(503));
      await deliverTask(h.deps, task());
      expect(h.emitted).toEqual([
        expect.objectContaining({
          type: "herald.endpoint.failing",
          key: `ep_1:${new Date(NOW).toISOString()}`,
          data: expect.objectContaining({ phase: "started", last_status: 503, last_error: "http_status" }),
        }),
      ]);
      // The run is begun already (another instance, or an earlier attempt): no second "started".
      const again = harness(reply(503), endpoint({ failing_since: new Date(NOW - 1_000) }));
      await deliverTask(again.deps, task());
      expect(again.emitted).toEqual([]);
    });

    it("tells of a sustained failure once per period of the run, then of the endpoint disabled", async () => {
      const since = new Date(NOW - 2.5 * 3_600_000);
      const h = harness(reply(500), endpoint({ failing_since: since }));
      await deliverTask(h.deps, task());
      expect(h.emitted).toEqual([
        expect.objectContaining({
          type: "herald.endpoint.failing",
          key: `ep_1:${since.toISOString()}:2`,
          data: expect.objectContaining({ phase: "sustained", failing_since: since.toISOString() }),
        }),
      ]);
      const tooLong = harness(reply(500), endpoint({ failing_since: new Date(NOW - 86_400_000) }));
      await deliverTask(tooLong.deps, task());
      expect(tooLong.emitted).toEqual([
        expect.objectContaining({
          type: "herald.endpoint.disabled",
          data: expect.objectContaining({
            reason: "failing",
            failing_since: new Date(NOW - 86_400_000).toISOString(),
          }),
        }),
      ]);
    });

    it("tells of a dead-lettered delivery, but never of a dead operational event", async () => {
      const h = harness(reply(500), endpoint({ failing_since: new Date(NOW - 1_000) }));
      await deliverTask(h.deps, task({ attempt: 3 }));
      expect(types(h)).toEqual(["herald.delivery.dead"]);
      expect(h.emitted[0]?.data).toMatchObject({
        event_id: "evt_1",
        event_type: "order.created",
        attempts: 3,
      });

      const op = harness(reply(500), endpoint({ failing_since: new Date(NOW - 1_000) }));
      await deliverTask(op.deps, task({ attempt: 3, eventType: "herald.delivery.dead" }));
      expect(op.dead).toHaveLength(1);
      expect(op.emitted).toEqual([]);
    });
  });

  it("records how long the attempt waited at its endpoint's limit or for its tenant's turn", async () => {
    const straight = harness(reply(200));
    await deliverTask(straight.deps, task());
    expect(straight.attempt().waitedMs).toBe(0);
    expect(straight.attempt().waitedFor).toBe(AttemptWait.UNSPECIFIED);

    // Sent back 2 s ago while its endpoint was slow, then 300 ms in memory and 40 ms for a slot.
    const held = harness(reply(200));
    const answers: string[] = [];
    await deliverTask(held.deps, heldBack(task(), NOW - 2_000), {
      waits: { endpointMs: 300, slotMs: 40 },
      answered: (answer) => answers.push(answer),
    });
    expect(held.attempt().waitedMs).toBe(2_340);
    expect(held.attempt().waitedFor).toBe(AttemptWait.ENDPOINT_LIMIT);
    expect(answers).toEqual(["ok"]);

    const turn = harness(reply(503));
    await deliverTask(turn.deps, task(), {
      waits: { endpointMs: 0, slotMs: 25 },
      answered: (answer) => answers.push(answer),
    });
    expect(turn.attempt().waitedMs).toBe(25);
    expect(turn.attempt().waitedFor).toBe(AttemptWait.TENANT_TURN);
    expect(answers).toEqual(["ok", "failed"]);
    // The next attempt starts afresh: it has not waited for anything yet.
    expect(turn.retries[0]?.task.heldSince).toBeUndefined();
  });

  it("keeps when a task was first held back, and forgets it behind an open circuit", async () => {
    const first = heldBack(task(), NOW - 5_000);
    expect(heldBack(first, NOW)).toBe(first);
    expect(attemptWait(first, undefined, NOW)).toEqual({ ms: 5_000, for: AttemptWait.ENDPOINT_LIMIT });
    expect(attemptWait(task(), { endpointMs: 0, slotMs: 0 }, NOW)).toBeUndefined();

    // Parked at its shared limits: that is its endpoint's limit too, counted from the first hold.
    const limited = harness(reply(200));
    limited.deps.admit = async () => ({ waitMs: 700 });
    await deliverTask(limited.deps, task());
    expect(limited.retries[0]?.task.heldSince).toEqual(timestampFromDate(new Date(NOW)));

    // Parked behind its circuit: the wait is the circuit's, not the limit's.
    const h = harness(reply(500));
    await deliverTask(h.deps, task());
    await deliverTask(h.deps, task());
    expect(await deliverTask(h.deps, first)).toEqual({ kind: "parked" });
    expect(h.retries.at(-1)?.task.heldSince).toBeUndefined();
  });
});

describe("attemptRecord", () => {
  it("builds the message create() would, field for field and byte for byte", () => {
    const base = { task: task({ attempt: 3 }), now: NOW, url: "https://hooks.example/in", waited: undefined };
    const outcome = {
      responseStatus: 503,
      responseBody: "busy",
      latencyMs: 12,
      errorClass: ErrorClass.HTTP_STATUS,
    };
    for (const [record, next] of [
      [attemptRecord(base, outcome, DeliveryState.FAILED), undefined],
      [attemptRecord(base, { ...outcome, nextAttemptMs: NOW + 5_000 }, DeliveryState.FAILED), NOW + 5_000],
    ] as const) {
      const attempt = record.record.case === "attempt" ? record.record.value : undefined;
      const expected = create(AuditRecordSchema, {
        record: {
          case: "attempt",
          value: {
            ...outcome,
            id: attempt?.id,
            tenantId: base.task.tenantId,
            eventId: base.task.eventId,
            endpointId: base.task.endpointId,
            attemptNumber: 3,
            trigger: AttemptTrigger.SCHEDULED,
            attemptTime: timestampFromDate(new Date(NOW)),
            nextAttemptTime: next === undefined ? undefined : timestampFromDate(new Date(next)),
            url: base.url,
          },
        },
        state: DeliveryState.FAILED,
      });
      expect(attempt?.id).toMatch(/^att_[0-9a-f]{32}$/);
      expect(equals(AuditRecordSchema, record, expected)).toBe(true);
      expect(toBinary(AuditRecordSchema, record)).toEqual(toBinary(AuditRecordSchema, expected));
      expect(record).toStrictEqual(expected);
    }
  });
});
