import { toJsonString } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Attempt,
  AttemptSchema,
  AttemptTrigger,
  type AuditRecord,
  DeliveryState,
  type DeliveryTask,
  ErrorClass,
} from "@herald/contracts";
import { type EndpointDocument, sealHeaders, type TenantDocument } from "@herald/platform/model";
import type { Logger } from "pino";
import { describe, expect, it } from "vitest";
import {
  box,
  deliveryDeps,
  deliveryTask,
  hookEndpoint,
  NOW,
  SECRET,
  tenant,
} from "./delivery.test-support.js";
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

const TOKEN = "Bearer sk_live_0123456789";

const endpoint = (patch: Partial<EndpointDocument> = {}) =>
  hookEndpoint({ ...sealHeaders({ authorization: TOKEN, "x-env": "prod" }, box), ...patch });

function testTask(patch: Omit<Partial<DeliveryTask>, "$typeName"> = {}): DeliveryTask {
  return deliveryTask({
    eventId: "evt_test_1",
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
  return deliveryDeps(answer, ep, ten);
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
