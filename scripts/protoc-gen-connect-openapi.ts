#!/usr/bin/env node
// A protoc plugin (run by `buf generate`, see buf.gen.yaml) that writes an OpenAPI 3.1 description of
// the Connect protocol's unary JSON calls of the services it is given: POST /<package.Service>/<Method>
// with the request message as JSON, answered with the response message or a Connect error. Schemas
// follow protobuf's JSON mapping as protobuf-es reads and writes it. Why Herald has its own generator,
// and what it leaves out: docs/decisions/plain-json-payloads.md.
//
// Options (buf.gen.yaml `opt`, one per entry):
//   document=NAME:package.Service      adds the service to document NAME (repeat per service)
//   json_or_base64=package.Message.field   a bytes field that also takes the JSON object itself
// A leading comment line "Example: {...}" on a request message becomes that request's example.
// Writes openapi/NAME.openapi.json for readers and tools, and openapi/documents.ts for the services.
import {
  type AnyDesc,
  create,
  createFileRegistry,
  type DescEnum,
  type DescField,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type DescService,
  type FileRegistry,
  ScalarType,
} from "@bufbuild/protobuf";
import {
  type CodeGeneratorRequest,
  CodeGeneratorResponse_Feature,
  CodeGeneratorResponseSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { getComments, type Plugin, runNodeJs } from "@bufbuild/protoplugin";

type Schema = Record<string, unknown>;

interface Options {
  documents: Map<string, string[]>;
  jsonOrBase64: Set<string>;
}

function parseOptions(parameter: string): Options {
  const options: Options = { documents: new Map(), jsonOrBase64: new Set() };
  for (const entry of parameter.split(",").filter(Boolean)) {
    const [key, value = ""] = entry.split("=", 2) as [string, string?];
    if (key === "document") {
      const [name, service] = value.split(":", 2);
      if (!name || !service) throw new Error(`document=${value}: expected NAME:package.Service`);
      options.documents.set(name, [...(options.documents.get(name) ?? []), service]);
    } else if (key === "json_or_base64") {
      options.jsonOrBase64.add(value);
    } else {
      throw new Error(`unknown option ${key}`);
    }
  }
  return options;
}

const EXAMPLE = /^\s*Example: (.*)$/m;

/** A declaration's leading comment without "Example:" lines, or undefined. */
function describe(desc: Exclude<AnyDesc, DescFile>): string | undefined {
  const text = getComments(desc)
    .leading?.replace(/^\s*Example: .*$/gm, "")
    .split("\n")
    .map((line) => line.replace(/^ /, ""))
    .join("\n")
    .trim();
  return text || undefined;
}

function exampleOf(message: DescMessage): unknown {
  const match = EXAMPLE.exec(getComments(message).leading ?? "");
  if (!match?.[1]) return undefined;
  try {
    return JSON.parse(match[1]);
  } catch (err) {
    throw new Error(`${message.typeName}: the Example comment is not JSON (${(err as Error).message})`);
  }
}

/** Schemas of the well-known types, as protobuf's JSON mapping writes them. */
const WELL_KNOWN: Record<string, Schema> = {
  "google.protobuf.Timestamp": { type: "string", format: "date-time", examples: ["2026-12-06T07:00:00Z"] },
  "google.protobuf.Duration": { type: "string", pattern: "^-?[0-9]+(\\.[0-9]+)?s$", examples: ["1.5s"] },
  "google.protobuf.Empty": { type: "object" },
  "google.protobuf.Struct": { type: "object", additionalProperties: true },
  "google.protobuf.Value": {},
  "google.protobuf.ListValue": { type: "array" },
  "google.protobuf.FieldMask": { type: "string" },
  "google.protobuf.Any": { type: "object", properties: { "@type": { type: "string" } }, required: ["@type"] },
  "google.protobuf.BoolValue": { type: "boolean" },
  "google.protobuf.StringValue": { type: "string" },
  "google.protobuf.BytesValue": { type: "string", contentEncoding: "base64" },
  "google.protobuf.DoubleValue": { type: "number" },
  "google.protobuf.FloatValue": { type: "number" },
  "google.protobuf.Int32Value": { type: "integer", format: "int32" },
  "google.protobuf.UInt32Value": { type: "integer", format: "uint32" },
  "google.protobuf.Int64Value": { type: ["string", "integer"], format: "int64" },
  "google.protobuf.UInt64Value": { type: ["string", "integer"], format: "uint64" },
};

function scalarSchema(type: ScalarType): Schema {
  switch (type) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return { type: "number" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "uint32", minimum: 0 };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      // protobuf-es writes 64-bit integers as strings and reads both.
      return { type: ["string", "integer"], format: "int64" };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: ["string", "integer"], format: "uint64" };
  }
}

