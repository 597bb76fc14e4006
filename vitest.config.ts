import { defineConfig } from "vitest/config";

// Unit and integration tests of every library and service, in one run. Each test file isolates
// itself (own MongoDB database, own RabbitMQ namespace), so files run in parallel. The end-to-end
// suite in test/ runs separately (scripts/test.sh) because it starts whole processes.
export default defineConfig({
  test: {
    projects: ["libs/*", "apps/*"],
  },
});
