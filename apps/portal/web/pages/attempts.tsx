import { AttemptTrigger, ErrorClass } from "@herald/contracts";
import { Pager, usePageTokens } from "../components/pager.js";
import { Feedback, formatTime, Link, useLoad, usePortal } from "../ui.js";

const ERROR_NAMES: Record<number, string> = {
  [ErrorClass.HTTP_STATUS]: "HTTP status",
  [ErrorClass.TIMEOUT]: "timeout",
  [ErrorClass.CONNECTION]: "connection failed",
  [ErrorClass.DNS]: "DNS",
  [ErrorClass.BLOCKED]: "address not allowed",
  [ErrorClass.TLS]: "TLS",
  [ErrorClass.CIRCUIT_OPEN]: "paused (circuit open)",
  [ErrorClass.LISTEN_UNREPORTED]: "not reported by herald listen",
};

/** Attempts, newest first, a page at a time. Response bodies are shown as text. */
export function AttemptsTable(props: {
  filter: { eventId?: string; endpointId?: string };
  refresh?: number;
}) {
  const { api, session } = usePortal();
  const pages = usePageTokens();
  const { pageToken } = pages;
  const page = useLoad(
    () =>
      api.audit.listAttempts({
        tenantId: session.tenantId,
        eventId: props.filter.eventId ?? "",
        endpointId: props.filter.endpointId ?? "",
        pageSize: 20,
        pageToken,
      }),
    [pageToken, props.filter.eventId, props.filter.endpointId, props.refresh],
  );
  return (
    <>
      <Feedback error={page.error} />
      {page.data && page.data.attempts.length === 0 && <p>No attempts yet.</p>}
      {page.data && page.data.attempts.length > 0 && (
        <table aria-label="Attempts">
          <thead>
            <tr>
              <th scope="col">Time</th>
              {!props.filter.eventId && <th scope="col">Event</th>}
              {!props.filter.endpointId && <th scope="col">Endpoint</th>}
              <th scope="col">#</th>
              <th scope="col">Status</th>
              <th scope="col">Latency</th>
              <th scope="col">Response</th>
            </tr>
          </thead>
          <tbody>
            {page.data.attempts.map((a) => (
              <tr key={a.id} data-testid="attempt">
                <td>{formatTime(a.attemptTime)}</td>
                {!props.filter.eventId && (
                  <td className="mono">
                    {/* A test's id names no stored event: nothing to link to. */}
                    {a.trigger === AttemptTrigger.TEST ? (
                      a.eventId
                    ) : (
                      <Link to={{ page: "event", id: a.eventId }}>{a.eventId}</Link>
                    )}
                  </td>
                )}
                {!props.filter.endpointId && (
                  <td className="mono">
                    <Link to={{ page: "endpoint", id: a.endpointId }}>{a.url || a.endpointId}</Link>
                  </td>
                )}
                <td>
                  {a.attemptNumber}
                  {a.trigger === AttemptTrigger.MANUAL ? " (replay)" : ""}
                  {a.trigger === AttemptTrigger.TEST ? " (test)" : ""}
                </td>
                <td className={a.success ? "state-ok" : "state-bad"}>
                  {a.success ? "succeeded" : "failed"}
                  {a.responseStatus ? ` · ${a.responseStatus}` : ""}
                  {!a.success && a.errorClass !== ErrorClass.HTTP_STATUS && ERROR_NAMES[a.errorClass]
                    ? ` · ${ERROR_NAMES[a.errorClass]}`
                    : ""}
                </td>
                <td>{a.latencyMs} ms</td>
                <td>
                  {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to scroll by keyboard */}
                  <pre className="snippet" tabIndex={0}>
                    {a.responseBody || a.errorMessage || "—"}
                  </pre>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager pages={pages} nextPageToken={page.data?.nextPageToken} />
    </>
  );
}