class DocumentBuilder {
  readonly schemas = new Map<string, Schema>();
  readonly options: Options;
  constructor(options: Options) {
    this.options = options;
  }

  ref(message: DescMessage): Schema {
    const known = WELL_KNOWN[message.typeName];
    if (known) return { ...known };
    if (!this.schemas.has(message.typeName)) {
      this.schemas.set(message.typeName, {}); // placeholder: recursive messages
      this.schemas.set(message.typeName, this.messageSchema(message));
    }
    return { $ref: `#/components/schemas/${message.typeName}` };
  }

  enumRef(desc: DescEnum): Schema {
    if (!this.schemas.has(desc.typeName)) {
      const values = desc.values.map((v) => v.name);
      const lines = desc.values.map((v) => `- \`${v.name}\`: ${describe(v) ?? ""}`.trimEnd());
      this.schemas.set(desc.typeName, {
        type: "string",
        enum: values,
        description: [describe(desc), lines.join("\n")].filter(Boolean).join("\n\n"),
      });
    }
    return { $ref: `#/components/schemas/${desc.typeName}` };
  }

  valueSchema(field: DescField): Schema {
    switch (field.fieldKind) {
      case "scalar":
        return scalarSchema(field.scalar);
      case "enum":
        return this.enumRef(field.enum);
      case "message":
        return this.ref(field.message);
      case "list":
        return {
          type: "array",
          items:
            field.listKind === "scalar"
              ? scalarSchema(field.scalar)
              : field.listKind === "enum"
                ? this.enumRef(field.enum)
                : this.ref(field.message),
        };
      case "map":
        return {
          type: "object",
          additionalProperties:
            field.mapKind === "scalar"
              ? scalarSchema(field.scalar)
              : field.mapKind === "enum"
                ? this.enumRef(field.enum)
                : this.ref(field.message),
        };
    }
  }

  fieldSchema(field: DescField): Schema {
    let schema = this.valueSchema(field);
    if (this.options.jsonOrBase64.has(`${field.parent.typeName}.${field.name}`)) {
      schema = {
        oneOf: [
          {
            type: "object",
            additionalProperties: true,
            description:
              "The JSON object itself (Connect JSON). Herald stores, signs and delivers it as compact JSON: JSON.stringify of the parsed object; a number a double cannot hold keeps the text it was sent as.",
          },
          { ...schema, description: "Its bytes in base64, as protobuf's JSON mapping writes bytes." },
        ],
      };
    }
    const description = describe(field);
    return description ? { ...schema, description } : schema;
  }

