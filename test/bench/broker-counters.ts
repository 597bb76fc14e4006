// RabbitMQ's own counters of messages, read before and after a scenario's window, so the report can say
// how many broker messages an event cost: a message costs the broker about as much whatever it holds
// (docs/investigations/rabbitmq-cpu.md), so messages per event is what its CPU per event follows. Read
// with `rabbitmqctl eval` (global counters since RabbitMQ 3.9, and the quorum queues' shared write-ahead
// log's counters), which needs the broker on this machine; elsewhere the figures are left out.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { round } from "./system.js";

const run = promisify(execFile);

/** Totals since the broker started (AMQP 0-9-1). */
export interface BrokerCounters {
  /** Messages publishers sent. */
  received: number;
  /** Messages the broker confirmed to publishers. */
  confirmed: number;
  /** Messages delivered to consumers from quorum queues. */
  delivered: number;
  /** Messages consumers acknowledged on quorum queues. */
  acknowledged: number;
  /** Entries written to the quorum queues' write-ahead log (enqueues, settlements, consumer changes…). */
  walWrites: number;
  /** Batches the write-ahead log wrote them in: each is a write and an fsync of the log file. */
  walBatches: number;
}

/** A scenario's counters per event accepted. */
export type BrokerPerEvent = { [K in keyof BrokerCounters]: number };

const FIELDS = ["received", "confirmed", "delivered", "acknowledged", "walWrites", "walBatches"] as const;

// Prints the six totals on one line, in FIELDS' order.
const EVAL = [
  "M = rabbit_global_counters:overview(),",
  "P = maps:get([{protocol,amqp091}], M),",
  "Q = maps:get([{protocol,amqp091},{queue_type,rabbit_quorum_queue}], M),",
  "W = maps:get(ra_log_wal, ra_counters:overview()),",
  'io:format("herald-counters ~b ~b ~b ~b ~b ~b~n", [',
  "maps:get(messages_received_total, P), maps:get(messages_confirmed_total, P),",
  "maps:get(messages_delivered_total, Q), maps:get(messages_acknowledged_total, Q),",
  "maps:get(writes, W), maps:get(batches, W)]).",
].join(" ");

/** The counters in `rabbitmqctl eval`'s output, or undefined when it holds no such line. */
export function parseBrokerCounters(output: string): BrokerCounters | undefined {
  const line = output.split("\n").find((l) => l.startsWith("herald-counters "));
  const values = line?.trim().split(/\s+/).slice(1).map(Number);
  if (!values || values.length !== FIELDS.length || values.some((v) => !Number.isSafeInteger(v) || v < 0)) {
    return undefined;
  }
  return Object.fromEntries(FIELDS.map((field, i) => [field, values[i]])) as unknown as BrokerCounters;
}

/**
 * The broker's counters now, or undefined when they cannot be read here (no rabbitmqctl, a broker
 * elsewhere, an older RabbitMQ). The call starts an Erlang VM: about half a second of CPU, so it is
 * made outside the measured window.
 */
export async function readBrokerCounters(amqpUrl: string): Promise<BrokerCounters | undefined> {
  if (!/\/\/([^@/]*@)?(127\.0\.0\.1|localhost)[:/]/.test(amqpUrl)) return undefined;
  try {
    const { stdout } = await run("rabbitmqctl", ["eval", EVAL], { timeout: 15_000 });
    return parseBrokerCounters(stdout);
  } catch {
    return undefined;
  }
}

/** What the window added, per event accepted (two decimals); undefined without both readings or events. */
export function brokerPerEvent(
  before: BrokerCounters | undefined,
  after: BrokerCounters | undefined,
  events: number,
): BrokerPerEvent | undefined {
  if (!before || !after || events <= 0) return undefined;
  // A broker restarted in between starts its counters again: no figure rather than a negative one.
  if (FIELDS.some((field) => after[field] < before[field])) return undefined;
  return Object.fromEntries(
    FIELDS.map((field) => [field, round((after[field] - before[field]) / events, 2)]),
  ) as BrokerPerEvent;
}
