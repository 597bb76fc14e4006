import { type Attempt, type Endpoint, ErrorClass, type EventType } from "@herald/contracts";
import { useState } from "react";
import { Feedback, useAction, useLoad, usePortal } from "../ui.js";

/** Longer than routing's TEST_SEND_TIMEOUT (20 s by default), so its own answer arrives first. */
const TEST_CALL_TIMEOUT_MS = 30_000;

const ERROR_NAMES: Record<number, string> = {
  [ErrorClass.HTTP_STATUS]: "the receiver answered with an error status",
  [ErrorClass.TIMEOUT]: "timeout",
  [ErrorClass.CONNECTION]: "connection failed",
  [ErrorClass.DNS]: "DNS lookup failed",
  [ErrorClass.BLOCKED]: "address not allowed by the URL policy",
  [ErrorClass.TLS]: "TLS failed",
};

/** A type's first example, indented for editing; "" when it has none. */
export function exampleText(type: EventType | undefined): string {
  const example = type?.examples[0];
  if (example === undefined) return "";
  try {
    return JSON.stringify(JSON.parse(example), null, 2);
  } catch {
    return example;
  }
}

/** The type to start with: the endpoint's first subscribed type without a wildcard, else the catalog's first. */
function initialType(endpoint: Endpoint, types: readonly EventType[]): string {
  const subscribed = endpoint.eventTypes.find((t) => !t.includes("*"));
  return subscribed ?? types[0]?.name ?? "";
}

/**
 * "Send test event": one signed test delivery to the endpoint now (EndpointService.TestEndpoint), and
 * the receiver's answer. The answer is the receiver's, so untrusted: shown only as text.
 */
export function SendTest(props: { endpoint: Endpoint; onSent: () => void }) {
  const { api, session } = usePortal();
  const catalog = useLoad(
    () => api.eventTypes.listEventTypes({ tenantId: session.tenantId, pageSize: 100 }),
    [session.tenantId],
  );
  const types = catalog.data?.eventTypes ?? [];
  return (
    <section className="panel" aria-labelledby="send-test-heading">
      <h2 id="send-test-heading">Send test event</h2>
      <p className="hint">
        Sends one signed delivery now, marked with the header webhook-test: true. It is recorded as a test and
        is not retried.
      </p>
      {catalog.loading ? (
        <p>Loading the event catalog…</p>
      ) : (
        <SendTestForm
          // A new form once the catalog is in, so it starts from the right type and example.
          key={types.length}
          endpoint={props.endpoint}
          types={types}
          onSent={props.onSent}
        />
      )}
    </section>
  );
}

function SendTestForm(props: { endpoint: Endpoint; types: readonly EventType[]; onSent: () => void }) {
  const { api, session } = usePortal();
  const { endpoint, types } = props;
  const first = initialType(endpoint, types);
  const [type, setType] = useState(first);
  const [payload, setPayload] = useState(exampleText(types.find((t) => t.name === first)));
  const [answer, setAnswer] = useState<Attempt>();
  const action = useAction();
  const catalogued = types.some((t) => t.name === type) || (type === "" && types.length > 0);
  const chooseType = (name: string) => {
    setType(name);
    setPayload(exampleText(types.find((t) => t.name === name)));
  };
  return (
    <form
      className="stack"
      aria-label="Send a test event"
      onSubmit={(e) => {
        e.preventDefault();
        action.run(async () => {
          setAnswer(undefined);
          const text = payload.trim();
          if (text !== "") {
            try {
              JSON.parse(text);
            } catch (err) {
              throw new Error(`Payload: not valid JSON (${(err as Error).message})`);
            }
          }
          const res = await api.endpoints.testEndpoint(
            {
              tenantId: session.tenantId,
              endpointId: endpoint.id,
              eventType: type.trim(),
              payload: new TextEncoder().encode(text),
            },
            { timeoutMs: TEST_CALL_TIMEOUT_MS },
          );
          setAnswer(res.attempt);
          props.onSent();
          return undefined;
        });
      }}
    >
      {types.length > 0 && catalogued ? (
        <label>
          Event type
          <select name="test-type" value={type} onChange={(e) => chooseType(e.target.value)}>
            {types.map((t) => (
              <option key={t.name} value={t.name}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
      ) : (
        <label>
          Event type
          <input
            name="test-type"
            value={type}
            onChange={(e) => setType(e.target.value)}
            aria-describedby="test-type-hint"
          />
          <span id="test-type-hint" className="hint">
            E.g. order.created; the event catalog has no example for it, so write the payload below.
          </span>
        </label>
      )}
      <label>
        Payload (JSON)
        <textarea
          name="test-payload"
          className="mono"
          rows={8}
          value={payload}
          onChange={(e) => setPayload(e.target.value)}
          aria-describedby="test-payload-hint"
        />
        <span id="test-payload-hint" className="hint">
          Prefilled with the type's example from the event catalog; empty sends that example.
        </span>
      </label>
      <div>
        <button type="submit" disabled={action.busy}>
          {action.busy ? "Sending…" : "Send test event"}
        </button>
      </div>
      <Feedback error={action.error} />
      {answer && <TestAnswer attempt={answer} />}
    </form>
  );
}

/** The receiver's answer, as text only: its headers and body come from outside. */
function TestAnswer(props: { attempt: Attempt }) {
  const { attempt } = props;
  const error = attempt.success
    ? undefined
    : [ERROR_NAMES[attempt.errorClass], attempt.errorMessage].filter(Boolean).join(": ");
  const headers = attempt.responseHeaders.map((h) => `${h.name}: ${h.value}`).join("\n");
  return (
    <div role="status" aria-label="Test result" data-testid="test-answer">
      <dl className="fields">
        <dt>Result</dt>
        <dd className={attempt.success ? "state-ok" : "state-bad"}>
          {attempt.success ? "delivered" : `failed${error ? ` (${error})` : ""}`}
        </dd>
        <dt>Status</dt>
        <dd>{attempt.responseStatus || "no response"}</dd>
        <dt>Latency</dt>
        <dd>{attempt.latencyMs} ms</dd>
        <dt>webhook-id</dt>
        <dd className="mono">{attempt.eventId}</dd>
      </dl>
      <h3>Response headers</h3>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to scroll by keyboard */}
      <pre className="snippet" tabIndex={0} data-testid="test-headers">
        {headers || "—"}
      </pre>
      <h3>Response body</h3>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to scroll by keyboard */}
      <pre className="snippet" tabIndex={0} data-testid="test-body">
        {attempt.responseBody || "—"}
      </pre>
    </div>
  );
}