  messageSchema(message: DescMessage): Schema {
    const properties: Record<string, Schema> = {};
    for (const field of message.fields) properties[field.jsonName] = this.fieldSchema(field);
    const oneofs = message.oneofs.filter((o) => !o.fields.some((f) => f.proto.proto3Optional));
    const notes = oneofs.map((o) => `At most one of ${o.fields.map((f) => `\`${f.jsonName}\``).join(", ")}.`);
    const description = [describe(message), ...notes].filter(Boolean).join("\n\n");
    const example = exampleOf(message);
    return {
      type: "object",
      ...(description && { description }),
      properties,
      additionalProperties: false,
      ...(example !== undefined && { examples: [example] }),
    };
  }
}

const CONNECT_ERROR: Schema = {
  type: "object",
  description: "A Connect error: the code, and a message a person can act on.",
  properties: {
    code: {
      type: "string",
      enum: [
        "canceled",
        "unknown",
        "invalid_argument",
        "deadline_exceeded",
        "not_found",
        "already_exists",
        "permission_denied",
        "resource_exhausted",
        "failed_precondition",
        "aborted",
        "out_of_range",
        "unimplemented",
        "internal",
        "unavailable",
        "data_loss",
        "unauthenticated",
      ],
    },
    message: { type: "string" },
    details: { type: "array", items: { type: "object" } },
  },
  required: ["code"],
};

function operation(builder: DocumentBuilder, method: DescMethod): Schema {
  const example = exampleOf(method.input);
  return {
    operationId: `${method.parent.typeName}.${method.name}`,
    tags: [method.parent.typeName],
    summary: method.name,
    ...(describe(method) && { description: describe(method) }),
    parameters: [
      {
        name: "Connect-Protocol-Version",
        in: "header",
        required: false,
        schema: { type: "string", const: "1" },
        description: "The Connect protocol version; optional for Herald.",
      },
      {
        name: "Connect-Timeout-Ms",
        in: "header",
        required: false,
        schema: { type: "integer", minimum: 1 },
        description: "A deadline for the call, in milliseconds.",
      },
    ],
    requestBody: {
      required: true,
      content: {
        "application/json": {
          schema: builder.ref(method.input),
          ...(example !== undefined && { example }),
        },
      },
    },
    responses: {
      "200": {
        description: "Success",
        content: { "application/json": { schema: builder.ref(method.output) } },
      },
      default: {
        description: "A Connect error (HTTP status per the Connect protocol's code mapping)",
        content: { "application/json": { schema: { $ref: "#/components/schemas/connect.error" } } },
      },
    },
  };
}

function buildDocument(name: string, services: DescService[], options: Options): Schema {
  const builder = new DocumentBuilder(options);
  const paths: Record<string, Schema> = {};
  const streaming: string[] = [];
  for (const service of services) {
    for (const method of service.methods) {
      if (method.methodKind !== "unary") {
        streaming.push(`${service.typeName}/${method.name}`);
        continue;
      }
      paths[`/${service.typeName}/${method.name}`] = { post: operation(builder, method) };
    }
  }
  const schemas: Record<string, Schema> = { "connect.error": CONNECT_ERROR };
  for (const key of [...builder.schemas.keys()].sort()) schemas[key] = builder.schemas.get(key) as Schema;
  const description = [
    `Herald's ${name} API over the Connect protocol's JSON encoding: each call is an HTTP POST of the request as JSON to /<package.Service>/<Method>, answered with the response as JSON, or a Connect error. The same port serves gRPC and gRPC-Web. Authenticate with an API key: \`Authorization: Bearer hk_…\`.`,
    streaming.length
      ? `Streaming methods, which need a Connect or gRPC client: ${streaming.join(", ")}.`
      : "",
    "Generated from proto/ by scripts/protoc-gen-connect-openapi.ts; do not edit.",
  ]
    .filter(Boolean)
    .join("\n\n");
  return {
    openapi: "3.1.0",
    info: { title: `Herald ${name} API`, version: "v1", description },
    servers: [{ url: "/", description: "this service's own port" }],
    security: [{ apiKey: [] }],
    tags: services.map((s) => ({ name: s.typeName, ...(describe(s) && { description: describe(s) }) })),
    paths,
    components: {
      schemas,
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "A Herald API key (hk_…)" },
      },
    },
  };
}

function registryOf(request: CodeGeneratorRequest): FileRegistry {
  return createFileRegistry(create(FileDescriptorSetSchema, { file: request.protoFile }));
}

const plugin: Plugin = {
  name: "protoc-gen-connect-openapi",
  version: "v1",
  run(request) {
    const options = parseOptions(request.parameter);
    const registry = registryOf(request);
    const documents: Record<string, Schema> = {};
    for (const [name, typeNames] of [...options.documents].sort(([a], [b]) => a.localeCompare(b))) {
      const services = typeNames.map((typeName) => {
        const service = registry.getService(typeName);
        if (!service) throw new Error(`document=${name}:${typeName}: no such service`);
        return service;
      });
      documents[name] = buildDocument(name, services, options);
    }
    const file = Object.entries(documents).map(([name, doc]) => ({
      name: `openapi/${name}.openapi.json`,
      content: `${JSON.stringify(doc, null, 2)}\n`,
    }));
    file.push({
      name: "openapi/documents.ts",
      content: [
        "// Generated by scripts/protoc-gen-connect-openapi.ts from proto/; do not edit.",
        "/** The OpenAPI 3.1 description of each Herald service's Connect JSON API, by service name. */",
        `export const openApiDocuments: Readonly<Record<string, object>> = ${JSON.stringify(documents)};`,
        "",
      ].join("\n"),
    });
    return create(CodeGeneratorResponseSchema, {
      supportedFeatures: BigInt(CodeGeneratorResponse_Feature.PROTO3_OPTIONAL),
      file,
    });
  },
};

runNodeJs(plugin);
