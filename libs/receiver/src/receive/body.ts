/** Why a request body was not read; the receiver answers it as `{ error: code, message }`. */
export class BodyRejectedError extends Error {
  readonly status: number;
  readonly code: "payload_too_large" | "body_already_parsed";

  constructor(status: number, code: BodyRejectedError["code"], message: string) {
    super(message);
    this.name = "BodyRejectedError";
    this.status = status;
    this.code = code;
  }
}

export function payloadTooLarge(maxBodyBytes: number): BodyRejectedError {
  return new BodyRejectedError(
    413,
    "payload_too_large",
    `The body is larger than maxBodyBytes (${maxBodyBytes} bytes); raise the limit if such webhooks are expected.`,
  );
}

/** Fails before reading when the declared Content-Length is already over the limit. */
export function checkDeclaredLength(contentLength: string | null | undefined, maxBodyBytes: number): void {
  if (contentLength && Number(contentLength) > maxBodyBytes) throw payloadTooLarge(maxBodyBytes);
}

/** Collects chunks into one array, failing as soon as the total passes the limit. */
export async function collectChunks(
  chunks: AsyncIterable<Uint8Array>,
  maxBodyBytes: number,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.length;
    if (size > maxBodyBytes) throw payloadTooLarge(maxBodyBytes);
    parts.push(chunk);
  }
  return concatChunks(parts, size);
}

export function concatChunks(parts: readonly Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1 && parts[0] !== undefined) return parts[0];
  const body = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    body.set(part, offset);
    offset += part.length;
  }
  return body;
}
