// Weights of the fair schedulers (RoundRobinSlots, ingest's FairQueue, HeavyKeys): a key (a tenant) of
// weight w takes w turns for another's one (docs/decisions/fair-delivery.md, "Weights").

/** A key's weight; consulted once per turn, so it must answer from memory. */
export type WeightOf = (key: string) => number;

/** Every key weighs 1: plain round robin. */
export const EQUAL_WEIGHTS: WeightOf = () => 1;

/** A weight as a whole number of turns, at least 1: a missing or nonsensical weight counts as 1. */
export function turnsOf(weight: number): number {
  return Number.isFinite(weight) && weight >= 1 ? Math.floor(weight) : 1;
}
