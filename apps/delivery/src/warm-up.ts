import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AttemptTrigger,
  AuditRecordBatchSchema,
  DeliveryTaskBatchSchema,
  DeliveryTaskSchema,
} from "@herald/contracts";
import type { Logger } from "@herald/platform";
import {
  type ControlPlaneCache,
  defaultEndpointDocument,
  defaultTenantDocument,
  type EndpointDocument,
  type SecretBox,
  urlAllowlist,
  WARM_UP_PAYLOAD_JSON,
  WARM_UP_TENANT_ID,
} from "@herald/platform/model";
import { CircuitBreakers } from "./circuit-breaker.js";
import { type DeliverDeps, deliverTask } from "./deliver-task.js";
import { WebhookClient } from "./webhook-client.js";

/** Rounds of {@link warmUpDeliveryPath}: enough for V8 to optimise what one task runs through. */
export const DELIVERY_WARM_UP_ROUNDS = 1_000;

/**
 * Deliveries of {@link warmUpDeliveryPath} in flight at once: enough to keep a few connections busy as
 * real deliveries do, so the warm-up takes a fraction of the time one at a time would.
 */
export const DELIVERY_WARM_UP_IN_FLIGHT = 16;

const EPOCH = new Date(0);

/** What the delivery warm-up needs from the service. */
export interface DeliveryWarmUpOptions {
  /** The service's SecretBox: the made-up endpoint's secret is sealed and opened with its keys. */
  box: SecretBox;
  userAgent: string;
  logger: Logger;
  rounds?: number;
}

/** What the warm-up did: the receiver's view, for tests. */
export interface DeliveryWarmUpResult {
  /** POSTs the warm-up's own receiver answered. */
  received: number;
  /** Those that carried a Standard Webhooks signature header. */
  signed: number;
  /** Attempt records encoded. */
  records: number;
}

/**
 * Runs delivery's per-task code on made-up tasks: the task message decoded as the consumer does, then
 * deliverTask itself: the request built and signed with the service's keys, POSTed by a WebhookClient
 * (the class and undici path deliveries use) to an HTTP server this function starts on 127.0.0.1 and
 * closes afterwards, and the attempt record encoded as the broker would carry it. Its client's allowlist
 * is that loopback address and its only URL that server's, so nothing is sent anywhere else; the
 * endpoint cache, endpoint limits and publishers are stand-ins, and its circuit breakers its own.
 */
export async function warmUpDeliveryPath(options: DeliveryWarmUpOptions): Promise<DeliveryWarmUpResult> {
  const rounds = options.rounds ?? DELIVERY_WARM_UP_ROUNDS;
  const result: DeliveryWarmUpResult = { received: 0, signed: 0, records: 0 };
  const server = createServer((req, res) => {
    result.received++;
    if (req.headers["webhook-signature"]) result.signed++;
    req.resume();
    req.on("end", () => res.end("ok"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const client = new WebhookClient({
    connectTimeoutMs: 5_000,
    requestTimeoutMs: 5_000,
    maxResponseBytes: 4096,
    connectionsPerOrigin: DELIVERY_WARM_UP_IN_FLIGHT,
    allowlist: urlAllowlist.parse("127.0.0.1/32"),
  });
  try {
    const { port } = server.address() as AddressInfo;
    const endpoint = warmUpEndpoint(`http://127.0.0.1:${port}/hook?token=warm-up`, options.box);
    const deps = standInDeliverDeps(options, endpoint, client, () => {
      result.records++;
    });
    const message = toBinary(
      DeliveryTaskBatchSchema,
      create(DeliveryTaskBatchSchema, {
        tasks: [
          create(DeliveryTaskSchema, {
            eventId: "evt_warmup000000000000",
            tenantId: WARM_UP_TENANT_ID,
            endpointId: endpoint._id,
            eventType: "warm.up",
            payload: Buffer.from(WARM_UP_PAYLOAD_JSON),
            attempt: 1,
            eventTime: timestampFromDate(new Date()),
            dueTime: timestampFromDate(new Date()),
            trigger: AttemptTrigger.SCHEDULED,
          }),
        ],
      }),
    );
    let started = 0;
    await Promise.all(
      Array.from({ length: DELIVERY_WARM_UP_IN_FLIGHT }, async () => {
        while (started++ < rounds) {
          for (const task of fromBinary(DeliveryTaskBatchSchema, message).tasks) {
            const outcome = await deliverTask(deps, task, { waits: { endpointMs: 0, slotMs: 0 } });
            if (outcome.kind !== "succeeded") throw new Error(`warm-up delivery ${outcome.kind}`);
          }
        }
      }),
    );
  } finally {
    await client.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return result;
}

function warmUpEndpoint(url: string, box: SecretBox): EndpointDocument {
  const secret = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
  return defaultEndpointDocument({ _id: "ep_warmup", tenant_id: WARM_UP_TENANT_ID, url }, EPOCH, {
    secrets: [{ id: "sec_warmup", sealed: box.seal(secret), create_time: EPOCH }],
  });
}

/**
 * deliverTask's dependencies with nothing outside the process but what `client` POSTs to: the tenant
 * and `endpoint` from memory, the attempt record encoded as the broker would carry it (then
 * `onRecord`), publishers and endpoint updates that do nothing, breakers and admission of its own.
 */
export function standInDeliverDeps(
  options: Pick<DeliveryWarmUpOptions, "box" | "userAgent" | "logger">,
  endpoint: EndpointDocument,
  client: WebhookClient,
  onRecord: () => void = () => {},
): DeliverDeps {
  const tenant = defaultTenantDocument(endpoint.tenant_id, EPOCH);
  const nothing = async () => {};
  return {
    cache: {
      endpoint: async () => endpoint,
      tenant: async () => tenant,
    } as Pick<ControlPlaneCache, "endpoint" | "tenant"> as ControlPlaneCache,
    box: options.box,
    post: (url, headers, body) => client.post(url, headers, body),
    publishAt: nothing,
    publishDead: nothing,
    publishAudit: async (record) => {
      toBinary(AuditRecordBatchSchema, create(AuditRecordBatchSchema, { records: [record] }));
      onRecord();
    },
    disableEndpoint: async () => false,
    setFailingSince: async () => false,
    emit: nothing,
    failingSustainedMs: 3_600_000,
    breakers: new CircuitBreakers({
      failureRatio: 0.5,
      minimumAttempts: 10,
      windowMs: 60_000,
      cooldownMs: 30_000,
    }),
    announceRecovered: nothing,
    admit: async () => ({ admission: { release: nothing } }),
    disableAfterMs: 5 * 86_400_000,
    platformScheduleMs: [1_000],
    userAgent: options.userAgent,
    logger: options.logger,
    now: () => Date.now(),
  };
}
