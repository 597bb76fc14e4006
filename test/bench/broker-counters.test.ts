import { describe, expect, it } from "vitest";
import {
  type BrokerCounters,
  brokerPerEvent,
  parseBrokerCounters,
  readBrokerCounters,
} from "./broker-counters.js";
import { brokerPerEventLines } from "./report.js";
import type { ScenarioResult } from "./scenario.js";

const counters = (n: number): BrokerCounters => ({
  received: 100 * n,
  confirmed: 100 * n,
  delivered: 90 * n,
  acknowledged: 90 * n,
  walWrites: 400 * n,
  walBatches: 50 * n,
});

describe("parseBrokerCounters", () => {
  it("reads the six totals from rabbitmqctl eval's output, whatever surrounds the line", () => {
    expect(parseBrokerCounters("herald-counters 100 99 90 88 400 50\nok\n")).toEqual({
      received: 100,
      confirmed: 99,
      delivered: 90,
      acknowledged: 88,
      walWrites: 400,
      walBatches: 50,
    });
  });

  it("gives nothing for an error, a short line or a value that is not a count", () => {
    expect(parseBrokerCounters("Error: {undef,[{ra_counters,overview,[]}]}")).toBeUndefined();
    expect(parseBrokerCounters("herald-counters 1 2 3 4 5")).toBeUndefined();
    expect(parseBrokerCounters("herald-counters 1 2 3 4 5 x")).toBeUndefined();
    expect(parseBrokerCounters("herald-counters 1 2 3 4 5 -6")).toBeUndefined();
  });
});

describe("readBrokerCounters", () => {
  it("does not try a broker on another host", async () => {
    expect(await readBrokerCounters("amqp://guest:guest@rabbit.internal:5672")).toBeUndefined();
    expect(await readBrokerCounters("")).toBeUndefined();
  });
});

describe("brokerPerEvent", () => {
  it("divides what the window added by the events accepted", () => {
    expect(brokerPerEvent(counters(1), counters(4), 150)).toEqual({
      received: 2,
      confirmed: 2,
      delivered: 1.8,
      acknowledged: 1.8,
      walWrites: 8,
      walBatches: 1,
    });
    expect(brokerPerEvent(counters(0), counters(1), 3)?.received).toBe(33.33);
  });

  it("gives nothing without both readings, without events, or across a broker restart", () => {
    expect(brokerPerEvent(undefined, counters(2), 10)).toBeUndefined();
    expect(brokerPerEvent(counters(1), undefined, 10)).toBeUndefined();
    expect(brokerPerEvent(counters(1), counters(2), 0)).toBeUndefined();
    expect(brokerPerEvent(counters(5), counters(1), 10)).toBeUndefined();
  });
});

describe("brokerPerEventLines", () => {
  const scenario = (id: string, n?: number) =>
    ({
      id,
      ...(n === undefined ? {} : { brokerPerEvent: brokerPerEvent(counters(0), counters(n), 100) }),
    }) as ScenarioResult;

  it("shows a row per counter and a column per scenario, with a dash where one was not read", () => {
    const text = brokerPerEventLines([scenario("s1-max", 1), scenario("s1-500"), scenario("flood", 3)]).join(
      "\n",
    );
    expect(text).toContain("| per event | s1-max | s1-500 | flood |");
    expect(text).toContain("| messages published | 1 | – | 3 |");
    expect(text).toContain("| log batches (fsyncs) | 0.5 | – | 1.5 |");
  });

  it("says nothing for a run saved before the counters", () => {
    expect(brokerPerEventLines([scenario("s1-max")])).toEqual([]);
  });
});
