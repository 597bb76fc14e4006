// Entry point of `npm run bench`: node 24 runs this TypeScript file as it is (type stripping). The
// modules it imports, and the e2e support files they reuse, name their siblings `./x.js` as TypeScript
// source does; this hook resolves such a name to `./x.ts` when only the source exists. Workspace
// packages (@herald/*) resolve to their built dist, as plain node uses no "development" condition.
import { execFileSync } from "node:child_process";
import { registerHooks } from "node:module";

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      const fromTs = context.parentURL?.endsWith(".ts") && !context.parentURL.includes("/node_modules/");
      if (fromTs && specifier.startsWith(".") && specifier.endsWith(".js")) {
        return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
      }
      throw err;
    }
  },
});

// Build before importing anything: the bench's modules import the workspace packages' dist.
if (process.env.BENCH_SKIP_BUILD !== "1") {
  console.log("bench: building (nx run-many -t build)");
  try {
    execFileSync("npx", ["nx", "run-many", "-t", "build", "--output-style=static"], {
      cwd: new URL("../..", import.meta.url),
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const { stdout = "", stderr = "" } = err as { stdout?: Buffer; stderr?: Buffer };
    console.error(`bench: build failed:\n${`${stdout}${stderr}`.slice(-3000)}`);
    process.exit(1);
  }
}

const { main } = await import("./main.js");
process.exitCode = await main();
// Everything started was stopped; should a handle still be open (a reconnecting client, say), it must
// not keep the process alive.
setTimeout(() => process.exit(), 2_000).unref();
