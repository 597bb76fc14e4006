import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * A unary Connect JSON call made by the real `curl` binary, with `body` sent exactly as given: the
 * HTTP status and the JSON body of the answer.
 */
export async function curlConnectJson(url: string, body: string, token: string) {
  const { stdout } = await run("curl", [
    "-sS",
    "-w",
    "\n%{http_code}",
    "-H",
    "content-type: application/json",
    "-H",
    `authorization: Bearer ${token}`,
    "--data-binary",
    body,
    url,
  ]);
  const at = stdout.lastIndexOf("\n");
  return {
    status: Number(stdout.slice(at + 1)),
    json: JSON.parse(stdout.slice(0, at)) as Record<string, unknown>,
  };
}
