import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { TEST_ADMIN_KEY } from "@herald/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guideScript, parseGuide } from "./support/guide.js";
import { type Receiver, startReceiver } from "./support/receiver.js";
import { REPO_ROOT, SERVICES, type Stack, startStack } from "./support/stack.js";

// The operator guide is executable documentation: its shell blocks run here, in order, against a live
// Herald, with the CLI pointed at it through the environment the guide documents.

const guide = parseGuide(await readFile(join(REPO_ROOT, "docs/operator-guide.md"), "utf8"));
const blockMarker = (index: number) => `@@operator-guide block ${index}`;

describe("the operator guide's command blocks", () => {
  it("are each marked to run, or skipped with a reason", () => {
    expect(guide.problems).toEqual([]);
    expect(guide.blocks.filter((b) => b.mode === "run").length).toBeGreaterThanOrEqual(5);
  });

  it("cannot drift in unmarked: a new block without a marker is refused", () => {
    expect(parseGuide("Text\n\n```sh\nherald tenants list\n```\n").problems).toHaveLength(1);
    expect(parseGuide("<!-- test: skip -->\n```sh\nnpm start\n```\n").problems).toEqual([
      "line 2: a skipped block must say why",
    ]);
    const marked = parseGuide(
      "<!-- test: run -->\n```sh\necho hi\n```\n\n<!-- test: expect -->\n```\nhi\n```\n" +
        "<!-- test: skip: needs Docker -->\n```bash\ndocker compose up\n```\n",
    );
    expect(marked.problems).toEqual([]);
    expect(marked.blocks.map((b) => [b.mode, b.expect])).toEqual([
      ["run", ["hi"]],
      ["skip", []],
    ]);
  });
});

describe("the operator guide against a live Herald", () => {
  let stack: Stack;
  let receiver: Receiver;
  let workDir: string;

  // Built here rather than in the guide's block: the first build on a machine takes minutes (cached after).
  beforeAll(async () => {
    await promisify(execFile)("bash", [join(REPO_ROOT, "scripts/k8s-tools.sh"), "path", "helm"]);
  }, 1_200_000);

  beforeAll(async () => {
    stack = await startStack();
    receiver = await startReceiver();
    // The guide runs from a checkout after `npm start`: node_modules, and .data/herald.env with the
    // admin key. This one holds the test stack's key, so a developer's .data is never read or written.
    workDir = await mkdtemp(join(tmpdir(), "herald-guide-"));
    await symlink(join(REPO_ROOT, "node_modules"), join(workDir, "node_modules"));
    // Section 10 renders the Helm chart with the helm scripts/k8s-tools.sh builds.
    for (const dir of ["deploy", "scripts"]) await symlink(join(REPO_ROOT, dir), join(workDir, dir));
    await mkdir(join(workDir, ".data"));
    await writeFile(join(workDir, ".data/herald.env"), `HERALD_ADMIN_KEY=${TEST_ADMIN_KEY}\n`);
  });

  afterAll(async () => {
    await receiver?.close();
    await stack?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it("runs every runnable block with exit code 0, printing what the guide shows", async () => {
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith("HERALD_") && !key.endsWith("_PORT")),
    );
    const env = {
      ...inherited,
      INGEST_PORT: String(stack.ports.ingest),
      ROUTING_PORT: String(stack.ports.routing),
      DELIVERY_PORT: String(stack.ports.delivery),
      AUDIT_PORT: String(stack.ports.audit),
      HERALD_INGEST_URL: stack.url("ingest"),
      HERALD_ROUTING_URL: stack.url("routing"),
      HERALD_AUDIT_URL: stack.url("audit"),
      RECEIVER_URL: receiver.url,
    };
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("bash", ["-c", guideScript(guide.blocks, blockMarker)], {
        cwd: workDir,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });

    // Each block's output, by the marker line printed before it.
    const outputs = new Map<number, string>();
    let last = -1;
    for (const [index] of guide.blocks.entries()) {
      const start = result.stdout.indexOf(`${blockMarker(index)}\n`);
      if (start < 0) continue;
      last = index;
      const from = start + blockMarker(index).length + 1;
      const next = result.stdout.slice(from).search(/@@operator-guide block \d+\n/);
      outputs.set(index, next < 0 ? result.stdout.slice(from) : result.stdout.slice(from, from + next));
    }
    const failed = guide.blocks[last];
    expect(
      result.code,
      `the block at docs/operator-guide.md line ${failed?.line} failed:\n${failed?.code}\n--- stderr:\n${result.stderr}`,
    ).toBe(0);
    for (const [index, block] of guide.blocks.entries()) {
      for (const line of block.expect) {
        expect(outputs.get(index), `output of the block at line ${block.line}`).toContain(line);
      }
    }

    // The guide's event reached the receiver the guide created an endpoint for.
    const [request] = await receiver.waitFor(1, 15_000);
    expect(request?.body.toString()).toBe('{"id":"o_1"}');
  });

  it("starts services that log no spurious 'dependencies unavailable'", () => {
    for (const service of SERVICES) expect(stack.logs(service)).not.toContain("dependencies unavailable");
  });
});
