// The events and endpoint filters of the fan-out-with-filters scenario (s2-fanout-filters; and of
// s2-fanout-channels, which takes the same events by channel subscription, without CEL): each
// endpoint of a tenant carries one of ten CEL filters (payload field comparisons, `in` over a list and
// over the event's channels, string functions, a macro), and every one of them takes exactly the
// events of even sequence number, so half the fan-out goes out and the expected deliveries are known.
// Warm-up events look like even ones: every endpoint takes them.

/** One filter per endpoint index (of each tenant), cycling. */
export const BENCH_FILTERS = [
  "payload.amount > 100",
  'payload.amount > 100 && payload.currency in ["EUR", "USD", "GBP"]',
  '"even" in channels',
  'payload.sku.startsWith("even-")',
  'type.startsWith("bench.") && payload.customer.tier == "gold"',
  'payload.sku.contains("even") || payload.amount > 1000',
  'channels.exists(c, c == "even")',
  'payload.sku.matches("^even-[0-9]+$")',
  'payload.amount >= 100 && payload.amount < 200 && payload.customer.country != "XX"',
  'payload.customer.tier in ["gold", "platinum"] && size(payload.sku) < 64',
];

/** The filter of endpoint `index`. */
export function benchFilter(index: number): string {
  return BENCH_FILTERS[index % BENCH_FILTERS.length] as string;
}

/** Whether the filters take event `seq` of the measured load: the even ones. */
export function filtersMatch(seq: number): boolean {
  return seq % 2 === 0;
}

/** The channel only the events the filters take carry (s2-fanout-channels subscribes to it). */
export const MATCHING_CHANNEL = "even";

/** The channels of event `seq` (warm-up events: those of an even one). */
export function filteredChannels(seq: number): string[] {
  return ["orders", filtersMatch(seq) ? MATCHING_CHANNEL : "odd"];
}

function fields(matching: boolean, seq: number): string {
  return (
    `"amount":${matching ? 150 : 50},"currency":"${matching ? "EUR" : "JPY"}",` +
    `"sku":"${matching ? "even" : "odd"}-${seq}","customer":{"tier":"${matching ? "gold" : "silver"}","country":"DE"}`
  );
}

/** A measured event's payload: the receivers' `seq` and `t`, and the fields the filters read. */
export function encodeFilteredPayload(seq: number, t: number): Buffer {
  return Buffer.from(`{"seq":${seq},"t":${t.toFixed(3)},${fields(filtersMatch(seq), seq)}}`);
}

/** A warm-up event's payload: taken by every filter. */
export function encodeFilteredWarmUpPayload(seq: number, t: number): Buffer {
  return Buffer.from(`{"warmUp":true,"seq":${seq},"t":${t.toFixed(3)},${fields(true, seq)}}`);
}

/** Warm-up events' channels: those of an event every filter takes. */
export function warmUpChannels(): string[] {
  return filteredChannels(0);
}
