import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { REPO_ROOT } from "./support/stack.js";

// The Helm chart in deploy/helm/herald, rendered with a few value sets and checked by real tools: helm lint
// (which validates values against values.schema.json) and kubeconform -strict against the Kubernetes API's
// schemas (scripts/k8s-tools.sh builds both and writes the schemas, offline). Then what the tools cannot
// know: probes on the right port and paths, the grace period against SHUTDOWN_TIMEOUT_MS, credentials only
// in Secrets, and only variables Herald reads.

const CHART = join(REPO_ROOT, "deploy/helm/herald");
const SERVICES = ["ingest", "routing", "delivery", "audit"] as const;
const README_PORTS = { ingest: 7001, routing: 7002, delivery: 7003, audit: 7004 };
/** Variables the chart sets itself rather than taking from `config` (from PORTAL_PORT on: the portal's). */
const CHART_SET = [
  "AMQP_URL",
  "MONGO_URL",
  "HERALD_ADMIN_KEY",
  "HERALD_SECRET_KEYS",
  "HOST",
  "PORT",
  "PORTAL_PORT",
  "HERALD_ROUTING_URL",
  "HERALD_AUDIT_URL",
  "HERALD_TLS_CA_FILE",
  "HERALD_TLS_CERT_FILE",
  "HERALD_TLS_KEY_FILE",
];
/** The service exits by itself this long after SIGTERM (libs/platform/src/service.ts, main). */
const SERVICE_EXIT_DEADLINE_S = 30;

const TRIAL_SECRETS = {
  adminKey: "trial-admin-key-0123456789abcdefghijklmnop",
  secretKeys: "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
  amqpUrl: "amqp://herald:trial-amqp-password@rabbitmq:5672",
  mongoUrl: "mongodb://herald:trial-mongo-password@mongo-0.mongo:27017/?replicaSet=rs0",
};

