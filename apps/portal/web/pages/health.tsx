import { HealthSummary } from "../components/health-charts.js";
import { Pager, usePageTokens } from "../components/pager.js";
import { Feedback, Link, useLoad, usePortal } from "../ui.js";

/** Every endpoint's health, a few endpoints a page (each answer sums 180 rollups). */
export function HealthPage() {
  const { api, session } = usePortal();
  const pages = usePageTokens();
  const { pageToken } = pages;
  const page = useLoad(
    () => api.audit.listEndpointHealth({ tenantId: session.tenantId, pageSize: 10, pageToken }),
    [pageToken],
  );
  // The URLs name the endpoints; the first 100 of the session's endpoints cover most tenants, others
  // show their id.
  const urls = useLoad(
    async () =>
      new Map(
        (await api.endpoints.listEndpoints({ tenantId: session.tenantId, pageSize: 100 })).endpoints.map(
          (e) => [e.id, e.url],
        ),
      ),
    [],
  );
  return (
    <>
      <h1>Endpoint health</h1>
      <div className="row">
        <button type="button" className="secondary" onClick={page.reload}>
          Refresh
        </button>
      </div>
      <Feedback error={page.error} />
      {page.data && page.data.endpoints.length === 0 && <p>No endpoints to show.</p>}
      {page.data?.endpoints.map((health) => (
        <section
          key={health.endpointId}
          className="panel"
          aria-labelledby={`health-${health.endpointId}`}
          data-testid="endpoint-health"
        >
          <h2 id={`health-${health.endpointId}`} className="mono">
            <Link to={{ page: "endpoint", id: health.endpointId }}>
              {urls.data?.get(health.endpointId) ?? health.endpointId}
            </Link>
          </h2>
          <HealthSummary health={health} />
        </section>
      ))}
      <Pager
        pages={pages}
        nextPageToken={page.data?.nextPageToken}
        labels={{ back: "Previous page", forward: "Next page" }}
      />
    </>
  );
}

/** One endpoint's health, for its own page. */
export function EndpointHealthSection(props: { endpointId: string }) {
  const { api, session } = usePortal();
  const loaded = useLoad(
    () => api.audit.getEndpointHealth({ tenantId: session.tenantId, endpointId: props.endpointId }),
    [props.endpointId],
  );
  return (
    <section className="panel" aria-labelledby="health-heading">
      <h2 id="health-heading">Health</h2>
      <Feedback error={loaded.error} />
      {loaded.data?.health && <HealthSummary health={loaded.data.health} />}
    </section>
  );
}
