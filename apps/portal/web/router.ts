import { useEffect, useState } from "react";

/** Paths inside the portal, below /t/<tenant>. */
export type Route =
  | { page: "endpoints" }
  | { page: "endpoint"; id: string }
  | { page: "events" }
  | { page: "event"; id: string }
  | { page: "event-types" }
  | { page: "event-type"; name: string }
  | { page: "health" };

export function parseRoute(rest: string): Route {
  const parts = rest.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "endpoints" && parts[1]) return { page: "endpoint", id: parts[1] };
  if (parts[0] === "events" && parts[1]) return { page: "event", id: parts[1] };
  if (parts[0] === "events") return { page: "events" };
  if (parts[0] === "event-types" && parts[1]) return { page: "event-type", name: parts[1] };
  if (parts[0] === "event-types") return { page: "event-types" };
  if (parts[0] === "health") return { page: "health" };
  return { page: "endpoints" };
}

export function routePath(tenantId: string, route: Route): string {
  const base = `/t/${tenantId}`;
  switch (route.page) {
    case "endpoints":
      return `${base}/endpoints`;
    case "endpoint":
      return `${base}/endpoints/${encodeURIComponent(route.id)}`;
    case "events":
      return `${base}/events`;
    case "event":
      return `${base}/events/${encodeURIComponent(route.id)}`;
    case "event-types":
      return `${base}/event-types`;
    case "event-type":
      return `${base}/event-types/${encodeURIComponent(route.name)}`;
    case "health":
      return `${base}/health`;
  }
}

/** The current path, following pushState navigation and the back button. */
export function usePathname(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    addEventListener("popstate", update);
    addEventListener("portal:navigate", update);
    return () => {
      removeEventListener("popstate", update);
      removeEventListener("portal:navigate", update);
    };
  }, []);
  return path;
}

export function navigate(path: string): void {
  history.pushState(null, "", path);
  dispatchEvent(new Event("portal:navigate"));
  scrollTo(0, 0);
}
