import type { IncomingMessage, ServerResponse } from "node:http";
import { checkDeclaredLength, concatChunks, payloadTooLarge } from "../receive/body.js";
import type { ReceiverResponse } from "../receive/receiver.js";

/**
 * Reads a Node request body up to the limit. Listens to events rather than async-iterating: leaving an
 * iterator early destroys the request and its socket, and the 413 could not be sent.
 */
export async function readNodeBody(request: IncomingMessage, maxBodyBytes: number): Promise<Uint8Array> {
  checkDeclaredLength(request.headers["content-length"], maxBodyBytes);
  return new Promise((resolve, reject) => {
    const parts: Uint8Array[] = [];
    let size = 0;
    const onData = (chunk: Uint8Array) => {
      size += chunk.length;
      if (size <= maxBodyBytes) {
        parts.push(chunk);
        return;
      }
      // Stop keeping chunks but let the stream flow, so the rest is drained rather than stalling the socket.
      request.off("data", onData);
      reject(payloadTooLarge(maxBodyBytes));
    };
    request.on("data", onData);
    request.once("end", () => resolve(concatChunks(parts, size)));
    request.once("error", reject);
    request.once("close", () => reject(new Error("The request closed before its body ended.")));
  });
}

/** Writes the answer; closes the connection when the body was not read to the end (e.g. on a 413). */
export function writeNodeResponse(
  request: IncomingMessage,
  response: ServerResponse,
  result: ReceiverResponse,
): void {
  const headers = request.complete ? result.headers : { ...result.headers, connection: "close" };
  response.writeHead(result.status, headers).end(result.body);
}
