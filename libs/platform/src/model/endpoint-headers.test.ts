import { describe, expect, it } from "vitest";
import { TEST_SECRET_KEYS } from "../testing/index.js";
import type { EndpointDocument } from "./documents.js";
import {
  endpointHeaders,
  HEADER_VALUE_MASK,
  maskedHeaders,
  sealHeaders,
  unmaskHeaders,
} from "./endpoint-headers.js";
import { SecretBox } from "./secret-box.js";

const box = new SecretBox(TEST_SECRET_KEYS);
const endpoint = (fields: Partial<EndpointDocument>) => fields as EndpointDocument;

describe("endpoint headers", () => {
  it("seal names and values to one value, keep the names beside it, and open to the same headers", () => {
    const stored = sealHeaders({ Authorization: "Bearer t0ken", "X-Team": "ops" }, box);
    expect(stored.headers).toEqual({});
    expect(stored.sealed_headers).not.toMatch(/t0ken|Authorization|X-Team/);
    expect(JSON.stringify(stored)).not.toMatch(/t0ken|ops/);
    expect(maskedHeaders(endpoint(stored))).toEqual({
      Authorization: HEADER_VALUE_MASK,
      "X-Team": HEADER_VALUE_MASK,
    });
    expect(endpointHeaders(endpoint(stored), box)).toEqual({
      Authorization: "Bearer t0ken",
      "X-Team": "ops",
    });
  });

  it("read headers stored in clear by an earlier version", () => {
    expect(endpointHeaders(endpoint({ headers: { "X-Old": "1" } }), box)).toEqual({ "X-Old": "1" });
    expect(maskedHeaders(endpoint({ headers: { "X-Old": "1" } }))).toEqual({
      "X-Old": HEADER_VALUE_MASK,
    });
  });

  it("unmask: a masked value takes the stored value of the same name, whatever its case", () => {
    expect(
      unmaskHeaders({ authorization: HEADER_VALUE_MASK, "X-New": "2" }, { Authorization: "Bearer a" }),
    ).toEqual({
      headers: { authorization: "Bearer a", "X-New": "2" },
    });
    expect(unmaskHeaders({ "X-Gone": HEADER_VALUE_MASK }, { Authorization: "Bearer a" })).toEqual({
      unknown: "X-Gone",
    });
  });
});
