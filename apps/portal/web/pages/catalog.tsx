import type { EventType } from "@herald/contracts";
import { useState } from "react";
import { Pager, usePageTokens } from "../components/pager.js";
import { Feedback, formatTime, Link, prettyJson, useLoad, usePortal } from "../ui.js";

/** The tenant's event type catalog: what each type means, a page at a time, archived ones on request. */
export function EventTypesPage() {
  const { api, session } = usePortal();
  const [includeArchived, setIncludeArchived] = useState(false);
  const pages = usePageTokens();
  const { pageToken } = pages;
  const page = useLoad(
    () =>
      api.eventTypes.listEventTypes({ tenantId: session.tenantId, pageSize: 50, pageToken, includeArchived }),
    [pageToken, includeArchived],
  );
  return (
    <>
      <h1>Event catalog</h1>
      <p className="hint">
        The event types this application sends, what they mean and the shape of their payloads. Endpoints
        subscribe to them by name or with a wildcard such as invoice.*.
      </p>
      <label className="inline">
        <input
          type="checkbox"
          name="include-archived"
          checked={includeArchived}
          onChange={(e) => {
            pages.reset();
            setIncludeArchived(e.target.checked);
          }}
        />
        Show archived types
      </label>
      <Feedback error={page.error} />
      {page.data && page.data.eventTypes.length === 0 && <p>No event types are described yet.</p>}
      {page.data && page.data.eventTypes.length > 0 && (
        <table aria-label="Event types">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
              <th scope="col">Schema</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {page.data.eventTypes.map((t) => (
              <tr key={t.name} data-testid="event-type">
                <td className="mono">
                  <Link to={{ page: "event-type", name: t.name }}>{t.name}</Link>
                </td>
                <td>{t.description || "—"}</td>
                <td>{t.schema ? `version ${t.schemaVersion}` : "none"}</td>
                <td>
                  <Flags type={t} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager
        pages={pages}
        nextPageToken={page.data?.nextPageToken}
        labels={{ back: "Previous page", forward: "Next page" }}
      />
    </>
  );
}

function Flags(props: { type: EventType }) {
  const { type } = props;
  const flags = [
    type.archived && "archived",
    type.deprecated && "deprecated",
    type.validatePayloads && "payloads validated",
  ].filter((f): f is string => typeof f === "string");
  if (flags.length === 0) return <>current</>;
  return (
    <>
      {flags.map((f) => (
        <span key={f} className={`badge ${f === "payloads validated" ? "" : "badge-warn"}`.trim()}>
          {f}
        </span>
      ))}
    </>
  );
}

/** One event type: its description, its JSON Schema and its examples, all shown as text. */
export function EventTypePage(props: { name: string }) {
  const { api, session } = usePortal();
  const loaded = useLoad(
    () => api.eventTypes.getEventType({ tenantId: session.tenantId, name: props.name }),
    [props.name],
  );
  const type = loaded.data?.eventType;
  return (
    <>
      <p>
        <Link to={{ page: "event-types" }}>← Event catalog</Link>
      </p>
      <h1 className="mono">{props.name}</h1>
      <Feedback error={loaded.error} />
      {type && (
        <>
          <section className="panel" aria-label="About this event type">
            <dl className="fields">
              <dt>Description</dt>
              <dd>{type.description || "—"}</dd>
              <dt>State</dt>
              <dd>
                <Flags type={type} />
              </dd>
              <dt>Schema version</dt>
              <dd>{type.schema ? type.schemaVersion : "no schema"}</dd>
              <dt>Updated</dt>
              <dd>{formatTime(type.updateTime)}</dd>
            </dl>
            {type.deprecated && (
              <p className="hint">Deprecated: still sent for now, but move to its successor.</p>
            )}
          </section>
          <h2>Payload schema</h2>
          {type.schema ? (
            // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to scroll by keyboard
            <pre data-testid="schema" tabIndex={0}>
              {prettyJson(type.schema)}
            </pre>
          ) : (
            <p>This type has no schema: its payloads may be any JSON.</p>
          )}
          <h2>Examples</h2>
          {type.examples.length === 0 && <p>No examples.</p>}
          {type.examples.map((example, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: the examples are a fixed list, in order
            <figure key={i} className="example">
              <figcaption>Example {i + 1}</figcaption>
              {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to scroll by keyboard */}
              <pre data-testid="example" tabIndex={0}>
                {prettyJson(example)}
              </pre>
            </figure>
          ))}
        </>
      )}
    </>
  );
}
