// npm pack/publish hooks. The "development" export condition points at ./src/*.ts for the monorepo, but
// src is not published, and bundlers such as webpack and Vite enable "development" in dev mode: left in,
// it would send them to files that do not exist. So the packed manifest drops it, and postpack restores.
import { copyFileSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

const manifest = new URL("../package.json", import.meta.url);
const backup = new URL("../package.json.pack-backup", import.meta.url);

function withoutDevelopment(exports) {
  return Object.fromEntries(
    Object.entries(exports).map(([subpath, target]) => {
      if (typeof target !== "object") return [subpath, target];
      const { development: _source, ...published } = target;
      return [subpath, published];
    }),
  );
}

const command = process.argv[2];
if (command === "strip-development") {
  copyFileSync(manifest, backup);
  const pkg = JSON.parse(readFileSync(manifest, "utf8"));
  pkg.exports = withoutDevelopment(pkg.exports);
  writeFileSync(manifest, `${JSON.stringify(pkg, null, 2)}\n`);
} else if (command === "restore") {
  if (existsSync(backup)) renameSync(backup, manifest);
} else {
  console.error("usage: node scripts/manifest.mjs strip-development|restore");
  process.exit(2);
}
