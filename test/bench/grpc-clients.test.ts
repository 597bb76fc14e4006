// The bench's own gRPC clients (node:http2, connect-es) against a connect-es gRPC server on loopback:
// answers, refusals with their gRPC code and message, and the headers they send.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { IngestService } from "@herald/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GrpcIngestClient } from "../e2e/support/clients.js";
import { connectGrpcIngestClient } from "./connect-grpc-client.js";
import { http2GrpcIngestClient } from "./http2-grpc-client.js";

describe.each([
  ["http2GrpcIngestClient", http2GrpcIngestClient],
  ["connectGrpcIngestClient", connectGrpcIngestClient],
])("%s", (_, ingestClient) => {
  const seen: { authorization: string | null; payload: string; channels: string[] }[] = [];
  const routes = (router: ConnectRouter) =>
    router.service(IngestService, {
      publishEvent(req, ctx) {
        if (req.tenantId === "refused")
          throw new ConnectError("tenant refused: ünïcode, 100%", Code.PermissionDenied);
        seen.push({
          authorization: ctx.requestHeader.get("authorization"),
          payload: Buffer.from(req.event?.payload ?? []).toString(),
          channels: req.event?.channels ?? [],
        });
        return { eventId: `ev_${seen.length}`, duplicate: false };
      },
      publishEvents(req) {
        return {
          results: req.events.map((e, i) =>
            e.eventType === "bad"
              ? { errorCode: "INVALID_ARGUMENT", errorMessage: "bad type" }
              : { eventId: `ev_b${i}` },
          ),
        };
      },
    });
  const server = http2.createServer(connectNodeAdapter({ routes }));
  let client: GrpcIngestClient;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    client = ingestClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  afterAll(async () => {
    client.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it("publishes an event and returns its id", async () => {
    const res = await client.publishEvent(
      {
        tenant_id: "t1",
        event: { event_type: "a.b", payload: Buffer.from('{"seq":1}'), channels: ["even"] },
      },
      "key-1",
    );
    expect(res).toEqual({ event_id: "ev_1", duplicate: false });
    expect(seen.at(-1)).toEqual({ authorization: "Bearer key-1", payload: '{"seq":1}', channels: ["even"] });
  });

  it("publishes a batch, with each event's result", async () => {
    const { results } = await client.publishEvents(
      {
        tenant_id: "t1",
        events: [
          { event_type: "a.b", payload: Buffer.from("{}") },
          { event_type: "bad", payload: Buffer.from("{}") },
        ],
      },
      "key-1",
    );
    expect(results).toEqual([
      { event_id: "ev_b0", duplicate: false, error_code: "", error_message: "" },
      { event_id: "", duplicate: false, error_code: "INVALID_ARGUMENT", error_message: "bad type" },
    ]);
  });

  it("rejects a refused call with its gRPC code and message", async () => {
    const call = client.publishEvent(
      { tenant_id: "refused", event: { event_type: "a.b", payload: Buffer.from("{}") } },
      "k",
    );
    await expect(call).rejects.toMatchObject({
      code: Code.PermissionDenied,
      details: "tenant refused: ünïcode, 100%",
    });
  });
});
