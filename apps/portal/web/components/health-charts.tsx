import type { EndpointHealth, EndpointHealthWindow } from "@herald/contracts";
import { useId } from "react";
import {
  CIRCUIT_NAMES,
  latencySummary,
  niceCeiling,
  percent,
  scaled,
  seriesSlots,
  seriesSummary,
  successSummary,
  WINDOW_NAMES,
} from "../charts.js";
import { formatTime } from "../ui.js";

// Charts are inline SVG drawn from the three windows audit answers and their series: no chart library
// (the bundle budget), colours from the theme's CSS variables through classes (the CSP allows no
// inline style), and each chart is one image with a sentence for screen readers beside the table of
// its numbers.

const LABEL_WIDTH = 48;
const BAR_WIDTH = 220;
const VALUE_WIDTH = 110;
const CHART_WIDTH = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH;

function SuccessChart(props: { windows: readonly EndpointHealthWindow[] }) {
  const titleId = useId();
  const row = 30;
  return (
    <svg
      className="chart"
      role="img"
      aria-labelledby={titleId}
      viewBox={`0 0 ${CHART_WIDTH} ${props.windows.length * row + 4}`}
      width={CHART_WIDTH}
    >
      <title id={titleId}>{successSummary(props.windows)}</title>
      {props.windows.map((w, i) => {
        const y = i * row + 4;
        return (
          <g key={w.window}>
            <text className="chart-label" x={0} y={y + 15}>
              {WINDOW_NAMES[w.window]}
            </text>
            <rect className="chart-track" x={LABEL_WIDTH} y={y} width={BAR_WIDTH} height={20} rx={3} />
            {w.attempts > 0n && (
              <rect
                className="chart-ok"
                x={LABEL_WIDTH}
                y={y}
                width={scaled(w.successRate, 1, BAR_WIDTH)}
                height={20}
                rx={3}
              />
            )}
            <text className="chart-label" x={LABEL_WIDTH + BAR_WIDTH + 8} y={y + 15}>
              {w.attempts > 0n ? percent(w.successRate) : "no attempts"}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

const PERCENTILES = [
  ["p50", (w: EndpointHealthWindow) => w.latencyP50Ms],
  ["p95", (w: EndpointHealthWindow) => w.latencyP95Ms],
  ["p99", (w: EndpointHealthWindow) => w.latencyP99Ms],
] as const;

function LatencyChart(props: { windows: readonly EndpointHealthWindow[] }) {
  const titleId = useId();
  const bar = 12;
  const gap = 3;
  const group = PERCENTILES.length * (bar + gap) + 12;
  const max = niceCeiling(Math.max(0, ...props.windows.map((w) => w.latencyP99Ms)));
  return (
    <svg
      className="chart"
      role="img"
      aria-labelledby={titleId}
      viewBox={`0 0 ${CHART_WIDTH} ${props.windows.length * group + 18}`}
      width={CHART_WIDTH}
    >
      <title id={titleId}>{latencySummary(props.windows)}</title>
      {props.windows.map((w, i) => {
        const y = i * group + 4;
        return (
          <g key={w.window}>
            <text className="chart-label" x={0} y={y + 26}>
              {WINDOW_NAMES[w.window]}
            </text>
            {PERCENTILES.map(([name, of], j) => {
              const by = y + j * (bar + gap);
              return (
                <g key={name}>
                  <rect className="chart-track" x={LABEL_WIDTH} y={by} width={BAR_WIDTH} height={bar} />
                  <rect
                    className={`chart-${name}`}
                    x={LABEL_WIDTH}
                    y={by}
                    width={scaled(of(w), max, BAR_WIDTH)}
                    height={bar}
                  />
                  <text className="chart-small" x={LABEL_WIDTH + BAR_WIDTH + 8} y={by + bar - 2}>
                    {w.attempts > 0n ? `${name} ${of(w)} ms` : `${name} —`}
                  </text>
                </g>
              );
            })}
          </g>
        );
      })}
      <text className="chart-small" x={LABEL_WIDTH} y={props.windows.length * group + 14}>
        0
      </text>
      <text
        className="chart-small"
        x={LABEL_WIDTH + BAR_WIDTH}
        y={props.windows.length * group + 14}
        textAnchor="end"
      >
        {max} ms
      </text>
    </svg>
  );
}

const STRIP = 20;
const SERIES_ROW = 2 * STRIP + 22;

/**
 * Each window over time: a column per point, its success share from the bottom and its failure share
 * above, and beneath it the point's p95 latency, scaled to the window's highest.
 */
function SeriesChart(props: { windows: readonly EndpointHealthWindow[] }) {
  const titleId = useId();
  const plot = BAR_WIDTH + VALUE_WIDTH - 10;
  return (
    <svg
      className="chart"
      role="img"
      aria-labelledby={titleId}
      viewBox={`0 0 ${CHART_WIDTH} ${props.windows.length * SERIES_ROW + 4}`}
      width={CHART_WIDTH}
    >
      <title id={titleId}>{seriesSummary(props.windows)}</title>
      {props.windows.map((w, i) => {
        const y = i * SERIES_ROW + 4;
        const slots = seriesSlots(w);
        const width = plot / Math.max(1, slots.length);
        const maxP95 = Math.max(0, ...slots.map((p) => p?.latencyP95Ms ?? 0));
        return (
          <g
            key={w.window}
            data-testid="health-series"
            data-window={WINDOW_NAMES[w.window]}
            data-slots={slots.length}
            data-points={slots.filter((p) => p !== undefined).length}
          >
            <text className="chart-label" x={0} y={y + 15}>
              {WINDOW_NAMES[w.window]}
            </text>
            <rect className="chart-track" x={LABEL_WIDTH} y={y} width={plot} height={STRIP} />
            <rect className="chart-track" x={LABEL_WIDTH} y={y + STRIP + 2} width={plot} height={STRIP} />
            {slots.map((p, j) => {
              if (!p) return null;
              const x = LABEL_WIDTH + j * width + 0.5;
              const ok = scaled(p.successRate, 1, STRIP);
              const p95 = Math.max(1, scaled(p.latencyP95Ms, maxP95, STRIP));
              return (
                // biome-ignore lint/suspicious/noArrayIndexKey: a slot is its place in the window
                <g key={j}>
                  <rect className="chart-bad" x={x} y={y} width={width - 1} height={STRIP - ok} />
                  <rect className="chart-ok" x={x} y={y + STRIP - ok} width={width - 1} height={ok} />
                  <rect
                    className="chart-p95"
                    x={x}
                    y={y + 2 * STRIP + 2 - p95}
                    width={width - 1}
                    height={p95}
                  />
                </g>
              );
            })}
            <text className="chart-small" x={LABEL_WIDTH} y={y + 2 * STRIP + 15}>
              {slots.length} points · p95 up to {maxP95} ms
            </text>
            <text className="chart-small" x={LABEL_WIDTH + plot} y={y + 2 * STRIP + 15} textAnchor="end">
              now
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** An endpoint's health: circuit, last success and failure, backlog, and the two charts with their numbers. */
export function HealthSummary(props: { health: EndpointHealth }) {
  const { health } = props;
  const circuit = CIRCUIT_NAMES[health.circuitState] ?? { text: "unknown" };
  return (
    <>
      <dl className="fields">
        <dt>Circuit</dt>
        <dd className={circuit.ok === undefined ? "" : circuit.ok ? "state-ok" : "state-bad"}>
          {circuit.text}
        </dd>
        <dt>Last success</dt>
        <dd>{formatTime(health.lastSuccessTime)}</dd>
        <dt>Last failure</dt>
        <dd>{formatTime(health.lastFailureTime)}</dd>
        <dt>Backlog</dt>
        <dd>
          {health.backlogTime
            ? `${health.backlog} waiting for a retry (counted ${formatTime(health.backlogTime)})`
            : "not counted yet"}
        </dd>
      </dl>
      <div className="charts">
        <figure>
          <figcaption>Success rate</figcaption>
          <SuccessChart windows={health.windows} />
        </figure>
        <figure>
          <figcaption>Latency (p50, p95, p99)</figcaption>
          <LatencyChart windows={health.windows} />
        </figure>
        <figure>
          <figcaption>Over time (success and failure share; p95 latency)</figcaption>
          <SeriesChart windows={health.windows} />
        </figure>
      </div>
      <table className="numbers">
        <caption className="hint">
          The last hour, day and week; latency percentiles are within{" "}
          {(health.latencyRelativeError * 100).toFixed(1)} %.
        </caption>
        <thead>
          <tr>
            <th scope="col">Window</th>
            <th scope="col">Attempts</th>
            <th scope="col">Succeeded</th>
            <th scope="col">Failed</th>
            <th scope="col">Success rate</th>
            <th scope="col">p50</th>
            <th scope="col">p95</th>
            <th scope="col">p99</th>
          </tr>
        </thead>
        <tbody>
          {health.windows.map((w) => (
            <tr key={w.window} data-testid="health-window">
              <th scope="row">{WINDOW_NAMES[w.window]}</th>
              <td>{w.attempts.toString()}</td>
              <td>{w.succeeded.toString()}</td>
              <td>{w.failed.toString()}</td>
              <td>{w.attempts > 0n ? percent(w.successRate) : "—"}</td>
              <td>{w.attempts > 0n ? `${w.latencyP50Ms} ms` : "—"}</td>
              <td>{w.attempts > 0n ? `${w.latencyP95Ms} ms` : "—"}</td>
              <td>{w.attempts > 0n ? `${w.latencyP99Ms} ms` : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
