import type { AuditRecord } from "@herald/contracts";
import { Counter, Histogram } from "@herald/platform";
import type { Registry } from "prom-client";
import type { PurgeReason } from "./data-purge.js";

/** How the audit service's work moves its metrics. */
export interface AuditMetrics {
  /**
   * One batch of records written. Operators watch the stored counters against delivery's attempts to
   * see how far the log lags behind.
   */
  recordWrite(records: readonly AuditRecord[], seconds: number): void;
  /** Documents one purge batch removed. */
  countPurged(collection: string, reason: PurgeReason, count: number): void;
}

/** The audit service's metrics, registered in `registry`. */
export function auditMetrics(registry: Registry): AuditMetrics {
  const stored = new Counter({
    name: "herald_audit_records_stored_total",
    help: "Audit records in MongoDB after a batch write, by kind: attempt or routing (redelivered ones included)",
    labelNames: ["kind"],
    registers: [registry],
  });
  const batchSeconds = new Histogram({
    name: "herald_audit_batch_write_seconds",
    help: "Time to write one batch of audit records to MongoDB",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const batchRecords = new Histogram({
    name: "herald_audit_batch_records",
    help: "Records in one batch write",
    buckets: [1, 5, 10, 25, 50, 100, 200, 500, 1000, 5000],
    registers: [registry],
  });
  const purged = new Counter({
    name: "herald_purged_documents_total",
    help: "Documents removed by the purges, by collection and reason (tenant_deleted, retention)",
    labelNames: ["collection", "reason"],
    registers: [registry],
  });
  return {
    recordWrite(records, seconds) {
      let attempts = 0;
      for (const record of records) if (record.record.case === "attempt") attempts++;
      if (attempts > 0) stored.inc({ kind: "attempt" }, attempts);
      if (records.length > attempts) stored.inc({ kind: "routing" }, records.length - attempts);
      batchSeconds.observe(seconds);
      batchRecords.observe(records.length);
    },
    countPurged: (collection, reason, count) => purged.inc({ collection, reason }, count),
  };
}
