import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { Health, HealthCheckResponseSchema } from "@herald/contracts";
import { type HealthMonitor, ServingStatus } from "../health.js";

/**
 * Registers `grpc.health.v1.Health`. The empty service name and each name in `services` report the
 * monitor's status; other names are NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch), per the protocol.
 */
export function registerHealthService(
  router: ConnectRouter,
  monitor: HealthMonitor,
  services: string[],
): void {
  const known = new Set(["", ...services]);
  router.service(Health, {
    check(req) {
      if (!known.has(req.service)) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      return create(HealthCheckResponseSchema, { status: monitor.status });
    },
    async *watch(req, ctx) {
      if (!known.has(req.service)) {
        yield create(HealthCheckResponseSchema, { status: ServingStatus.SERVICE_UNKNOWN });
        return;
      }
      const updates: ServingStatus[] = [monitor.status];
      let wake: (() => void) | undefined;
      const stop = monitor.watch((status) => {
        updates.push(status);
        wake?.();
      });
      const aborted = new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
      try {
        while (!ctx.signal.aborted) {
          const status = updates.shift();
          if (status !== undefined) {
            yield create(HealthCheckResponseSchema, { status });
            continue;
          }
          await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted]);
        }
      } finally {
        stop();
      }
    },
  });
}
