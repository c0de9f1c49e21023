/**
 * Bounds on what a socket client may make the sidecar read, enforced while
 * reading: vscode-jsonrpc buffers whatever Content-Length a header claims and
 * waits forever for a frame to finish. This follows the same framing beside
 * the library's reader, and closes the connection at the first header that
 * claims too much, a header block that never ends, or a frame (or a first
 * message) that does not arrive in time.
 */
import type { Socket } from "node:net";

/** Longest header block (Content-Length and Content-Type lines) a client sends. */
const MAX_HEADER_BYTES = 8 * 1024;
const HEADER_END = new TextEncoder().encode("\r\n\r\n");

/** The bounds a guarded connection keeps. */
export interface FrameLimits {
  maxFrameBytes: number;
  firstMessageMs: number;
  frameMs: number;
}

/**
 * Watches `socket`'s incoming frames; calls `onViolation` with the reason and
 * destroys the socket when a bound is broken. Register it before the message
 * reader, so an oversized frame is refused before the reader buffers more
 * than the chunk at hand.
 */
export function guardFrames(
  socket: Socket,
  limits: FrameLimits,
  onViolation: (reason: string) => void,
): void {
  let header = new Uint8Array(0);
  /** Body bytes still to come of the current frame; -1 while reading a header. */
  let bodyLeft = -1;
  let messages = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const fail = (reason: string) => {
    clearTimeout(timer);
    onViolation(reason);
    socket.destroy();
  };
  const deadline = (ms: number, reason: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => fail(reason), ms);
  };
  deadline(limits.firstMessageMs, `no whole message within ${limits.firstMessageMs} ms`);
  socket.once("close", () => clearTimeout(timer));

  socket.on("data", (chunk: Uint8Array) => {
    let data = chunk;
    while (data.length > 0 && !socket.destroyed) {
      if (bodyLeft >= 0) {
        const taken = Math.min(bodyLeft, data.length);
        bodyLeft -= taken;
        data = data.subarray(taken);
        if (bodyLeft === 0) {
          bodyLeft = -1;
          messages++;
          clearTimeout(timer);
        }
        continue;
      }
      if (messages > 0 || header.length > 0) {
        deadline(limits.frameMs, `a message took over ${limits.frameMs} ms to arrive`);
      }
      const joined = new Uint8Array(header.length + data.length);
      joined.set(header);
      joined.set(data, header.length);
      const end = indexOf(joined, HEADER_END);
      if (end === -1) {
        if (joined.length > MAX_HEADER_BYTES) return fail("a header block over 8 KB");
        header = joined;
        return;
      }
      if (end > MAX_HEADER_BYTES) return fail("a header block over 8 KB");
      const text = new TextDecoder().decode(joined.subarray(0, end));
      const length = /(?:^|\r\n)content-length:\s*(\d+)\s*(?:\r\n|$)/i.exec(text)?.[1];
      if (length === undefined) return fail("a message without a Content-Length header");
      const claimed = Number(length);
      if (claimed > limits.maxFrameBytes) {
        return fail(`a ${claimed}-byte message (the limit is ${limits.maxFrameBytes})`);
      }
      header = new Uint8Array(0);
      bodyLeft = claimed;
      data = joined.subarray(end + HEADER_END.length);
      if (bodyLeft === 0) {
        bodyLeft = -1;
        messages++;
        clearTimeout(timer);
      }
    }
  });
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let at = 0; at + needle.length <= haystack.length; at++) {
    for (let k = 0; k < needle.length; k++) {
      if (haystack[at + k] !== needle[k]) continue outer;
    }
    return at;
  }
  return -1;
}
