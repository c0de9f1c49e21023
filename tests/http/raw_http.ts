/**
 * HTTP/1.1 by hand over TCP, for requests `fetch` will not send as written: a
 * foreign `Host`, a browser's `Origin`, a `Content-Length` with no body behind it.
 */

/** A response read off the wire. */
export interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
}

/**
 * Sends `head` (the request line and headers, without the blank line) and
 * `body` on a fresh connection, adding `Connection: close` and, for a body,
 * its `Content-Length` unless `head` declares one. Reads one response (its
 * `Content-Length` bytes, or to the end), and fails after `timeoutMs` rather
 * than wait forever on a server that is still reading.
 */
export async function rawRequest(
  port: number,
  head: string[],
  body = "",
  timeoutMs = 10_000,
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    const lines = [...head, "Connection: close"];
    if (body && !head.some((line) => /^content-length:/i.test(line))) {
      lines.push(`Content-Length: ${new TextEncoder().encode(body).length}`);
    }
    await conn.write(new TextEncoder().encode(`${lines.join("\r\n")}\r\n\r\n${body}`));
    let text = "";
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      const response = parse(text);
      if (response) return response;
      const read = await conn.read(buffer).catch(() => null);
      if (read === null) break;
      text += decoder.decode(buffer.subarray(0, read), { stream: true });
    }
    const response = parse(text, true);
    if (!response) throw new Error(`No response within ${timeoutMs} ms to ${head[0]}`);
    return response;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed already, by the timer.
    }
  }
}

/** The response in `text` once it is whole: its head and `Content-Length` bytes, or all at `end`. */
function parse(text: string, end = false): RawResponse | undefined {
  const split = text.indexOf("\r\n\r\n");
  if (split === -1) return undefined;
  const [statusLine, ...headerLines] = text.slice(0, split).split("\r\n");
  const headers = new Headers();
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const body = text.slice(split + 4);
  const length = headers.get("content-length");
  const whole = length === null ? end : new TextEncoder().encode(body).length >= Number(length);
  return whole ? { status: Number(statusLine.split(" ")[1]), headers, body } : undefined;
}
