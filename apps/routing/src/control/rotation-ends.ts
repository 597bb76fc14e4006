import type { Logger } from "@herald/platform";
import { type EndpointDocument, type OperationalFact, redactedEndpointUrl } from "@herald/platform/model";

/** How often routing looks for rotation overlaps that ended. */
export const ROTATION_SWEEP_INTERVAL_MS = 60_000;

/**
 * How far back each look reaches: an instance stopped or busy for a while still reports the overlaps
 * that ended meanwhile; those it reported already cost nothing (same facts, same keys).
 */
export const ROTATION_SWEEP_LOOKBACK_MS = 15 * 60_000;

/**
 * The rotation overlaps of these endpoints that ended in (`from`, `to`]: one fact per secret that
 * stopped signing, keyed by the endpoint, the secret and its expiry, so every routing instance and every
 * look that sees it reports it once.
 */
export function rotationEndedFacts(
  endpoints: readonly EndpointDocument[],
  from: Date,
  to: Date,
): OperationalFact<"herald.secret.rotation_ended">[] {
  const facts: OperationalFact<"herald.secret.rotation_ended">[] = [];
  for (const endpoint of endpoints) {
    for (const secret of endpoint.secrets) {
      const expiry = secret.expire_time;
      if (!expiry || expiry <= from || expiry > to) continue;
      facts.push({
        type: "herald.secret.rotation_ended",
        tenantId: endpoint.tenant_id,
        key: `${endpoint._id}:${secret.id}:${expiry.toISOString()}`,
        data: {
          endpoint_id: endpoint._id,
          endpoint_url: redactedEndpointUrl(endpoint.url),
          secret_id: secret.id,
        },
        time: expiry,
      });
    }
  }
  return facts;
}

/** What the rotation sweep needs. */
export interface RotationSweepDeps {
  /** Endpoints with a secret whose overlap ends in (`from`, `to`]. */
  withSecretsExpiring(from: Date, to: Date): Promise<EndpointDocument[]>;
  emit(fact: OperationalFact<"herald.secret.rotation_ended">): Promise<void>;
  logger: Logger;
  now?: () => Date;
}

/** Looks every minute for rotation overlaps that ended and emits `herald.secret.rotation_ended`. */
export function startRotationEndSweep(deps: RotationSweepDeps): { stop(): Promise<void> } {
  const now = deps.now ?? (() => new Date());
  let running: Promise<void> = Promise.resolve();
  const sweep = async () => {
    const to = now();
    const from = new Date(to.getTime() - ROTATION_SWEEP_LOOKBACK_MS);
    const endpoints = await deps.withSecretsExpiring(from, to);
    for (const fact of rotationEndedFacts(endpoints, from, to)) await deps.emit(fact);
  };
  const timer = setInterval(() => {
    running = running.then(sweep).catch((err) => deps.logger.warn({ err }, "rotation sweep failed"));
  }, ROTATION_SWEEP_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