/** The value sets rendered: the defaults, a trial with its own Secret and fixed copies, and operators' clusters. */
const VALUE_SETS: Record<string, object> = {
  defaults: {},
  trial: {
    secrets: { create: true, ...TRIAL_SECRETS },
    services: Object.fromEntries(
      SERVICES.map((s) => [s, { replicas: 3, autoscaling: { enabled: false }, pdb: { enabled: false } }]),
    ),
    portal: { enabled: false },
  },
  operators: {
    secrets: { existingSecret: "herald-keys" },
    listenHost: "::",
    rabbitmq: { clusterOperator: { defaultUserSecret: "rabbitmq-default-user", vhost: "/" } },
    mongodb: { url: { secretName: "mongo-herald-herald", key: "connectionString.standard" } },
    keda: { host: { secretName: "rabbitmq-amqp-url", key: "url" } },
    config: {
      SHUTDOWN_TIMEOUT_MS: "45000",
      AMQP_NAMESPACE: "prod",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel:4318",
    },
    tls: { enabled: true, secretName: "herald-tls", clientAuth: "optional" },
    portal: { clientCertSecretName: "herald-portal-client-tls" },
    metrics: { serviceMonitor: { enabled: true, labels: { release: "prometheus" } } },
    services: {
      delivery: { keda: { enabled: true }, config: { DELIVERY_CONCURRENCY: "512" } },
      audit: { keda: { enabled: true } },
    },
  },
};

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are read field by field below
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { cwd: REPO_ROOT, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function tool(name: "helm" | "kubeconform" | "schemas"): Promise<string> {
  const result = await run("bash", [join(REPO_ROOT, "scripts/k8s-tools.sh"), "path", name]);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trim();
}

/** The README's configuration table: variable → the services column. */
async function readmeVariables(): Promise<Map<string, string>> {
  const readme = await readFile(join(REPO_ROOT, "README.md"), "utf8");
  const table = readme.slice(
    readme.indexOf("<!-- config-table:start"),
    readme.indexOf("<!-- config-table:end"),
  );
  const rows = [...table.matchAll(/^\| `([A-Z0-9_*]+)`\s*\|\s*([^|]+?)\s*\|/gm)];
  return new Map(rows.map((m) => [m[1] as string, m[2] as string]));
}

let helm: string;
let kubeconform: string;
let schemas: string;
let workDir: string;
const rendered = new Map<string, Manifest[]>();

async function valuesFile(name: string, values: object): Promise<string> {
  const path = join(workDir, `${name}.yaml`);
  await writeFile(path, stringify(values));
  return path;
}

async function template(values: object, name = `v${Math.random().toString(36).slice(2)}`): Promise<Run> {
  return run(helm, [
    "template",
    "herald",
    CHART,
    "--namespace",
    "herald",
    "-f",
    await valuesFile(name, values),
  ]);
}

function kubeconformRun(manifests: string): Promise<Run> {
  return run(
    kubeconform,
    [
      "-strict",
      "-summary",
      "-schema-location",
      join(schemas, "{{ .ResourceKind }}{{ .KindSuffix }}.json"),
      "-",
    ],
    manifests,
  );
}

function parse(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

const ofKind = (manifests: Manifest[], kind: string) => manifests.filter((m) => m.kind === kind);

const componentOf = (m: Manifest) => m.metadata.labels?.["app.kubernetes.io/component"];

/** The four services' Deployments; the portal's is checked on its own. */
const serviceDeployments = (manifests: Manifest[]) =>
  ofKind(manifests, "Deployment").filter((d) => componentOf(d) !== "portal");

beforeAll(async () => {
  // The first build on a machine downloads modules and compiles helm (minutes); later runs find them cached.
  [helm, kubeconform, schemas] = await Promise.all([tool("helm"), tool("kubeconform"), tool("schemas")]);
  workDir = await mkdtemp(join(tmpdir(), "herald-deploy-"));
}, 1_200_000);

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("the Helm chart, by helm and kubeconform", () => {
  for (const [name, values] of Object.entries(VALUE_SETS)) {
    it(`${name}: lints clean and renders manifests valid against Kubernetes' schemas`, async () => {
      const file = await valuesFile(name, values);
      const lint = await run(helm, ["lint", "--strict", CHART, "-f", file]);
      expect(lint.code, `${lint.stdout}${lint.stderr}`).toBe(0);
      const out = await template(values, name);
      expect(out.code, out.stderr).toBe(0);
      const check = await kubeconformRun(out.stdout);
      expect(check.code, `${check.stdout}${check.stderr}`).toBe(0);
      // Every kind had a schema: none skipped, none missing.
      expect(check.stdout).toMatch(/Invalid: 0, Errors: 0, Skipped: 0/);
      rendered.set(name, parse(out.stdout));
    });
  }

  it("kubeconform's schemas are strict: a misspelt field is refused", async () => {
    const deployment = serviceDeployments(rendered.get("defaults") ?? [])[0];
    expect(deployment).toBeDefined();
    const broken = structuredClone(deployment) as Manifest;
    const container = broken.spec.template.spec.containers[0];
    container.livenessProbes = container.livenessProbe;
    const check = await kubeconformRun(stringify(broken));
    expect(check.code).not.toBe(0);
    expect(check.stdout).toContain("livenessProbes");
  });

  it("refuses values the schema or the templates do not allow", async () => {
    const cases: [object, RegExp][] = [
      [{ config: { NOT_A_HERALD_VARIABLE: "1" } }, /NOT_A_HERALD_VARIABLE/],
      [{ services: { delivery: { config: { HERALD_ADMIN_KEY: "x".repeat(40) } } } }, /HERALD_ADMIN_KEY/],
      [{ secrets: { create: true, adminKey: "too-short", secretKeys: "k1:AAAA" } }, /adminKey/],
      [{ tls: { enabled: true, secretName: "t", clientAuth: "require" } }, /clientAuth/],
      [{ services: { ingest: { keda: { enabled: true } } } }, /keda/],
      [{ tls: { enabled: true } }, /tls.secretName/],
      [{ secrets: { create: true, adminKey: TRIAL_SECRETS.adminKey, secretKeys: "k1:AAAA" } }, /amqpUrl/],
    ];
    for (const [values, message] of cases) {
      const out = await template(values);
      expect(out.code, JSON.stringify(values)).not.toBe(0);
      expect(out.stderr).toMatch(message);
    }
  });
});

describe("scripts/k8s-schemas.ts, which writes kubeconform's schemas", () => {
  // Imported by path: the script is run by node as it is, outside any TypeScript project.
  type Generator = {
    schemaFileName(gvk: { group: string; version: string; kind: string }): string;
    tighten(schema: unknown): unknown;
  };
  const generator = () => import(join(REPO_ROOT, "scripts/k8s-schemas.ts")) as Promise<Generator>;

  it("names each kind's file as kubeconform looks it up", async () => {
    const { schemaFileName } = await generator();
    expect(schemaFileName({ group: "", version: "v1", kind: "ConfigMap" })).toBe("configmap-v1.json");
    expect(schemaFileName({ group: "apps", version: "v1", kind: "Deployment" })).toBe(
      "deployment-apps-v1.json",
    );
    expect(schemaFileName({ group: "monitoring.coreos.com", version: "v1", kind: "ServiceMonitor" })).toBe(
      "servicemonitor-monitoring-v1.json",
    );
  });

  it("closes objects, admits null for optional fields, and reads int-or-string as either", async () => {
    const { tighten } = await generator();
    expect(
      tighten({
        type: "object",
        required: ["name"],
        properties: {
          name: { type: "string" },
          port: { type: "string", format: "int-or-string" },
          labels: { type: "object", additionalProperties: { type: "string" } },
          open: {
            type: "object",
            "x-kubernetes-preserve-unknown-fields": true,
            properties: { a: { type: "string" } },
          },
        },
      }),
    ).toEqual({
      type: "object",
      required: ["name"],
      additionalProperties: false,
      properties: {
        name: { type: "string" },
        port: { oneOf: [{ type: "string" }, { type: "integer" }] },
        labels: { type: ["object", "null"], additionalProperties: { type: "string" } },
        open: {
          type: ["object", "null"],
          "x-kubernetes-preserve-unknown-fields": true,
          properties: { a: { type: ["string", "null"] } },
        },
      },
    });
  });
});

describe("the rendered manifests", () => {
  const sets = () => [...rendered.entries()];

  it("rendered every value set", () => {
    expect([...rendered.keys()].sort()).toEqual(Object.keys(VALUE_SETS).sort());
  });

  it("run each service from the image with probes on its own port: /healthz alive, /readyz ready", () => {
    for (const [set, manifests] of sets()) {
      const deployments = serviceDeployments(manifests);
      expect(deployments.map((d) => d.metadata.labels?.["app.kubernetes.io/component"]).sort(), set).toEqual(
        [...SERVICES].sort(),
      );
      for (const deployment of deployments) {
        const service = deployment.metadata.labels?.[
          "app.kubernetes.io/component"
        ] as keyof typeof README_PORTS;
        const [container] = deployment.spec.template.spec.containers;
        expect(container.command).toEqual(["node", `apps/${service}/dist/main.js`]);
        const port = container.ports.find((p: { name: string }) => p.name === "rpc");
        expect(port.containerPort, `${set} ${service}`).toBe(README_PORTS[service]);
        const env = Object.fromEntries(
          container.env.map((e: { name: string; value?: string }) => [e.name, e.value]),
        );
        expect(env.PORT).toBe(String(README_PORTS[service]));
        expect(env.HOST).toBe(set === "operators" ? "::" : "0.0.0.0");
        expect(container.livenessProbe.httpGet).toMatchObject({ path: "/healthz", port: "rpc" });
        expect(container.startupProbe.httpGet).toMatchObject({ path: "/healthz", port: "rpc" });
        expect(container.readinessProbe.httpGet).toMatchObject({ path: "/readyz", port: "rpc" });
        const scheme = set === "operators" ? "HTTPS" : "HTTP";
        expect(container.readinessProbe.httpGet.scheme, `${set} ${service}`).toBe(scheme);
        // The Service sends to the same named port.
        const svc = ofKind(manifests, "Service").find((s) => s.metadata.name === deployment.metadata.name);
        expect(svc?.spec.ports).toEqual([
          expect.objectContaining({ port: README_PORTS[service], targetPort: "rpc" }),
        ]);
      }
    }
  });

  it("run the portal from the image beside the services, forwarding to this release's routing and audit", () => {
    expect(ofKind(rendered.get("trial") ?? [], "Deployment").map(componentOf)).not.toContain("portal");
    for (const set of ["defaults", "operators"]) {
      const manifests = rendered.get(set) ?? [];
      const deployment = ofKind(manifests, "Deployment").find((d) => componentOf(d) === "portal");
      const [container] = deployment?.spec.template.spec.containers ?? [];
      expect(container.command).toEqual(["node", "apps/portal/dist/server/main.js"]);
      expect(container.ports).toEqual([{ name: "http", containerPort: 7005, protocol: "TCP" }]);
      const env = Object.fromEntries(
        container.env.map((e: { name: string; value?: string; valueFrom?: object }) => [
          e.name,
          e.value ?? e.valueFrom,
        ]),
      );
      const scheme = set === "operators" ? "https" : "http";
      expect(env).toMatchObject({
        PORTAL_PORT: "7005",
        HERALD_ROUTING_URL: `${scheme}://herald-routing:7002`,
        HERALD_AUDIT_URL: `${scheme}://herald-audit:7004`,
        HERALD_ADMIN_KEY: { secretKeyRef: expect.any(Object) },
      });
      // Nothing it does not use: no database, broker or key ring.
      for (const name of ["MONGO_URL", "AMQP_URL", "HERALD_SECRET_KEYS"])
        expect(env).not.toHaveProperty(name);
      // With TLS: the services' CA, and the client certificate from its own Secret, reloaded on change.
      const tls = set === "operators";
      expect(env.HERALD_TLS_CA_FILE).toBe(tls ? "/etc/herald/tls/ca.crt" : undefined);
      expect([env.HERALD_TLS_CERT_FILE, env.HERALD_TLS_KEY_FILE]).toEqual(
        tls ? ["/etc/herald/portal-tls/tls.crt", "/etc/herald/portal-tls/tls.key"] : [undefined, undefined],
      );
      const volumes = deployment?.spec.template.spec.volumes ?? [];
      expect(volumes.find((v: { name: string }) => v.name === "client-tls")?.secret?.secretName).toBe(
        tls ? "herald-portal-client-tls" : undefined,
      );
      for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"])
        expect(container[probe].httpGet).toEqual({ path: "/healthz", port: "http" });
      expect(deployment?.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true });
      expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true });
      const svc = ofKind(manifests, "Service").find((s) => s.metadata.name === "herald-portal");
      expect(svc?.spec.ports).toEqual([expect.objectContaining({ port: 7005, targetPort: "http" })]);
      const pdb = ofKind(manifests, "PodDisruptionBudget").find((p) => p.metadata.name === "herald-portal");
      expect(pdb?.spec.selector.matchLabels).toEqual(deployment?.spec.selector.matchLabels);
    }
  });

  it("give each pod longer than SHUTDOWN_TIMEOUT_MS and the service's own exit deadline, after preStop", () => {
    for (const [set, manifests] of sets()) {
      const config = ofKind(manifests, "ConfigMap").find((c) => c.metadata.name.endsWith("-config"));
      const shutdownS = Number(config?.data?.SHUTDOWN_TIMEOUT_MS ?? 15_000) / 1000;
      for (const deployment of serviceDeployments(manifests)) {
        const pod = deployment.spec.template.spec;
        const preStop = pod.containers[0].lifecycle.preStop.exec.command;
        expect(preStop[0]).toBe("sleep");
        const grace = pod.terminationGracePeriodSeconds;
        expect(grace, set).toBeGreaterThan(Number(preStop[1]) + shutdownS);
        expect(grace, set).toBeGreaterThan(Number(preStop[1]) + SERVICE_EXIT_DEADLINE_S);
      }
    }
    expect(Number(ofKind(rendered.get("operators") ?? [], "ConfigMap")[0]?.data?.SHUTDOWN_TIMEOUT_MS)).toBe(
      45_000,
    );
  });

  it("take credentials from Secrets only, never from a ConfigMap or a plain value", () => {
    const secretValues = Object.values(TRIAL_SECRETS);
    for (const [set, manifests] of sets()) {
      for (const configMap of ofKind(manifests, "ConfigMap")) {
        const text = JSON.stringify(configMap);
        for (const value of secretValues)
          expect(text, `${set} ${configMap.metadata.name}`).not.toContain(value);
        for (const key of CHART_SET) expect(configMap.data ?? {}, set).not.toHaveProperty(key);
      }
      for (const deployment of serviceDeployments(manifests)) {
        const env: { name: string; value?: string; valueFrom?: { secretKeyRef?: object } }[] =
          deployment.spec.template.spec.containers[0].env;
        const text = JSON.stringify(env);
        for (const value of secretValues) expect(text).not.toContain(value);
        for (const name of ["HERALD_ADMIN_KEY", "MONGO_URL"]) {
          expect(env.find((e) => e.name === name)?.valueFrom?.secretKeyRef, `${set} ${name}`).toBeDefined();
        }
        // The key ring goes to the services that seal and open endpoint secrets, and no others.
        const component = deployment.metadata.labels?.["app.kubernetes.io/component"] ?? "";
        expect(
          env.some((e) => e.name === "HERALD_SECRET_KEYS"),
          component,
        ).toBe(["routing", "delivery"].includes(component));
      }
    }
    const trialSecret = ofKind(rendered.get("trial") ?? [], "Secret")[0];
    expect(trialSecret?.stringData).toEqual({
      HERALD_ADMIN_KEY: TRIAL_SECRETS.adminKey,
      HERALD_SECRET_KEYS: TRIAL_SECRETS.secretKeys,
      AMQP_URL: TRIAL_SECRETS.amqpUrl,
      MONGO_URL: TRIAL_SECRETS.mongoUrl,
    });
    expect(ofKind(rendered.get("defaults") ?? [], "Secret")).toEqual([]);
  });

  it("compose AMQP_URL from the RabbitMQ Cluster Operator's default-user Secret", () => {
    const deployment = serviceDeployments(rendered.get("operators") ?? [])[0];
    const env: {
      name: string;
      value?: string;
      valueFrom?: { secretKeyRef?: { name: string; key: string } };
    }[] = deployment?.spec.template.spec.containers[0].env;
    const names = env.map((e) => e.name);
    const amqp = env.find((e) => e.name === "AMQP_URL");
    expect(amqp?.value).toBe(
      "amqp://$(HERALD_CHART_AMQP_USERNAME):$(HERALD_CHART_AMQP_PASSWORD)@$(HERALD_CHART_AMQP_HOST):$(HERALD_CHART_AMQP_PORT)/%2F",
    );
    // Kubernetes expands $(VAR) only from variables defined before it.
    for (const part of ["USERNAME", "PASSWORD", "HOST", "PORT"]) {
      const index = names.indexOf(`HERALD_CHART_AMQP_${part}`);
      expect(index).toBeGreaterThanOrEqual(0);
      expect(index).toBeLessThan(names.indexOf("AMQP_URL"));
      expect(env[index]?.valueFrom?.secretKeyRef?.name).toBe("rabbitmq-default-user");
    }
    expect(env.find((e) => e.name === "MONGO_URL")?.valueFrom?.secretKeyRef).toEqual({
      name: "mongo-herald-herald",
      key: "connectionString.standard",
    });
  });

  it("set only variables Herald reads, and the values schema offers every one it may", async () => {
    const readme = await readmeVariables();
    expect(readme.size).toBeGreaterThan(40);
    for (const [set, manifests] of sets()) {
      const names = new Set<string>();
      for (const configMap of ofKind(manifests, "ConfigMap"))
        for (const k of Object.keys(configMap.data ?? {})) names.add(k);
      for (const d of ofKind(manifests, "Deployment"))
        for (const e of d.spec.template.spec.containers[0].env) names.add(e.name);
      const unknown = [...names].filter(
        (n) => !readme.has(n) && !n.startsWith("OTEL_") && !n.startsWith("HERALD_CHART_AMQP_"),
      );
      expect(unknown, set).toEqual([]);
    }
    const schema = JSON.parse(await readFile(join(CHART, "values.schema.json"), "utf8"));
    const offered = Object.keys(schema.$defs.heraldConfig.properties).sort();
    const settable = [...readme.keys()]
      .filter((n) => !CHART_SET.includes(n) && !n.startsWith("RPC_TLS_") && n !== "OTEL_*")
      .sort();
    // A new variable in a service's config schema must be offered by the chart too (or set by it).
    expect(offered).toEqual(settable);
  });

  it("scale on CPU by default, at a fixed count when off, and on queue depth with KEDA", () => {
    const hpas = (set: string) => ofKind(rendered.get(set) ?? [], "HorizontalPodAutoscaler");
    expect(
      hpas("defaults")
        .map((h) => h.spec.scaleTargetRef.name.split("-").at(-1))
        .sort(),
    ).toEqual([...SERVICES].sort());
    for (const d of serviceDeployments(rendered.get("defaults") ?? []))
      expect(d.spec).not.toHaveProperty("replicas");
    expect(hpas("trial")).toEqual([]);
    for (const d of serviceDeployments(rendered.get("trial") ?? [])) expect(d.spec.replicas).toBe(3);

    const operators = rendered.get("operators") ?? [];
    expect(
      hpas("operators")
        .map((h) => h.spec.scaleTargetRef.name.split("-").at(-1))
        .sort(),
    ).toEqual(["ingest", "routing"]);
    const scaled = ofKind(operators, "ScaledObject");
    expect(
      scaled.map((s) => [
        s.spec.scaleTargetRef.name.split("-").at(-1),
        s.spec.triggers[0].metadata.queueName,
      ]),
    ).toEqual([
      ["audit", "prod.audit.attempts"],
      ["delivery", "prod.delivery.tasks"],
    ]);
    // Delivery's tasks are sharded by tenant: one trigger per shard besides the unsharded queue.
    const deliveryQueues = scaled
      .find((s) => s.spec.scaleTargetRef.name.endsWith("-delivery"))
      ?.spec.triggers.filter((t: { type: string }) => t.type === "rabbitmq")
      .map((t: { metadata: { queueName: string } }) => t.metadata.queueName);
    expect(deliveryQueues).toEqual([
      "prod.delivery.tasks",
      ...Array.from({ length: 8 }, (_, shard) => `prod.delivery.tasks.${shard}`),
    ]);
    expect(ofKind(operators, "TriggerAuthentication")[0]?.spec.secretTargetRef).toEqual([
      { parameter: "host", name: "rabbitmq-amqp-url", key: "url" },
    ]);
    expect(ofKind(operators, "ServiceMonitor")[0]?.spec.endpoints[0]).toMatchObject({
      port: "rpc",
      path: "/metrics",
    });
  });

  it("guard each service with a PodDisruptionBudget over its own pods, and run them unprivileged", () => {
    for (const [set, manifests] of sets()) {
      const pdbs = ofKind(manifests, "PodDisruptionBudget");
      for (const deployment of serviceDeployments(manifests)) {
        const pod = deployment.spec.template;
        const pdb = pdbs.find((p) => p.metadata.name === deployment.metadata.name);
        if (set === "trial") expect(pdb).toBeUndefined();
        else expect(pdb?.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
        expect(pod.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
        expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
        expect(pod.spec.containers[0].securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        });
        expect(pod.metadata.annotations["prometheus.io/path"]).toBe("/metrics");
        expect(pod.spec.containers[0].resources.requests.cpu).toMatch(/^\d+m$/);
      }
    }
  });
});
