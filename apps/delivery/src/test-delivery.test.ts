import { create, toJsonString } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Attempt,
  AttemptSchema,
  AttemptTrigger,
  type AuditRecord,
  DeliveryState,
  type DeliveryTask,
  DeliveryTaskSchema,
  ErrorClass,
} from "@herald/contracts";
import {
  type ControlPlaneCache,
  type EndpointDocument,
  SecretBox,
  sealHeaders,
  type TenantDocument,
} from "@herald/platform/model";
import { TEST_SECRET_KEYS } from "@herald/platform/testing";
import type { Logger } from "pino";
import { describe, expect, it } from "vitest";
import { signatureHeader } from "./signature.js";
import {
  answerTest,
  deliverTest,
  MAX_HEADER_VALUE,
  MAX_RESPONSE_HEADERS,
  REDACTED,
  redactSent,
  responseHeaders,
  TEST_HEADER,
  type TestDeliveryDeps,
} from "./test-delivery.js";
import { WebhookRequestError, type WebhookResponse } from "./webhook-client.js";

const NOW = Date.parse("2026-03-01T12:00:00Z");
const box = new SecretBox(TEST_SECRET_KEYS);
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const TOKEN = "Bearer sk_live_0123456789";

function endpoint(patch: Partial<EndpointDocument> = {}): EndpointDocument {
  return {
    _id: "ep_1",
    tenant_id: "t1",
    url: "https://hooks.example.com/in?token=abc",
    description: "",
    event_types: [],
    channels: [],
    ...sealHeaders({ authorization: TOKEN, "x-env": "prod" }, box),
    rate_limit_per_second: 0,
    max_concurrency: 0,
    disabled: false,
    disabled_reason: 0,
    retry_schedule_ms: [],
    secrets: [{ id: "s1", sealed: box.seal(SECRET), create_time: new Date(NOW - 1000) }],
    create_time: new Date(NOW),
    update_time: new Date(NOW),
    ...patch,
  };
}

const tenant: TenantDocument = {
  _id: "t1",
  name: "t1",
  metadata: {},
  disabled: false,
  settings: { rate_limit_per_second: 0, max_payload_bytes: 0, retry_schedule_ms: [] },
  create_time: new Date(NOW - 60_000),
  update_time: new Date(NOW - 60_000),
};

function testTask(patch: Omit<Partial<DeliveryTask>, "$typeName"> = {}): DeliveryTask {
  return create(DeliveryTaskSchema, {
    eventId: "evt_test_1",
    tenantId: "t1",
    endpointId: "ep_1",
    eventType: "order.created",
    payload: new TextEncoder().encode('{"a":1}'),
    attempt: 1,
    eventTime: timestampFromDate(new Date(NOW)),
    trigger: AttemptTrigger.TEST,
    replyDeadline: timestampFromDate(new Date(NOW + 20_000)),
    ...patch,
  });
}

function harness(
  answer: () => Promise<WebhookResponse>,
  ep: EndpointDocument | null = endpoint(),
  ten: TenantDocument = tenant,
) {
  const sent: Array<{ url: string; headers: Record<string, string>; body: Uint8Array }> = [];
  const audits: AuditRecord[] = [];
  const deps: TestDeliveryDeps = {
    cache: { endpoint: async () => ep ?? undefined, tenant: async () => ten } as unknown as ControlPlaneCache,
    box,
    post: async (url, headers, body) => {
      sent.push({ url, headers, body });
      return answer();
    },
    publishAudit: async (record) => {
      audits.push(record);
    },
    userAgent: "Herald/test",
    now: () => NOW,
  };
  return { deps, sent, audits };
}

const ok =
  (patch: Partial<WebhookResponse> = {}) =>
  async (): Promise<WebhookResponse> => ({
    status: 200,
    headers: { "content-type": "text/plain" },
    body: "thanks",
    latencyMs: 12,
    ...patch,
  });

function attemptOf(reply: Awaited<ReturnType<typeof deliverTest>>): Attempt {
  if (reply.outcome.case !== "attempt") throw new Error(`no attempt: ${reply.outcome.value}`);
  return reply.outcome.value;
}

