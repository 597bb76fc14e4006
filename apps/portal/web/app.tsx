import { useEffect, useMemo, useState } from "react";
import { createApi } from "./api.js";
import { EventTypePage, EventTypesPage } from "./pages/catalog.js";
import { EndpointPage } from "./pages/endpoint.js";
import { EndpointsPage } from "./pages/endpoints.js";
import { EventPage } from "./pages/event.js";
import { EventsPage } from "./pages/events.js";
import { HealthPage } from "./pages/health.js";
import { parseRoute, usePathname } from "./router.js";
import { type Session, startSession, tenantPath } from "./session.js";
import { applyBrand, applyTheme, initialTheme, type Theme } from "./theme.js";
import { Link, type Portal, PortalContext } from "./ui.js";

let starting: ReturnType<typeof startSession> | undefined;

export function App() {
  const path = usePathname();
  const where = tenantPath(path);
  const tenantId = where?.tenantId;
  const [session, setSession] = useState<Session | { error: string }>();
  const [theme, setTheme] = useState<Theme>(initialTheme);

  useEffect(() => applyTheme(theme, false), [theme]);
  useEffect(() => {
    if (!tenantId) return;
    starting ??= startSession(tenantId);
    starting.then(setSession);
  }, [tenantId]);

  if (!where) return <Message text="This address is not a portal. Open the portal from your application." />;
  if (!session) return <Message text="Opening the portal…" />;
  if ("error" in session) return <Message text={session.error} />;
  return (
    <Shell
      session={session}
      rest={where.rest}
      theme={theme}
      onTheme={(t) => {
        applyTheme(t, true);
        setTheme(t);
      }}
    />
  );
}

function Message(props: { text: string }) {
  return (
    <main>
      <h1>Webhooks</h1>
      <p role="status">{props.text}</p>
    </main>
  );
}

function Shell(props: { session: Session; rest: string; theme: Theme; onTheme: (t: Theme) => void }) {
  const { session } = props;
  const portal: Portal = useMemo(
    () => ({
      api: createApi(session.token),
      session,
      canCreate: !session.readOnly && session.endpointIds.length === 0,
    }),
    [session],
  );
  const [brand, setBrand] = useState<{ name: string; logo: string }>({ name: "", logo: "" });
  useEffect(() => {
    portal.api.tenants.getTenant({ tenantId: session.tenantId }).then(
      ({ tenant }) => {
        setBrand({ name: tenant?.name ?? "", logo: tenant?.settings?.portal?.logoUrl ?? "" });
        applyBrand(tenant?.settings?.portal?.brandColor ?? "");
        document.title = `Webhooks · ${tenant?.name ?? session.tenantId}`;
      },
      () => undefined,
    );
  }, [portal, session.tenantId]);
  const route = parseRoute(props.rest);
  return (
    <PortalContext.Provider value={portal}>
      <header className="top">
        {brand.logo && <img src={brand.logo} alt="" referrerPolicy="no-referrer" />}
        <span className="name">{brand.name || session.tenantId} · Webhooks</span>
        <nav className="tabs" aria-label="Portal">
          <Link to={{ page: "endpoints" }} current={route.page === "endpoints" || route.page === "endpoint"}>
            Endpoints
          </Link>
          <Link to={{ page: "health" }} current={route.page === "health"}>
            Health
          </Link>
          <Link to={{ page: "events" }} current={route.page === "events" || route.page === "event"}>
            Message log
          </Link>
          <Link
            to={{ page: "event-types" }}
            current={route.page === "event-types" || route.page === "event-type"}
          >
            Event catalog
          </Link>
        </nav>
        <span className="spacer" />
        {session.readOnly && <span className="badge">read-only</span>}
        <button
          type="button"
          className="secondary"
          onClick={() => props.onTheme(props.theme === "dark" ? "light" : "dark")}
          aria-label={props.theme === "dark" ? "Use the light theme" : "Use the dark theme"}
        >
          {props.theme === "dark" ? "Light" : "Dark"}
        </button>
      </header>
      <main>
        {route.page === "endpoints" && <EndpointsPage />}
        {route.page === "endpoint" && <EndpointPage id={route.id} />}
        {route.page === "events" && <EventsPage />}
        {route.page === "event" && <EventPage id={route.id} />}
        {route.page === "event-types" && <EventTypesPage />}
        {route.page === "event-type" && <EventTypePage name={route.name} />}
        {route.page === "health" && <HealthPage />}
      </main>
    </PortalContext.Provider>
  );
}
