import type { Logger } from "@herald/platform";
import {
  type EndpointDocument,
  endpointHeaders,
  type SecretBox,
  SecretBoxError,
  sealHeaders,
} from "@herald/platform/model";
import type { Collection, Filter } from "mongodb";
import type { RoutingMetrics } from "../routing-metrics.js";

// Re-sealing endpoint secrets and headers under the key ring's current key, so an older key can be
// removed from HERALD_SECRET_KEYS without every customer rotating their signing secret.

/**
 * Endpoints holding a value not sealed under the current key, or headers never sealed (written by a
 * version that kept them in clear). A range on the sealed text (`v1:<keyId>:` sorts just before
 * `v1:<keyId>;`) works on arrays on every server; a negated regex in $elemMatch does not (see
 * docs/storage.md).
 */
export function staleEndpointsFilter(box: SecretBox): Filter<EndpointDocument> {
  const from = box.currentPrefix;
  const to = `${from.slice(0, -1)};`;
  return {
    $or: [
      { sealed_headers: { $exists: false } },
      { sealed_headers: { $lt: from } },
      { sealed_headers: { $gte: to } },
      { "secrets.sealed": { $lt: from } },
      { "secrets.sealed": { $gte: to } },
    ],
  };
}

/**
 * The endpoint's secrets and headers with every value sealed under the current key; values already
 * under it are kept as they are. Throws SecretBoxError when a value's key is not in the ring.
 */
export function resealedValues(
  endpoint: EndpointDocument,
  box: SecretBox,
): Pick<EndpointDocument, "secrets" | "headers" | "sealed_headers" | "header_names"> {
  const secrets = endpoint.secrets.map((secret) =>
    box.isStale(secret.sealed) ? { ...secret, sealed: box.seal(box.open(secret.sealed)) } : secret,
  );
  const headersCurrent =
    endpoint.sealed_headers !== undefined &&
    endpoint.header_names !== undefined &&
    !box.isStale(endpoint.sealed_headers) &&
    Object.keys(endpoint.headers ?? {}).length === 0;
  const headers = headersCurrent
    ? { headers: {}, sealed_headers: endpoint.sealed_headers, header_names: endpoint.header_names }
    : sealHeaders(endpointHeaders(endpoint, box), box);
  return { secrets, ...headers };
}

/** What one pass did. */
export interface ResealPass {
  /** Endpoints re-sealed. */
  resealed: number;
  /** Endpoints holding a value under a key the ring lacks: they cannot be re-sealed here. */
  unopenable: number;
  /** Stale endpoints left when the pass ended: unopenable ones, and ones changed during the pass. */
  remaining: number;
}

/** Options of {@link SecretResealer}. */
export interface SecretResealerOptions {
  /** Endpoints read and re-sealed at a time. */
  batchSize: number;
  logger: Logger;
  /** Called after every batch with the figures so far, `remaining` counted before the pass. */
  onProgress?: (progress: ResealPass) => void;
}

/**
 * Re-seals stale endpoints in bounded batches, in `_id` order. Only stale endpoints are selected, so a
 * pass interrupted by a restart resumes where it stopped. Each write is conditional on the endpoint's
 * `update_time`, so a change made meanwhile (a rotation, new headers) is never overwritten; that
 * endpoint is re-sealed by the next pass if it still needs it.
 */
export class SecretResealer {
  readonly #endpoints: Collection<EndpointDocument>;
  readonly #box: SecretBox;
  readonly #options: SecretResealerOptions;

  constructor(endpoints: Collection<EndpointDocument>, box: SecretBox, options: SecretResealerOptions) {
    this.#endpoints = endpoints;
    this.#box = box;
    this.#options = options;
  }

  /** Endpoints still holding a value under an older key, or headers in clear. */
  remaining(): Promise<number> {
    return this.#endpoints.countDocuments(staleEndpointsFilter(this.#box));
  }

  /** Re-seals every stale endpoint once; `stopping()` true ends the pass after the current batch. */
  async pass(stopping: () => boolean = () => false): Promise<ResealPass> {
    const stale = staleEndpointsFilter(this.#box);
    const progress: ResealPass = { resealed: 0, unopenable: 0, remaining: await this.remaining() };
    let after: string | undefined;
    while (!stopping()) {
      const batch = await this.#endpoints
        .find(after === undefined ? stale : { _id: { $gt: after }, ...stale })
        .sort({ _id: 1 })
        .limit(this.#options.batchSize)
        .toArray();
      for (const endpoint of batch) {
        after = endpoint._id;
        const outcome = await this.#reseal(endpoint);
        if (outcome === "resealed") progress.resealed++;
        else if (outcome === "unopenable") progress.unopenable++;
      }
      this.#options.onProgress?.({ ...progress });
      if (batch.length < this.#options.batchSize) break;
    }
    return { ...progress, remaining: await this.remaining() };
  }

  /** Re-seals one endpoint, unless a value cannot be opened with this ring or it changed meanwhile. */
  async #reseal(endpoint: EndpointDocument): Promise<"resealed" | "unopenable" | "changed"> {
    let values: ReturnType<typeof resealedValues>;
    try {
      values = resealedValues(endpoint, this.#box);
    } catch (err) {
      if (!(err instanceof SecretBoxError)) throw err;
      // The message names the missing key, never a secret.
      this.#options.logger.warn(
        { endpointId: endpoint._id, tenantId: endpoint.tenant_id, reason: err.message },
        "endpoint secret cannot be re-sealed",
      );
      return "unopenable";
    }
    const written = await this.#endpoints.updateOne(
      { _id: endpoint._id, update_time: endpoint.update_time },
      { $set: values },
    );
    return written.matchedCount === 1 ? "resealed" : "changed";
  }
}

/** Options of {@link startSecretResealing}. */
export interface SecretResealingOptions {
  /** Endpoints read and re-sealed at a time. */
  batchSize: number;
  /** Time between passes; the first starts at once. */
  intervalMs: number;
  logger: Logger;
  /** Where each pass's progress is reported (routing's metrics). */
  recorders: RoutingMetrics;
}

/**
 * Runs {@link SecretResealer} passes in the background, from now and then every `intervalMs`, and
 * reports progress: the endpoints a pass left stale (0 once nothing is sealed under an older key: the
 * older keys can leave the ring), the endpoints re-sealed (counted per batch), and a log line per pass
 * that found anything. Passes keep running, so values sealed later under an older key (a
 * restored backup, an instance still on the old ring) are caught too. `stop` waits for the batch under
 * way.
 */
export function startSecretResealing(
  endpoints: Collection<EndpointDocument>,
  box: SecretBox,
  options: SecretResealingOptions,
): { stop(): Promise<void> } {
  let counted = 0;
  const resealer = new SecretResealer(endpoints, box, {
    batchSize: options.batchSize,
    logger: options.logger,
    onProgress(progress) {
      options.recorders.countResealed(progress.resealed - counted);
      counted = progress.resealed;
    },
  });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const run = async () => {
    counted = 0;
    try {
      const pass = await resealer.pass(() => stopped);
      options.recorders.setStaleEndpoints(pass.remaining);
      const figures = { keyId: box.currentKeyId, ...pass };
      if (pass.resealed > 0 || pass.remaining > 0) options.logger.info(figures, "secrets re-seal pass");
      else options.logger.debug(figures, "secrets re-seal pass");
    } catch (err) {
      options.logger.warn({ err }, "secrets re-seal pass failed; retried at the next interval");
    }
  };
  let running = run();
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = run().then(schedule);
    }, options.intervalMs);
  };
  void running.then(schedule);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
