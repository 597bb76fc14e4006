import { configFields, serviceConfigSchema } from "@herald/platform";
import type { z } from "zod";

/** Variables of the audit service: the common ones plus how attempt records are batched. */
export const configSchema = serviceConfigSchema(7004).extend({
  /** Records written to MongoDB in one batch; also sizes the consumer's prefetch. */
  AUDIT_BATCH_SIZE: configFields.positiveInt.max(5_000).default(200),
  /** Longest a record waits for its batch to fill before it is written anyway, in ms. */
  AUDIT_BATCH_DELAY_MS: configFields.positiveInt.max(10_000).default(50),
  /** Most deliveries one Recover or Redrive call publishes again. */
  AUDIT_REPLAY_LIMIT: configFields.positiveInt.max(10_000).default(1_000),
});

export type AuditConfig = z.infer<typeof configSchema>;
