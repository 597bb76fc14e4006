import { type EndpointDocument, endpointHeaders, SecretBox, sealHeaders } from "@herald/platform/model";
import { describe, expect, it } from "vitest";
import { resealedValues, staleEndpointsFilter } from "./reseal.js";

const key = (id: string, fill: number) => `${id}:${Buffer.alloc(32, fill).toString("base64")}`;
const old = new SecretBox(key("k2", 1));
const ring = new SecretBox(`${key("k20", 2)},${key("k2", 1)}`);

function endpoint(fields: Partial<EndpointDocument>): EndpointDocument {
  return { secrets: [], headers: {}, ...fields } as unknown as EndpointDocument;
}

describe("resealedValues", () => {
  it("re-seals values under an older key, keeps those under the current one, and seals clear headers", () => {
    const current = ring.seal("whsec_current");
    const values = resealedValues(
      endpoint({
        secrets: [
          { id: "a", sealed: current, create_time: new Date(1) },
          { id: "b", sealed: old.seal("whsec_old"), create_time: new Date(0) },
        ],
        headers: { "X-Clear": "1" },
      }),
      ring,
    );
    expect(values.secrets[0]?.sealed).toBe(current);
    expect(values.secrets[1]?.sealed.startsWith("v1:k20:")).toBe(true);
    expect(values.secrets.map((s) => ring.open(s.sealed))).toEqual(["whsec_current", "whsec_old"]);
    expect(values.headers).toEqual({});
    expect(endpointHeaders(endpoint(values), new SecretBox(key("k20", 2)))).toEqual({ "X-Clear": "1" });
  });

  it("re-seals a v1a private key and keeps its scheme and public key", () => {
    const values = resealedValues(
      endpoint({
        secrets: [
          {
            id: "a",
            sealed: old.seal("whsk_private"),
            create_time: new Date(0),
            scheme: "v1a",
            public_key: "whpk_p",
          },
        ],
      }),
      ring,
    );
    expect(values.secrets[0]).toMatchObject({ id: "a", scheme: "v1a", public_key: "whpk_p" });
    expect(values.secrets[0]?.sealed.startsWith("v1:k20:")).toBe(true);
    expect(ring.open(values.secrets[0]?.sealed ?? "")).toBe("whsk_private");
  });

  it("leaves headers sealed under the current key as they are", () => {
    const stored = sealHeaders({ A: "1" }, ring);
    expect(resealedValues(endpoint(stored), ring)).toMatchObject(stored);
  });
});

describe("staleEndpointsFilter", () => {
  it("selects by the exact key id: k2 values are stale under k20, k20 ones are not", () => {
    const filter = JSON.stringify(staleEndpointsFilter(ring));
    expect(filter).toContain('"$lt":"v1:k20:"');
    expect(filter).toContain('"$gte":"v1:k20;"');
    const [from, to] = ["v1:k20:", "v1:k20;"];
    const stale = (sealed: string) => sealed < from || sealed >= to;
    expect(stale(ring.seal("x"))).toBe(false);
    expect(stale(old.seal("x"))).toBe(true);
    expect(stale(new SecretBox(key("k200", 3)).seal("x"))).toBe(true);
  });
});
