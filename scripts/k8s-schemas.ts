// Writes the JSON schemas kubeconform validates manifests against, offline (scripts/deploy-check.sh runs
// it): one standalone, strict schema per kind, named as kubeconform looks them up
// (`{{ .ResourceKind }}{{ .KindSuffix }}.json`, e.g. deployment-apps-v1.json), from
//   - Kubernetes' OpenAPI v2 document (api/openapi-spec/swagger.json of the k8s.io/kubernetes module), and
//   - CustomResourceDefinition files (ServiceMonitor, ScaledObject…), from their operators' modules.
// It does what kubeconform's own schemas (openapi2jsonschema) do: references inlined, int-or-string as
// string or integer, optional fields nullable, and no property a schema does not name (strict).
//
//   node scripts/k8s-schemas.ts <out dir> <swagger.json> [crd.yaml…]
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

type Schema = { [key: string]: unknown };
interface Gvk {
  group: string;
  version: string;
  kind: string;
}

/** kubeconform's file name of a kind: lower-case kind, the group's first label, the version. */
export function schemaFileName({ group, version, kind }: Gvk): string {
  const groupPart = group ? `-${group.split(".")[0]?.toLowerCase()}` : "";
  return `${kind.toLowerCase()}${groupPart}-${version.toLowerCase()}.json`;
}

/**
 * One definition with every `$ref` replaced by what it points to. A reference back to a definition
 * being expanded (JSONSchemaProps refers to itself) becomes `{}`: anything goes there.
 */
function inline(node: unknown, definitions: Record<string, Schema>, expanding: Set<string>): unknown {
  if (Array.isArray(node)) return node.map((item) => inline(item, definitions, expanding));
  if (node === null || typeof node !== "object") return node;
  const object = node as Schema;
  const ref = object.$ref;
  if (typeof ref === "string") {
    const name = ref.replace("#/definitions/", "");
    const target = definitions[name];
    if (!target) throw new Error(`unknown reference ${ref}`);
    if (expanding.has(name)) return {};
    const inner = new Set(expanding).add(name);
    const { $ref: _, ...siblings } = object;
    return { ...(inline(target, definitions, inner) as Schema), ...siblings };
  }
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, inline(v, definitions, expanding)]));
}

/** int-or-string, nullable optional fields and strictness, over a whole schema. */
export function tighten(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tighten);
  if (node === null || typeof node !== "object") return node;
  const schema = { ...(node as Schema) };
  if (schema.format === "int-or-string" || schema["x-kubernetes-int-or-string"] === true) {
    const { type: _t, format: _f, ...rest } = schema;
    return { ...rest, oneOf: [{ type: "string" }, { type: "integer" }] };
  }
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  if (schema.properties && typeof schema.properties === "object") {
    schema.properties = Object.fromEntries(
      Object.entries(schema.properties as Record<string, Schema>).map(([name, property]) => {
        const tight = tighten(property) as Schema;
        return [name, required.has(name) ? tight : nullable(tight)];
      }),
    );
    const preserves = schema["x-kubernetes-preserve-unknown-fields"] === true;
    if (schema.additionalProperties === undefined && !preserves) schema.additionalProperties = false;
  }
  for (const key of ["items", "additionalProperties", "not"]) {
    if (schema[key] && typeof schema[key] === "object") schema[key] = tighten(schema[key]);
  }
  for (const key of ["allOf", "anyOf", "oneOf"]) {
    if (Array.isArray(schema[key])) schema[key] = (schema[key] as unknown[]).map(tighten);
  }
  return schema;
}

function nullable(schema: Schema): Schema {
  if (typeof schema.type === "string") return { ...schema, type: [schema.type, "null"] };
  return schema;
}

/** A top-level schema: apiVersion and kind fixed to the kind's own. */
function topLevel(schema: Schema, gvk: Gvk): Schema {
  const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
  const properties = { ...((schema.properties as Record<string, Schema>) ?? {}) };
  properties.apiVersion = { type: "string", enum: [apiVersion] };
  properties.kind = { type: "string", enum: [gvk.kind] };
  return { ...schema, properties, $schema: "http://json-schema.org/draft-07/schema#" };
}

export function fromOpenApi(document: { definitions: Record<string, Schema> }): Map<string, Schema> {
  const files = new Map<string, Schema>();
  for (const [name, definition] of Object.entries(document.definitions)) {
    const gvks = definition["x-kubernetes-group-version-kind"] as Gvk[] | undefined;
    if (!gvks) continue;
    const schema = tighten(inline(definition, document.definitions, new Set([name]))) as Schema;
    for (const gvk of gvks) {
      const file = schemaFileName(gvk);
      if (!files.has(file)) files.set(file, topLevel(schema, gvk));
    }
  }
  return files;
}

export function fromCrds(text: string): Map<string, Schema> {
  const files = new Map<string, Schema>();
  for (const document of parseAllDocuments(text)) {
    const crd = document.toJS() as {
      kind?: string;
      spec?: {
        group: string;
        names: { kind: string };
        versions: { name: string; schema?: { openAPIV3Schema?: Schema } }[];
      };
    } | null;
    if (crd?.kind !== "CustomResourceDefinition" || !crd.spec) continue;
    for (const version of crd.spec.versions) {
      const schema = version.schema?.openAPIV3Schema;
      if (!schema) continue;
      const gvk = { group: crd.spec.group, version: version.name, kind: crd.spec.names.kind };
      // ObjectMeta is not in a CRD's schema; kubeconform's own CRD schemas leave it open as well.
      files.set(schemaFileName(gvk), topLevel(tighten(schema) as Schema, gvk));
    }
  }
  return files;
}

if (import.meta.main) {
  const [outDir, swagger, ...crds] = process.argv.slice(2);
  if (!outDir || !swagger) {
    process.stderr.write("usage: node scripts/k8s-schemas.ts <out dir> <swagger.json> [crd.yaml…]\n");
    process.exit(2);
  }
  const files = fromOpenApi(JSON.parse(readFileSync(swagger, "utf8")));
  for (const crd of crds)
    for (const [file, schema] of fromCrds(readFileSync(crd, "utf8"))) files.set(file, schema);
  mkdirSync(outDir, { recursive: true });
  for (const [file, schema] of files) writeFileSync(join(outDir, file), `${JSON.stringify(schema)}\n`);
  process.stdout.write(`${files.size} schemas in ${outDir}\n`);
}
