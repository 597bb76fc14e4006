import { useState } from "react";
import { splitList, urlHint } from "../forms.js";
import { navigate, routePath } from "../router.js";
import { Feedback, Link, useAction, useLoad, usePortal } from "../ui.js";

const PAGE_SIZE = 20;

export function EndpointsPage() {
  const { api, session, canCreate } = usePortal();
  const [tokens, setTokens] = useState<string[]>([""]);
  const pageToken = tokens.at(-1) ?? "";
  const page = useLoad(
    () => api.endpoints.listEndpoints({ tenantId: session.tenantId, pageSize: PAGE_SIZE, pageToken }),
    [pageToken],
  );
  return (
    <>
      <h1>Endpoints</h1>
      {canCreate && <CreateEndpoint />}
      <h2>Your endpoints</h2>
      <Feedback error={page.error} />
      {page.data && page.data.endpoints.length === 0 && <p>No endpoints yet.</p>}
      {page.data && page.data.endpoints.length > 0 && (
        <table>
          <caption className="hint">Endpoints receive the events whose types they subscribe to.</caption>
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Description</th>
              <th scope="col">Event types</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {page.data.endpoints.map((e) => (
              <tr key={e.id}>
                <td className="mono">
                  <Link to={{ page: "endpoint", id: e.id }}>{e.url}</Link>
                </td>
                <td>{e.description || "—"}</td>
                <td>{e.eventTypes.length > 0 ? e.eventTypes.join(", ") : "all"}</td>
                <td className={e.disabled ? "state-bad" : "state-ok"}>
                  {e.disabled ? "disabled" : "enabled"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="pager">
        <button
          type="button"
          className="secondary"
          disabled={tokens.length < 2}
          onClick={() => setTokens((t) => t.slice(0, -1))}
        >
          Previous page
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!page.data?.nextPageToken}
          onClick={() => setTokens((t) => [...t, page.data?.nextPageToken ?? ""])}
        >
          Next page
        </button>
      </div>
    </>
  );
}

function CreateEndpoint() {
  const { api, session } = usePortal();
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [types, setTypes] = useState("");
  const action = useAction();
  const hint = urlHint(url);
  return (
    <form
      className="stack panel"
      aria-label="Add an endpoint"
      onSubmit={(e) => {
        e.preventDefault();
        action.run(async () => {
          const res = await api.endpoints.createEndpoint({
            tenantId: session.tenantId,
            url: url.trim(),
            description,
            eventTypes: splitList(types),
          });
          if (res.endpoint) navigate(routePath(session.tenantId, { page: "endpoint", id: res.endpoint.id }));
          return undefined;
        });
      }}
    >
      <h2>Add an endpoint</h2>
      <label>
        URL
        <input
          name="url"
          type="url"
          required
          value={url}
          onChange={(e) => setUrl(e.target.value)}
          aria-describedby="url-hint"
          placeholder="https://example.com/webhooks"
        />
        <span id="url-hint" className={`hint ${hint ? (hint.ok ? "ok" : "bad") : ""}`} aria-live="polite">
          {hint?.text ?? "Where Herald POSTs your events."}
        </span>
      </label>
      <label>
        Description
        <input name="description" value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <label>
        Event types
        <input
          name="event-types"
          value={types}
          onChange={(e) => setTypes(e.target.value)}
          aria-describedby="types-hint"
        />
        <span id="types-hint" className="hint">
          Comma-separated, e.g. invoice.paid, user.* — empty receives every type.
        </span>
      </label>
      <div>
        <button type="submit" disabled={action.busy}>
          Add endpoint
        </button>
      </div>
      <Feedback error={action.error} note={action.note} />
    </form>
  );
}
