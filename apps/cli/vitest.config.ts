import { defineConfig } from "vitest/config";

// The integration tests (*.int.test.ts) start a whole Herald stack from the services' built dist/ and
// run the built CLI (dist/main.js) against it: build first (`npx nx run-many -t build`).
export default defineConfig({
  test: { include: ["src/**/*.test.ts"], testTimeout: 30_000, hookTimeout: 90_000 },
});
