/** What `fn` throws, as its message; "accepted" when it returns: the input parsers' tests compare these. */
export function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return "accepted";
}
