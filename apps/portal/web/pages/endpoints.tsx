import { useState } from "react";
import { ActionForm, DescriptionField, EventTypesField, TextField } from "../components/forms.js";
import { Pager, usePageTokens } from "../components/pager.js";
import { useUrlCheck } from "../components/url-check.js";
import { splitList, urlHint } from "../forms.js";
import { navigate, routePath } from "../router.js";
import { Feedback, Link, useLoad, usePortal } from "../ui.js";

const PAGE_SIZE = 20;

export function EndpointsPage() {
  const { api, session, canCreate } = usePortal();
  const pages = usePageTokens();
  const { pageToken } = pages;
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
      <Pager
        pages={pages}
        nextPageToken={page.data?.nextPageToken}
        labels={{ back: "Previous page", forward: "Next page" }}
      />
    </>
  );
}

function CreateEndpoint() {
  const { api, session } = usePortal();
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [types, setTypes] = useState("");
  const hint = urlHint(
    useUrlCheck(url, (typed) =>
      api.endpoints.createEndpoint({ tenantId: session.tenantId, url: typed, validateOnly: true }),
    ),
  );
  return (
    <ActionForm
      label="Add an endpoint"
      heading="Add an endpoint"
      submit="Add endpoint"
      onSubmit={async () => {
        const res = await api.endpoints.createEndpoint({
          tenantId: session.tenantId,
          url: url.trim(),
          description,
          eventTypes: splitList(types),
        });
        if (res.endpoint) navigate(routePath(session.tenantId, { page: "endpoint", id: res.endpoint.id }));
        return undefined;
      }}
    >
      <TextField
        label="URL"
        name="url"
        type="url"
        required
        value={url}
        onChange={setUrl}
        placeholder="https://example.com/webhooks"
        hintId="url-hint"
        hintClass={hint.ok === undefined ? "" : hint.ok ? "ok" : "bad"}
        live
        hint={hint.text}
      />
      <DescriptionField value={description} onChange={setDescription} />
      <EventTypesField id="types-hint" value={types} onChange={setTypes} />
    </ActionForm>
  );
}
