import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Endpoint, type EndpointSecret, SignatureScheme } from "@herald/contracts";
import { useState } from "react";
import { ActionForm, DescriptionField, EventTypesField, TextField } from "../components/forms.js";
import { headerLines, parseHeaders, splitList } from "../forms.js";
import { navigate, routePath } from "../router.js";
import { Feedback, formatTime, localDate, useAction, useLoad, usePortal } from "../ui.js";
import { AttemptsTable } from "./attempts.js";
import { EndpointHealthSection } from "./health.js";
import { SendTest } from "./send-test.js";

export function EndpointPage(props: { id: string }) {
  const { api, session } = usePortal();
  const loaded = useLoad(
    () => api.endpoints.getEndpoint({ tenantId: session.tenantId, endpointId: props.id }),
    [props.id],
  );
  const endpoint = loaded.data?.endpoint;
  // A test send adds an attempt: the list below reloads to show it.
  const [sentTests, setSentTests] = useState(0);
  return (
    <>
      <h1>Endpoint</h1>
      <Feedback error={loaded.error} />
      {endpoint && (
        <>
          <Summary endpoint={endpoint} onChange={loaded.reload} />
          {!session.readOnly && (
            <EditEndpoint
              key={endpoint.updateTime?.seconds.toString()}
              endpoint={endpoint}
              onSaved={loaded.reload}
            />
          )}
          {!session.readOnly && <SigningSecret endpoint={endpoint} onRotated={loaded.reload} />}
          {!session.readOnly && <Recover endpointId={endpoint.id} />}
          {!session.readOnly && <SendTest endpoint={endpoint} onSent={() => setSentTests((n) => n + 1)} />}
          <EndpointHealthSection endpointId={endpoint.id} />
          <h2>Recent attempts</h2>
          <AttemptsTable filter={{ endpointId: endpoint.id }} refresh={sentTests} />
        </>
      )}
    </>
  );
}

function Summary(props: { endpoint: Endpoint; onChange: () => void }) {
  const { api, session } = usePortal();
  const { endpoint } = props;
  const action = useAction();
  const [confirming, setConfirming] = useState(false);
  const ids = { tenantId: session.tenantId, endpointId: endpoint.id };
  return (
    <section className="panel" aria-label="Endpoint summary">
      <dl className="fields">
        <dt>URL</dt>
        <dd className="mono">{endpoint.url}</dd>
        <dt>ID</dt>
        <dd className="mono">{endpoint.id}</dd>
        <dt>Description</dt>
        <dd>{endpoint.description || "—"}</dd>
        <dt>State</dt>
        <dd className={endpoint.disabled ? "state-bad" : "state-ok"}>
          {endpoint.disabled ? "disabled" : "enabled"}
        </dd>
        <dt>Created</dt>
        <dd>{formatTime(endpoint.createTime)}</dd>
      </dl>
      {!session.readOnly && (
        <div className="row">
          <button
            type="button"
            className="secondary"
            disabled={action.busy}
            onClick={() =>
              action.run(async () => {
                if (endpoint.disabled) await api.endpoints.enableEndpoint(ids);
                else await api.endpoints.disableEndpoint(ids);
                props.onChange();
                return endpoint.disabled ? "Enabled." : "Disabled.";
              })
            }
          >
            {endpoint.disabled ? "Enable" : "Disable"}
          </button>
          {!confirming ? (
            <button type="button" className="secondary" onClick={() => setConfirming(true)}>
              Delete…
            </button>
          ) : (
            <>
              <button
                type="button"
                className="danger"
                onClick={() =>
                  action.run(async () => {
                    await api.endpoints.deleteEndpoint(ids);
                    navigate(routePath(session.tenantId, { page: "endpoints" }));
                    return undefined;
                  })
                }
              >
                Delete for good
              </button>
              <button type="button" className="secondary" onClick={() => setConfirming(false)}>
                Keep it
              </button>
            </>
          )}
        </div>
      )}
      <Feedback error={action.error} note={action.note} />
    </section>
  );
}

