// Entry point of `npm run bench`: node 24 runs this TypeScript file as it is (type stripping), and
// ts-siblings.mjs lets the modules it imports name their siblings `./x.js`. Workspace packages
// (@herald/*) resolve to their built dist, as plain node uses no "development" condition.
import { execFileSync } from "node:child_process";
import { resolveTsSiblings } from "./ts-siblings.mjs";

resolveTsSiblings();

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
