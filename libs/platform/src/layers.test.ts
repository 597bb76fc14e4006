// Imports run one way: apps -> model -> runtime -> contracts. The runtime (everything in src/ outside
// model/ and testing/, tests aside) must not reach into the model, its index stays a short, hand-curated
// list, and neither the runtime nor the model imports test support (testing/, @herald/platform/testing).
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = dirname(fileURLToPath(import.meta.url));
const modelDir = join(src, "model");
const testingDir = join(src, "testing");
const MAX_RUNTIME_EXPORTS = 40;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => join(entry.parentPath, entry.name));
}

const isTest = (file: string) => /\.test(-support)?\.ts$|-test-support\.ts$/.test(file);

/** The module specifiers of a file's `import … from`, `export … from` and `import("…")`. */
function importedSpecifiers(source: string): string[] {
  const specifiers: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^;"']*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']/g,
  ];
  for (const pattern of patterns)
    for (const match of source.matchAll(pattern)) specifiers.push(match[1] as string);
  return specifiers;
}

/** The names an index's `export { … } from` and `export type { … } from` statements and `export const`s give. */
function exportedNames(source: string): string[] {
  const names: string[] = [];
  for (const match of source.matchAll(/\bexport\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const part of (match[1] as string).split(",")) {
      const name = part
        .trim()
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/)
        .pop();
      if (name) names.push(name);
    }
  }
  for (const match of source.matchAll(/\bexport\s+(?:const|function|class|let)\s+(\w+)/g))
    names.push(match[1] as string);
  return names;
}

/** Whether `specifier`, imported by `file`, names the folder `dir` or the package entry `entry`. */
function reaches(file: string, specifier: string, dir: string, entry: string): boolean {
  if (specifier === entry || specifier.startsWith(`${entry}/`)) return true;
  if (!specifier.startsWith(".")) return false;
  const target = resolve(dirname(file), specifier);
  return target === dir || target.startsWith(`${dir}/`);
}

const reachesModel = (file: string, specifier: string) =>
  reaches(file, specifier, modelDir, "@herald/platform/model");
const reachesTesting = (file: string, specifier: string) =>
  reaches(file, specifier, testingDir, "@herald/platform/testing");
const inDir = (file: string, dir: string) => file.startsWith(`${dir}/`);

/** `file imports specifier` for each import of `files` that `rule` flags. */
function offendingImports(files: string[], rule: (file: string, specifier: string) => boolean): string[] {
  return files.flatMap((file) =>
    importedSpecifiers(readFileSync(file, "utf8"))
      .filter((specifier) => rule(file, specifier))
      .map((specifier) => `${relative(src, file)} imports ${specifier}`),
  );
}

describe("platform layers", () => {
  it("parses imports, re-exports and dynamic imports", () => {
    const source = `import { a } from "./a.js";\nimport type {\n  B,\n} from "../b.js";\nexport { c } from "./model/c.js";\nconst d = await import("./d.js");`;
    expect(importedSpecifiers(source)).toEqual(["./a.js", "../b.js", "./model/c.js", "./d.js"]);
  });

  it("flags a relative or package import of the model and of test support", () => {
    const runtimeFile = join(src, "amqp", "queues.ts");
    expect(reachesModel(runtimeFile, "../model/index.js")).toBe(true);
    expect(reachesModel(runtimeFile, "../mongo.js")).toBe(false);
    expect(reachesTesting(runtimeFile, "../testing/tls.js")).toBe(true);
    expect(reachesTesting(runtimeFile, "@herald/platform/testing")).toBe(true);
    expect(reachesTesting(runtimeFile, "./testing-notes.js")).toBe(false);
  });

  it("keeps the runtime from importing the model", () => {
    const runtimeFiles = sourceFiles(src).filter(
      (file) => !inDir(file, modelDir) && !inDir(file, testingDir) && !isTest(file),
    );
    expect(runtimeFiles.length).toBeGreaterThan(20);
    expect(offendingImports(runtimeFiles, reachesModel)).toEqual([]);
  });

  it("keeps the runtime and the model from importing test support", () => {
    const shippedFiles = sourceFiles(src).filter((file) => !inDir(file, testingDir) && !isTest(file));
    expect(shippedFiles.some((file) => inDir(file, modelDir))).toBe(true);
    expect(offendingImports(shippedFiles, reachesTesting)).toEqual([]);
  });

  it(`keeps the runtime index to at most ${MAX_RUNTIME_EXPORTS} names, none of them test support`, () => {
    const index = readFileSync(join(src, "index.ts"), "utf8");
    const names = exportedNames(index);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBeLessThanOrEqual(MAX_RUNTIME_EXPORTS);
    expect(importedSpecifiers(index).filter((specifier) => /test|model/.test(specifier))).toEqual([]);
    expect(index).not.toMatch(/export\s+\*/);
  });
});