function EditEndpoint(props: { endpoint: Endpoint; onSaved: () => void }) {
  const { api, session } = usePortal();
  const { endpoint } = props;
  const [description, setDescription] = useState(endpoint.description);
  const [types, setTypes] = useState(endpoint.eventTypes.join(", "));
  const [headers, setHeaders] = useState(headerLines(endpoint.headers));
  const [rate, setRate] = useState(String(endpoint.rateLimitPerSecond));
  return (
    <ActionForm
      label="Edit the endpoint"
      heading="Settings"
      submit="Save"
      onSubmit={async () => {
        const parsed = parseHeaders(headers);
        if ("bad" in parsed)
          throw new Error(`Headers: write "Name: value" on each line (not "${parsed.bad}")`);
        const rateLimit = Number(rate);
        if (!Number.isInteger(rateLimit) || rateLimit < 0)
          throw new Error("Rate limit: a whole number, 0 for none");
        await api.endpoints.updateEndpoint({
          tenantId: session.tenantId,
          endpointId: endpoint.id,
          description,
          eventTypes: { values: splitList(types) },
          headers: { entries: parsed.headers },
          rateLimitPerSecond: rateLimit,
        });
        props.onSaved();
        return "Saved.";
      }}
    >
      <DescriptionField value={description} onChange={setDescription} />
      <EventTypesField id="edit-types-hint" value={types} onChange={setTypes} />
      <label>
        Headers
        <textarea
          name="headers"
          value={headers}
          onChange={(e) => setHeaders(e.target.value)}
          aria-describedby="headers-hint"
        />
        <span id="headers-hint" className="hint">
          One "Name: value" per line, sent with every delivery. Stored values show as ••••; keep them to keep
          the value.
        </span>
      </label>
      <TextField
        label="Rate limit (deliveries per second, 0 for none)"
        name="rate-limit"
        inputMode="numeric"
        value={rate}
        onChange={setRate}
      />
    </ActionForm>
  );
}

const OVERLAPS: Array<[string, number]> = [
  ["24 hours", 86_400_000],
  ["1 hour", 3_600_000],
  ["7 days", 7 * 86_400_000],
  ["none: the old secret ends now", 0],
];

function SigningSecret(props: { endpoint: Endpoint; onRotated: () => void }) {
  const { api, session } = usePortal();
  const [secrets, setSecrets] = useState<EndpointSecret[]>();
  const [overlap, setOverlap] = useState(String(OVERLAPS[0]?.[1]));
  const action = useAction();
  const ids = { tenantId: session.tenantId, endpointId: props.endpoint.id };
  const reveal = async () => setSecrets((await api.endpoints.getEndpointSecret(ids)).secrets);
  return (
    <section className="panel" aria-labelledby="secret-heading">
      <h2 id="secret-heading">Signing secret</h2>
      <p className="hint">Verify each delivery's webhook-signature with this secret (Standard Webhooks).</p>
      {secrets ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Secret or public key</th>
              <th scope="col">Valid until</th>
            </tr>
          </thead>
          <tbody>
            {secrets.map((s) => (
              <tr key={s.id}>
                <td className="mono" data-testid="secret">
                  {s.scheme === SignatureScheme.V1A ? s.publicKey : s.secret}
                </td>
                <td>{s.expireTime ? formatTime(s.expireTime) : "no end (current)"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <button
          type="button"
          className="secondary"
          disabled={action.busy}
          onClick={() =>
            action.run(async () => {
              await reveal();
              return undefined;
            })
          }
        >
          Reveal secret
        </button>
      )}
      <div className="row">
        <label>
          Old secret stays valid for
          <select value={overlap} onChange={(e) => setOverlap(e.target.value)}>
            {OVERLAPS.map(([label, ms]) => (
              <option key={ms} value={ms}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          disabled={action.busy}
          onClick={() =>
            action.run(async () => {
              await api.endpoints.rotateSecret({ ...ids, overlap: durationFromMs(Number(overlap)) });
              if (secrets) await reveal();
              props.onRotated();
              return "Rotated: new deliveries are signed with the new secret (and the old one during the overlap).";
            })
          }
        >
          Rotate secret
        </button>
      </div>
      <Feedback error={action.error} note={action.note} />
    </section>
  );
}

function Recover(props: { endpointId: string }) {
  const { api, session } = usePortal();
  const [since, setSince] = useState("");
  return (
    <ActionForm
      label="Recover failed deliveries"
      heading="Recover failed deliveries"
      submit="Recover"
      onSubmit={async () => {
        const date = localDate(since);
        if (!date) throw new Error("Since: pick a date and time");
        const res = await api.audit.recover({
          tenantId: session.tenantId,
          endpointId: props.endpointId,
          since: timestampFromDate(date),
        });
        return `${res.requeued} failed deliveries sent again${res.truncated ? " (more remain: recover again)" : ""}.`;
      }}
    >
      <label>
        Send again every failed delivery since
        <input type="datetime-local" name="since" value={since} onChange={(e) => setSince(e.target.value)} />
      </label>
    </ActionForm>
  );
}
