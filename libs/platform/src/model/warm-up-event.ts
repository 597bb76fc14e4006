// What the services' warm-ups make up for their made-up events, in one place so the three stay alike.

/** The tenant the warm-ups' made-up documents and events belong to; no real tenant is named so. */
export const WARM_UP_TENANT_ID = "warm-up";

/**
 * A made-up event's payload, shaped like a typical one (an object with a string, a number and an array
 * of objects), so that JSON parsing, CEL filters and signing meet what real events bring.
 */
export const WARM_UP_PAYLOAD_JSON = JSON.stringify({
  id: "ord_0000000000",
  total: 24.1,
  lines: [{ sku: "A-1", n: 1 }],
});
