import { useCallback, useState } from "react";

/** The page tokens walked so far: the last one is the page shown, "" the first page. */
export function usePageTokens() {
  const [tokens, setTokens] = useState<string[]>([""]);
  const reset = useCallback(() => setTokens([""]), []);
  return { tokens, setTokens, pageToken: tokens.at(-1) ?? "", reset };
}

export type PageTokens = ReturnType<typeof usePageTokens>;

/**
 * Back and forth through a list the server pages with tokens: back pops the last token, forward pushes
 * the page's `nextPageToken` (empty on the last page).
 */
export function Pager(props: {
  pages: PageTokens;
  nextPageToken: string | undefined;
  labels?: { back: string; forward: string };
}) {
  const { tokens, setTokens } = props.pages;
  const labels = props.labels ?? { back: "Newer", forward: "Older" };
  const next = props.nextPageToken ?? "";
  return (
    <div className="pager">
      <button
        type="button"
        className="secondary"
        disabled={tokens.length < 2}
        onClick={() => setTokens((t) => t.slice(0, -1))}
      >
        {labels.back}
      </button>
      <button
        type="button"
        className="secondary"
        disabled={next === ""}
        onClick={() => setTokens((t) => [...t, next])}
      >
        {labels.forward}
      </button>
    </div>
  );
}
