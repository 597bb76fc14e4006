import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from "react";
import { type Api, errorText } from "./api.js";
import { navigate, type Route, routePath } from "./router.js";
import type { Session } from "./session.js";

/** What every page works with. */
export interface Portal {
  api: Api;
  session: Session;
  /** The session may create endpoints: not read-only and not limited to some. */
  canCreate: boolean;
}

export const PortalContext = createContext<Portal | undefined>(undefined);

export function usePortal(): Portal {
  const portal = useContext(PortalContext);
  if (!portal) throw new Error("outside the portal");
  return portal;
}

/** A link inside the portal: navigates without reloading the page. */
export function Link(props: { to: Route; children: ReactNode; current?: boolean }) {
  const { session } = usePortal();
  const href = routePath(session.tenantId, props.to);
  return (
    <a
      href={href}
      aria-current={props.current ? "page" : undefined}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(href);
      }}
    >
      {props.children}
    </a>
  );
}

/** Loads with `load` whenever `deps` change; `reload` runs it again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [generation, setGeneration] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller's deps decide when to load again
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (err: unknown) => live && setState({ error: errorText(err), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...state, reload };
}

/** Runs an action, keeping its error or its success note for display. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [note, setNote] = useState<string>();
  const run = useCallback(async (action: () => Promise<string | undefined>) => {
    setBusy(true);
    setError(undefined);
    setNote(undefined);
    try {
      setNote(await action());
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, note, run };
}

export function Feedback(props: { error?: string; note?: string }) {
  return (
    <>
      {props.error && (
        <p className="error" role="alert">
          {props.error}
        </p>
      )}
      {props.note && (
        <p className="notice" role="status">
          {props.note}
        </p>
      )}
    </>
  );
}

export function formatTime(ts: Timestamp | undefined): string {
  if (!ts) return "—";
  return timestampDate(ts).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/** A datetime-local input's value as a Date, or undefined when empty. */
export function localDate(value: string): Date | undefined {
  if (value === "") return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** JSON text indented for reading; text that is not JSON is returned as it is. */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
