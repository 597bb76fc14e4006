import http from "node:http";
import { expect, it } from "vitest";
import { startStack } from "./support/stack.js";

// A service's port is chosen before the service binds it, so another process can take it first. The
// stack must then not take whatever answers there for the service, or a file's tests talk to the wrong
// process: readiness names the service, and the failed start says why.
it("does not take another server answering on a service's port for the service", async () => {
  const stack = await startStack({});
  const impostor = http.createServer((_req, res) => res.writeHead(200).end('{"ready":true,"failing":[]}'));
  try {
    await stack.kill("delivery");
    await new Promise<void>((resolve) => impostor.listen(stack.ports.delivery, "127.0.0.1", resolve));
    const failed = await stack.restart("delivery").then(
      () => undefined,
      (err: Error) => err.message,
    );
    expect(failed).toMatch(/^delivery did not start: exited with code 1/);
    expect(failed).toMatch(/EADDRINUSE/);
  } finally {
    impostor.close();
    await stack.stop();
  }
}, 60_000);
