import { Scope } from "@herald/contracts";
import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { UsageError } from "./errors.js";
import {
  checkJsonPayload,
  collect,
  collectKeyValue,
  collectScopes,
  parseCount,
  parseDuration,
  parseDurationList,
  parsePositiveCount,
  parsePositiveDuration,
  parseTime,
} from "./parse.js";

describe("duration options", () => {
  it("parseDuration allows zero, parsePositiveDuration does not", () => {
    expect(parseDuration("0s")).toBe(0);
    expect(() => parsePositiveDuration("0s")).toThrow(InvalidArgumentError);
    expect(parsePositiveDuration("10s")).toBe(10_000);
    expect(() => parseDuration("soon")).toThrow(/duration such as 30s/);
  });

  it("parseDurationList reads a schedule and names the bad parts", () => {
    expect(parseDurationList("5s, 1m,30m")).toEqual([5_000, 60_000, 1_800_000]);
    expect(parseDurationList("")).toEqual([]);
    expect(() => parseDurationList("5s,x,0s")).toThrow('bad duration(s) "x", "0s"');
  });
});

describe("parseTime", () => {
  const now = new Date("2025-06-01T12:00:00.000Z");

  it("reads a duration as that long before now", () => {
    expect(parseTime("2h", now).toISOString()).toBe("2025-06-01T10:00:00.000Z");
    expect(parseTime("30m", now).toISOString()).toBe("2025-06-01T11:30:00.000Z");
  });

  it("reads ISO 8601 times and dates", () => {
    expect(parseTime("2025-05-31T08:15:00Z", now).toISOString()).toBe("2025-05-31T08:15:00.000Z");
    expect(parseTime("2025-05-31T08:15:00+02:00", now).toISOString()).toBe("2025-05-31T06:15:00.000Z");
    expect(parseTime("2025-05-31", now).toISOString()).toBe("2025-05-31T00:00:00.000Z");
  });

  it("refuses other dates", () => {
    for (const text of ["yesterday", "31/05/2025", "2025-13-40", "1717000000"]) {
      expect(() => parseTime(text, now), text).toThrow(InvalidArgumentError);
    }
  });
});

describe("counts", () => {
  it("parseCount takes whole numbers in uint32", () => {
    expect(parseCount("0")).toBe(0);
    expect(parseCount("4294967295")).toBe(4_294_967_295);
    expect(() => parseCount("4294967296")).toThrow(/at most/);
    expect(() => parseCount("-1")).toThrow(/whole number/);
    expect(() => parseCount("1.5")).toThrow(/whole number/);
  });

  it("parsePositiveCount refuses 0", () => {
    expect(parsePositiveCount("3")).toBe(3);
    expect(() => parsePositiveCount("0")).toThrow(/at least 1/);
  });
});

describe("repeatable options", () => {
  it("collect appends", () => {
    expect(collect("b", collect("a", undefined))).toEqual(["a", "b"]);
  });

  it("collectKeyValue builds a record, splitting at the first =", () => {
    const headers = collectKeyValue("X-Token=a=b", collectKeyValue("X-Team=ops", undefined));
    expect(headers).toEqual({ "X-Team": "ops", "X-Token": "a=b" });
    expect(collectKeyValue("empty=", undefined)).toEqual({ empty: "" });
    expect(() => collectKeyValue("novalue", undefined)).toThrow(/key=value/);
    expect(() => collectKeyValue("=v", undefined)).toThrow(/key=value/);
  });

  it("collectScopes takes names, repeated or comma-separated, once each", () => {
    const scopes = collectScopes("audit:read", collectScopes("events:publish,endpoints:manage", undefined));
    expect(scopes).toEqual([Scope.EVENTS_PUBLISH, Scope.ENDPOINTS_MANAGE, Scope.AUDIT_READ]);
    expect(collectScopes("ADMIN", [Scope.ADMIN])).toEqual([Scope.ADMIN]);
    expect(() => collectScopes("events:write", undefined)).toThrow(/one of admin, events:publish/);
  });
});

describe("checkJsonPayload", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);

  it("returns a JSON object's bytes unchanged", () => {
    const payload = bytes('{ "b": 1,\n  "a": [true] }\n');
    expect(checkJsonPayload(payload, "--data")).toBe(payload);
  });

  it("refuses what is not a JSON object, as a usage error", () => {
    expect(() => checkJsonPayload(bytes("{nope"), "--data")).toThrow(UsageError);
    expect(() => checkJsonPayload(bytes("{nope"), "--data")).toThrow(/^--data is not valid JSON/);
    expect(() => checkJsonPayload(bytes("[1]"), "p.json")).toThrow("p.json must be a JSON object");
    expect(() => checkJsonPayload(bytes("null"), "stdin")).toThrow("stdin must be a JSON object");
    expect(() => checkJsonPayload(new Uint8Array([0xff, 0xfe]), "stdin")).toThrow(/not valid JSON/);
  });
});
