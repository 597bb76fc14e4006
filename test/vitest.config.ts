import { defineConfig } from "vitest/config";

// End-to-end tests start the four services as processes; one file at a time keeps a 2-core
// machine from timing out under four stacks at once. chaos/ kills services, RabbitMQ and MongoDB
// under load (see chaos/faults.test.ts). bench/ holds unit tests of the benchmark's own logic.
export default defineConfig({
  test: {
    include: ["e2e/**/*.test.ts", "chaos/**/*.test.ts", "bench/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 90_000,
  },
});
