import { DeliveryState, SkipReason } from "@herald/contracts";
import { useState } from "react";
import { Feedback, formatTime, Link, prettyJson, useAction, useLoad, usePortal } from "../ui.js";
import { deliveryWaitText } from "../waits.js";
import { AttemptsTable } from "./attempts.js";

const STATE_NAMES: Record<number, string> = {
  [DeliveryState.PENDING]: "pending",
  [DeliveryState.SUCCEEDED]: "succeeded",
  [DeliveryState.FAILED]: "failed, retrying",
  [DeliveryState.DEAD]: "failed for good",
};

const SKIP_REASONS: Record<number, string> = {
  [SkipReason.EVENT_TYPE]: "does not take this event type",
  [SkipReason.CHANNEL]: "not on the event's channels",
  [SkipReason.FILTER_FALSE]: "its filter did not match",
  [SkipReason.FILTER_ERROR]: "its filter failed",
  [SkipReason.ENDPOINT_DISABLED]: "disabled when the event came",
  [SkipReason.TENANT_DISABLED]: "the tenant was disabled",
};

/** The payload as text: pretty JSON when it is JSON, else the bytes decoded. Never markup. */
function payloadText(bytes: Uint8Array): string {
  return prettyJson(new TextDecoder().decode(bytes));
}

export function EventPage(props: { id: string }) {
  const { api, session } = usePortal();
  const [refresh, setRefresh] = useState(0);
  const loaded = useLoad(
    () => api.audit.getEvent({ tenantId: session.tenantId, eventId: props.id }),
    [props.id, refresh],
  );
  const action = useAction();
  const event = loaded.data?.event;
  return (
    <>
      <h1>Event</h1>
      <Feedback error={loaded.error} />
      {event && loaded.data && (
        <>
          <section className="panel" aria-label="Event summary">
            <dl className="fields">
              <dt>ID</dt>
              <dd className="mono">{event.id}</dd>
              <dt>Type</dt>
              <dd>{event.eventType}</dd>
              <dt>Received</dt>
              <dd>{formatTime(event.createTime)}</dd>
              {event.channels.length > 0 && (
                <>
                  <dt>Channels</dt>
                  <dd>{event.channels.join(", ")}</dd>
                </>
              )}
              <dt>Routed to</dt>
              <dd>
                {!event.routed
                  ? "not routed yet"
                  : event.endpointIds.length === 0
                    ? "no endpoint: none subscribes to this type"
                    : `${event.endpointIds.length} endpoint(s) subscribed to its type`}
              </dd>
            </dl>
          </section>
          <h2>Payload</h2>
          {/* Focusable, so a long payload scrolls from the keyboard too. */}
          {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to scroll by keyboard */}
          <pre data-testid="payload" tabIndex={0}>
            {payloadText(loaded.data.payload)}
          </pre>
          <h2>Deliveries</h2>
          {loaded.data.deliveries.length === 0 ? (
            <p>No deliveries.</p>
          ) : (
            <table aria-label="Deliveries">
              <thead>
                <tr>
                  <th scope="col">Endpoint</th>
                  <th scope="col">State</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Last status</th>
                  {!session.readOnly && <th scope="col">Replay</th>}
                </tr>
              </thead>
              <tbody>
                {loaded.data.deliveries.map((d) => (
                  <tr key={d.endpointId} data-testid="delivery">
                    <td className="mono">
                      <Link to={{ page: "endpoint", id: d.endpointId }}>{d.endpointId}</Link>
                    </td>
                    <td
                      className={
                        d.state === DeliveryState.SUCCEEDED
                          ? "state-ok"
                          : d.state === DeliveryState.PENDING
                            ? ""
                            : "state-bad"
                      }
                    >
                      {STATE_NAMES[d.state] ?? "unknown"}
                      {d.waitedMs > 0 && (
                        <div className="hint" data-testid="delivery-waited">
                          {deliveryWaitText(d)}
                        </div>
                      )}
                    </td>
                    <td>{d.attemptCount}</td>
                    <td>{d.lastResponseStatus || "—"}</td>
                    {!session.readOnly && (
                      <td>
                        <button
                          type="button"
                          className="secondary"
                          disabled={action.busy}
                          aria-label={`Send again to ${d.endpointId}`}
                          onClick={() =>
                            action.run(async () => {
                              await api.audit.redeliver({
                                tenantId: session.tenantId,
                                eventId: event.id,
                                endpointId: d.endpointId,
                              });
                              setRefresh((r) => r + 1);
                              return "Sent again: the new attempt appears below when it has been made.";
                            })
                          }
                        >
                          Send again
                        </button>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <Feedback error={action.error} note={action.note} />
          {loaded.data.skippedEndpoints.length > 0 && (
            <>
              <h2>Not sent to</h2>
              <ul data-testid="skipped">
                {loaded.data.skippedEndpoints.map((s) => (
                  <li key={s.endpointId}>
                    <Link to={{ page: "endpoint", id: s.endpointId }}>{s.endpointId}</Link>:{" "}
                    {SKIP_REASONS[s.reason] ?? "skipped"}
                    {s.detail && ` (${s.detail})`}
                  </li>
                ))}
              </ul>
              {loaded.data.skippedEndpointsOmitted > 0 && (
                <p>and {loaded.data.skippedEndpointsOmitted} more endpoint(s) not listed.</p>
              )}
            </>
          )}
          <h2>Attempts</h2>
          <div className="row">
            <button type="button" className="secondary" onClick={() => setRefresh((r) => r + 1)}>
              Refresh
            </button>
          </div>
          <AttemptsTable filter={{ eventId: event.id }} refresh={refresh} />
        </>
      )}
    </>
  );
}
