import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    express: "src/adapters/express.ts",
    fastify: "src/adapters/fastify.ts",
    node: "src/adapters/node.ts",
    fetch: "src/adapters/fetch.ts",
    redis: "src/dedupe/redis-store.ts",
    mongodb: "src/dedupe/mongodb-store.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  // Shared chunks, so that every entry sees the same classes (instanceof works across subpaths).
  splitting: true,
  clean: true,
  target: "es2022",
  platform: "neutral",
  external: ["express", "fastify"],
});
