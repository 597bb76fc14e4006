import { Code, ConnectError } from "@connectrpc/connect";
import { useEffect, useState } from "react";
import { errorText } from "../api.js";
import type { UrlCheck } from "../forms.js";

/** How long typing must pause before the URL is sent to be checked. */
export const URL_CHECK_DELAY_MS = 400;

/**
 * The URL policy's answer for `url` as it is typed: `check` asks the server (which alone knows the
 * operator's allowlist and resolves the host), once typing pauses for `delayMs`; a newer URL discards
 * an older answer.
 */
export function useUrlCheck(
  url: string,
  check: (url: string) => Promise<unknown>,
  delayMs = URL_CHECK_DELAY_MS,
): UrlCheck {
  const [answer, setAnswer] = useState<UrlCheck>({ state: "empty" });
  // biome-ignore lint/correctness/useExhaustiveDependencies: `check` is recreated on every render
  useEffect(() => {
    if (url.trim() === "") {
      setAnswer({ state: "empty" });
      return;
    }
    let live = true;
    setAnswer({ state: "checking" });
    const timer = setTimeout(() => {
      check(url.trim()).then(
        () => live && setAnswer({ state: "allowed" }),
        (err: unknown) => {
          if (!live) return;
          const refused = err instanceof ConnectError && err.code === Code.InvalidArgument;
          setAnswer({ state: refused ? "refused" : "failed", reason: errorText(err) });
        },
      );
    }, delayMs);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [url, delayMs]);
  return answer;
}