describe("deliverTest", () => {
  it("sends a signed request marked as a test and answers with the attempt and response headers", async () => {
    const { deps, sent, audits } = harness(ok({ headers: { "x-receiver": "a", "set-cookie": ["1", "2"] } }));
    const attempt = attemptOf(await deliverTest(deps, testTask()));
    expect(sent).toHaveLength(1);
    const request = sent[0] as (typeof sent)[0];
    expect(request.headers[TEST_HEADER]).toBe("true");
    expect(request.headers.authorization).toBe(TOKEN);
    // Signed like any delivery (test/e2e/test-send.test.ts verifies it with @herald/receiver).
    expect(request.headers["webhook-id"]).toBe("evt_test_1");
    expect(request.headers["webhook-signature"]).toBe(
      signatureHeader([SECRET], "evt_test_1", NOW / 1000, request.body),
    );
    expect(attempt).toMatchObject({
      eventId: "evt_test_1",
      trigger: AttemptTrigger.TEST,
      success: true,
      responseStatus: 200,
      responseBody: "thanks",
      latencyMs: 12,
      errorClass: ErrorClass.NONE,
      url: "https://hooks.example.com/in",
    });
    expect(attempt.responseHeaders.map((h) => [h.name, h.value])).toEqual([
      ["x-receiver", "a"],
      ["set-cookie", "1"],
      ["set-cookie", "2"],
    ]);
    // Recorded with trigger TEST and no delivery state; the log does not keep the headers.
    expect(audits).toHaveLength(1);
    const record = audits[0] as AuditRecord;
    expect(record.state).toBe(DeliveryState.UNSPECIFIED);
    expect(record.record.value).toMatchObject({ trigger: AttemptTrigger.TEST, success: true });
    expect((record.record.value as Attempt).responseHeaders).toEqual([]);
  });

  it("answers a refused connection, a timeout and a blocked address with their error class", async () => {
    for (const [errorClass, expected] of [
      ["connection", ErrorClass.CONNECTION],
      ["timeout", ErrorClass.TIMEOUT],
      ["blocked", ErrorClass.BLOCKED],
      ["tls", ErrorClass.TLS],
    ] as const) {
      const { deps, audits } = harness(async () => {
        throw new WebhookRequestError(errorClass, `${errorClass} happened`, 3);
      });
      const attempt = attemptOf(await deliverTest(deps, testTask()));
      expect(attempt).toMatchObject({
        success: false,
        responseStatus: 0,
        errorClass: expected,
        errorMessage: `${errorClass} happened`,
      });
      expect(audits[0]?.record.value).toMatchObject({ errorClass: expected, trigger: AttemptTrigger.TEST });
    }
  });

  it("answers a non-2xx status as a failed attempt, without retrying or disabling on 410", async () => {
    const { deps, sent, audits } = harness(ok({ status: 410, body: "gone" }));
    const attempt = attemptOf(await deliverTest(deps, testTask()));
    expect(attempt).toMatchObject({
      success: false,
      responseStatus: 410,
      errorClass: ErrorClass.HTTP_STATUS,
    });
    expect(sent).toHaveLength(1);
    expect(audits).toHaveLength(1);
  });

  it("redacts the endpoint's custom header values the receiver echoes back", async () => {
    const { deps } = harness(
      ok({
        headers: { "x-echo": `got ${TOKEN}`, "x-env": "prod" },
        body: `{"auth":"${TOKEN}","env":"prod"}`,
      }),
    );
    const attempt = attemptOf(await deliverTest(deps, testTask()));
    expect(toJsonString(AttemptSchema, attempt)).not.toContain("sk_live");
    expect(attempt.responseBody).toBe(`{"auth":"${REDACTED}","env":"prod"}`);
    expect(attempt.responseHeaders).toContainEqual(expect.objectContaining({ value: `got ${REDACTED}` }));
  });

  it("goes to a disabled endpoint, but not for a disabled or deleted tenant or a gone endpoint", async () => {
    const disabledEndpoint = harness(ok(), endpoint({ disabled: true }));
    expect(attemptOf(await deliverTest(disabledEndpoint.deps, testTask())).success).toBe(true);

    const disabledTenant = harness(ok(), endpoint(), { ...tenant, disabled: true });
    const refused = await deliverTest(disabledTenant.deps, testTask());
    expect(refused.outcome).toEqual({ case: "refused", value: expect.stringContaining("disabled") });
    expect(disabledTenant.sent).toHaveLength(0);

    const gone = harness(ok(), null);
    expect((await deliverTest(gone.deps, testTask())).outcome).toEqual({
      case: "refused",
      value: expect.stringContaining("no longer exists"),
    });

    const otherTenant = harness(ok(), endpoint({ tenant_id: "t2" }));
    expect((await deliverTest(otherTenant.deps, testTask())).outcome.case).toBe("refused");
    expect(otherTenant.sent).toHaveLength(0);
    expect(otherTenant.audits).toHaveLength(0);
  });

  it("drops a test whose caller stopped waiting rather than send it late", async () => {
    const { deps, sent, audits } = harness(ok());
    const reply = await deliverTest(deps, testTask({ replyDeadline: timestampFromDate(new Date(NOW - 1)) }));
    expect(reply.outcome.case).toBe("refused");
    expect(sent).toHaveLength(0);
    expect(audits).toHaveLength(0);
  });
});

describe("answerTest", () => {
  it("answers an unexpected failure as failed, logging it, rather than leaving the caller waiting", async () => {
    const { deps } = harness(
      ok(),
      endpoint({ secrets: [{ id: "s1", sealed: "not-sealed", create_time: new Date(NOW) }] }),
    );
    const logged: unknown[] = [];
    const logger = { error: (...args: unknown[]) => logged.push(args) } as unknown as Logger;
    const reply = await answerTest({ ...deps, logger }, testTask());
    expect(reply.outcome).toEqual({ case: "failed", value: true });
    expect(logged).toHaveLength(1);
    const answered = await answerTest(
      harness(ok()).deps as TestDeliveryDeps & { logger: Logger },
      testTask(),
    );
    expect(answered.outcome.case).toBe("attempt");
  });
});

describe("responseHeaders", () => {
  it("keeps at most MAX_RESPONSE_HEADERS headers and caps each value", () => {
    const headers = Object.fromEntries(
      Array.from({ length: MAX_RESPONSE_HEADERS + 10 }, (_, i) => [
        `x-h${i}`,
        "v".repeat(MAX_HEADER_VALUE * 2),
      ]),
    );
    const kept = responseHeaders({ status: 200, headers, body: "", latencyMs: 1 }, []);
    expect(kept).toHaveLength(MAX_RESPONSE_HEADERS);
    expect(kept.every((h) => h.value.length === MAX_HEADER_VALUE)).toBe(true);
    expect(responseHeaders(undefined, [])).toEqual([]);
  });
});

describe("redactSent", () => {
  it("replaces values of at least 8 characters, leaves shorter ones", () => {
    expect(redactSent("a secret-value and prod", ["secret-value", "prod", ""])).toBe(
      `a ${REDACTED} and prod`,
    );
  });
});
