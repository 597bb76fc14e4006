import { describe, expect, it } from "vitest";
import { parseFilterMicro } from "./filter-micro.js";

const line = {
  filteredUs: 23.41,
  channelsUs: 12.3,
  perEndpointUs: 1.11,
  endpoints: 10,
  rounds: 10,
  iterations: 20_000,
  loadAverageBefore: 2.4,
};

describe("parseFilterMicro", () => {
  it("takes the result from the last line of the output", () => {
    expect(parseFilterMicro(`warming up\n${JSON.stringify(line)}\n`)).toEqual(line);
  });

  it("keeps only the figures it knows", () => {
    expect(parseFilterMicro(JSON.stringify({ ...line, extra: "x" }))).toEqual(line);
  });

  it("refuses output without a result line, naming what it got", () => {
    expect(() => parseFilterMicro("Error: cannot find module")).toThrow(
      /no result line in its output: Error: cannot find module/,
    );
    expect(() => parseFilterMicro("")).toThrow(/no result line/);
  });

  it("refuses a result that lacks a figure or holds one that is not a finite number", () => {
    const { perEndpointUs: _, ...partial } = line;
    expect(() => parseFilterMicro(JSON.stringify(partial))).toThrow(/lacks perEndpointUs/);
    expect(() => parseFilterMicro(JSON.stringify({ ...line, channelsUs: "12" }))).toThrow(/lacks channelsUs/);
    expect(() => parseFilterMicro(JSON.stringify({ ...line, rounds: null }))).toThrow(/lacks rounds/);
    expect(() => parseFilterMicro("null")).toThrow(/lacks filteredUs/);
  });
});
