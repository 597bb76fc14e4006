import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { useState } from "react";
import { Pager, usePageTokens } from "../components/pager.js";
import { navigate, routePath } from "../router.js";
import { Feedback, formatTime, Link, localDate, useLoad, usePortal } from "../ui.js";

interface Filter {
  eventType: string;
  from: string;
  to: string;
}

/** The message log: the tenant's events, newest first, a page at a time (never all of them). */
export function EventsPage() {
  const { api, session } = usePortal();
  const [draft, setDraft] = useState<Filter>({ eventType: "", from: "", to: "" });
  const [filter, setFilter] = useState<Filter>(draft);
  const pages = usePageTokens();
  const [eventId, setEventId] = useState("");
  const { pageToken } = pages;
  const page = useLoad(() => {
    const from = localDate(filter.from);
    const to = localDate(filter.to);
    return api.audit.listEvents({
      tenantId: session.tenantId,
      eventType: filter.eventType.trim(),
      startTime: from && timestampFromDate(from),
      endTime: to && timestampFromDate(to),
      pageSize: 25,
      pageToken,
    });
  }, [filter, pageToken]);
  return (
    <>
      <h1>Message log</h1>
      <form
        className="row panel"
        aria-label="Find an event"
        onSubmit={(e) => {
          e.preventDefault();
          if (eventId.trim()) navigate(routePath(session.tenantId, { page: "event", id: eventId.trim() }));
        }}
      >
        <label>
          Event ID
          <input name="event-id" value={eventId} onChange={(e) => setEventId(e.target.value)} />
        </label>
        <button type="submit">Find</button>
      </form>
      <form
        className="row panel"
        aria-label="Filter the log"
        onSubmit={(e) => {
          e.preventDefault();
          pages.reset();
          setFilter(draft);
        }}
      >
        <label>
          Event type
          <input
            name="event-type"
            value={draft.eventType}
            onChange={(e) => setDraft({ ...draft, eventType: e.target.value })}
          />
        </label>
        <label>
          From
          <input
            type="datetime-local"
            name="from"
            value={draft.from}
            onChange={(e) => setDraft({ ...draft, from: e.target.value })}
          />
        </label>
        <label>
          Until
          <input
            type="datetime-local"
            name="to"
            value={draft.to}
            onChange={(e) => setDraft({ ...draft, to: e.target.value })}
          />
        </label>
        <button type="submit">Filter</button>
      </form>
      <Feedback error={page.error} />
      {page.data && page.data.events.length === 0 && <p>No events match.</p>}
      {page.data && page.data.events.length > 0 && (
        <table aria-label="Events">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Type</th>
              <th scope="col">Event ID</th>
              <th scope="col">Endpoints</th>
            </tr>
          </thead>
          <tbody>
            {page.data.events.map((e) => (
              <tr key={e.id} data-testid="event">
                <td>{formatTime(e.createTime)}</td>
                <td>{e.eventType}</td>
                <td className="mono">
                  <Link to={{ page: "event", id: e.id }}>{e.id}</Link>
                </td>
                <td>{e.routed ? e.endpointIds.length : "routing…"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager pages={pages} nextPageToken={page.data?.nextPageToken} />
    </>
  );
}
