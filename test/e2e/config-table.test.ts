import { readFileSync } from "node:fs";
import { configFields } from "@herald/platform";
import { describe, expect, it } from "vitest";
import {
  configRows,
  configTable,
  loadConfigSchemas,
  README_PATH,
  withConfigTable,
} from "../../scripts/config-table.js";

// The schemas come from the services' builds, as for the other end-to-end tests.
const schemas = await loadConfigSchemas();

describe("README.md's configuration table", () => {
  it("is what npm run docs:config writes from the services' config schemas", () => {
    const readme = readFileSync(README_PATH, "utf8");
    expect(readme, "README.md's configuration table is stale: run `npm run docs:config`").toBe(
      withConfigTable(readme, configTable(schemas)),
    );
  });

  it("has one row per variable, listing the services that read it", () => {
    const rows = configRows(schemas);
    const row = (name: string) => rows.find((r) => r.variable === `\`${name}\``);
    expect(rows.filter((r) => r.variable === "`HERALD_URL_ALLOWLIST`")).toHaveLength(1);
    expect(row("HERALD_URL_ALLOWLIST")?.services).toBe("routing, delivery");
    expect(row("AMQP_URL")?.services).toBe("all");
    // The portal is named beside the four services it shares a variable with.
    expect(row("HERALD_ADMIN_KEY")?.services).toBe("all, portal");
    expect(row("PORTAL_PORT")).toMatchObject({ services: "portal", default: "`7005`" });
    expect(row("CIRCUIT_WINDOW")?.default).toBe("`1m`");
    expect(row("HERALD_FAULT_EXIT_AFTER_INSERT")).toBeUndefined();
  });

  it("refuses a variable without a meaning", () => {
    const audit = schemas.audit.extend({ NEW_SETTING: configFields.positiveInt.default(1) });
    expect(() => configRows({ ...schemas, audit })).toThrow(/NEW_SETTING \(audit\) has no meaning/);
  });

  it("refuses a variable that means different things in two services", () => {
    const routing = schemas.routing.extend({ HOST: schemas.routing.shape.HOST.describe("something else") });
    expect(() => configRows({ ...schemas, routing })).toThrow(/HOST has a different meaning/);
  });
});
