import type { ServiceName, Stack } from "./stack.js";

/**
 * Reads a service's /metrics once. The function returned gives the value of the first series of `name`
 * that has every one of `labels` (in any order), or NaN when there is none yet.
 */
export async function readMetrics(
  stack: Stack,
  service: ServiceName,
): Promise<(name: string, ...labels: string[]) => number> {
  const response = await fetch(`${stack.url(service)}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const lines = (await response.text()).split("\n");
  return (name, ...labels) => {
    const line = lines.find((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)));
    return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : Number.NaN;
  };
}
