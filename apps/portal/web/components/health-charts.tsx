import type { EndpointHealth, EndpointHealthWindow } from "@herald/contracts";
import { useId } from "react";
import {
  CIRCUIT_NAMES,
  latencySummary,
  niceCeiling,
  percent,
  scaled,
  successSummary,
  WINDOW_NAMES,
} from "../charts.js";
import { formatTime } from "../ui.js";

// Charts are inline SVG drawn from the three windows audit answers: no chart library (the bundle
// budget), colours from the theme's CSS variables through classes (the CSP allows no inline style),
// and each chart is one image with a sentence for screen readers beside the table of its numbers.

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
