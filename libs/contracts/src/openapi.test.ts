import { readFileSync } from "node:fs";
import { compileErrors, dereference, validate } from "@readme/openapi-parser";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { file_herald_v1_api_key } from "./gen/herald/v1/api_key_pb.js";
import { file_herald_v1_audit } from "./gen/herald/v1/audit_pb.js";
import { file_herald_v1_endpoint } from "./gen/herald/v1/endpoint_pb.js";
import { file_herald_v1_event_type } from "./gen/herald/v1/event_type_pb.js";
import { file_herald_v1_ingest } from "./gen/herald/v1/ingest_pb.js";
import { file_herald_v1_portal } from "./gen/herald/v1/portal_pb.js";
import { file_herald_v1_tenant } from "./gen/herald/v1/tenant_pb.js";
import { openApiDocuments } from "./index.js";

type Doc = {
  openapi: string;
  paths: Record<
    string,
    { post: { requestBody: { content: Record<string, { schema: unknown; example?: unknown }> } } }
  >;
  components: { schemas: Record<string, Record<string, unknown>> };
};
const documents = openApiDocuments as Record<string, Doc>;
const publicFiles = [
  file_herald_v1_api_key,
  file_herald_v1_audit,
  file_herald_v1_endpoint,
  file_herald_v1_event_type,
  file_herald_v1_ingest,
  file_herald_v1_portal,
  file_herald_v1_tenant,
];

describe("OpenAPI documents", () => {
  it.each(Object.keys(documents))("%s is valid OpenAPI 3.1", async (name) => {
    const doc = structuredClone(documents[name]) as Doc;
    expect(doc.openapi).toBe("3.1.0");
    const result = await validate(doc as never);
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
  });

  it("describes every unary method of the public services, each in one document", () => {
    const described = Object.values(documents).flatMap((doc) => Object.keys(doc.paths));
    const unary = publicFiles.flatMap((file) =>
      file.services.flatMap((service) =>
        service.methods.filter((m) => m.methodKind === "unary").map((m) => `/${service.typeName}/${m.name}`),
      ),
    );
    expect(described.sort()).toEqual(unary.sort());
  });

  it("takes an event payload as the JSON object itself or its bytes in base64", () => {
    const payload = (documents.ingest as Doc).components.schemas["herald.v1.EventInput"]
      ?.properties as Record<string, { oneOf: { type: string; contentEncoding?: string }[] }>;
    expect(payload.payload?.oneOf.map((s) => [s.type, s.contentEncoding])).toEqual([
      ["object", undefined],
      ["string", "base64"],
    ]);
  });

  it("gives request examples that their schemas accept, and a wrong one fails", async () => {
    const doc = (await dereference(structuredClone(documents.ingest) as never)) as unknown as Doc;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const media =
      doc.paths["/herald.v1.IngestService/PublishEvent"]?.post.requestBody.content["application/json"];
    const check = ajv.compile(media?.schema as object);
    expect(media?.example).toEqual({
      tenantId: "acme",
      event: { eventType: "order.created", payload: { order: 1 } },
    });
    expect(check(media?.example), JSON.stringify(check.errors)).toBe(true);
    expect(check({ tenantId: "acme", event: { payload: 42 } })).toBe(false);
    for (const [path, item] of Object.entries(doc.paths)) {
      const { schema, example } = item.post.requestBody.content["application/json"] ?? {};
      if (example !== undefined) expect(ajv.validate(schema as object, example), path).toBe(true);
    }
  });

  it("are written out as JSON for readers, the same as the services serve", () => {
    for (const [name, doc] of Object.entries(documents)) {
      const file = new URL(`./gen/openapi/${name}.openapi.json`, import.meta.url);
      expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(doc);
    }
  });
});
