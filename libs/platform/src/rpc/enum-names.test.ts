import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import {
  CreateApiKeyRequestSchema,
  CreateApiKeyResponseSchema,
  CreateEndpointRequestSchema,
} from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { unknownEnumName } from "./enum-names.js";

describe("unknownEnumName", () => {
  it("passes known names, numbers, unknown fields and nulls", () => {
    expect(
      unknownEnumName(CreateEndpointRequestSchema, {
        signatureScheme: "SIGNATURE_SCHEME_V1A",
        payload_format: 2,
        fieldFromTheFuture: "SIGNATURE_SCHEME_V9",
        url: null,
      }),
    ).toBeUndefined();
    expect(unknownEnumName(CreateApiKeyRequestSchema, { scopes: ["SCOPE_ADMIN"] })).toBeUndefined();
    expect(unknownEnumName(CreateEndpointRequestSchema, "not an object")).toBeUndefined();
    expect(unknownEnumName(TimestampSchema, "2026-01-01T00:00:00Z")).toBeUndefined();
  });

  it("names the field, by its proto name, with the accepted names", () => {
    expect(unknownEnumName(CreateEndpointRequestSchema, { signatureScheme: "V9" })).toMatch(
      /^signature_scheme: "V9" is not a herald\.v1\.SignatureScheme name; accepted: SIGNATURE_SCHEME_UNSPECIFIED, SIGNATURE_SCHEME_V1, SIGNATURE_SCHEME_V1A$/,
    );
  });

  it("finds names in lists and nested messages", () => {
    expect(unknownEnumName(CreateApiKeyRequestSchema, { scopes: ["SCOPE_ADMIN", "SCOPE_ROOT"] })).toMatch(
      /^scopes\[1\]: "SCOPE_ROOT" is not a herald\.v1\.Scope name; accepted: /,
    );
    expect(unknownEnumName(CreateApiKeyResponseSchema, { apiKey: { scopes: ["NOPE"] } })).toMatch(
      /^api_key\.scopes\[0\]: "NOPE" is not/,
    );
  });
});
