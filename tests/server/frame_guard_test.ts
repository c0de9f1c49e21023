/**
 * The socket's bounds, enforced while reading: a frame that claims too much,
 * a header that never ends, a slow frame or a silent new connection closes
 * the connection before anything large is buffered; well-formed messages in
 * any chunking pass untouched to vscode-jsonrpc's reader.
 */
import assert from "node:assert/strict";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { SocketMessageReader } from "vscode-jsonrpc/node";
import { guardFrames } from "../../engine/server/frame_guard.ts";

const LIMITS = { maxFrameBytes: 1024, firstMessageMs: 300, frameMs: 300 };

/** A server socket guarded with LIMITS, the client end, and what the guard and reader saw. */
async function guarded() {
  const path = join(await Deno.makeTempDir(), "guard.sock");
  const accepted = Promise.withResolvers<Socket>();
  const violations: string[] = [];
  const messages: unknown[] = [];
  const closed = Promise.withResolvers<void>();
  const server = createServer((socket) => {
    guardFrames(socket, LIMITS, (reason) => violations.push(reason));
    new SocketMessageReader(socket).listen((message) => messages.push(message));
    socket.on("close", () => closed.resolve());
    accepted.resolve(socket);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const client = connect(path);
  client.on("error", () => undefined);
  await accepted.promise;
  const stop = async () => {
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return { client, violations, messages, closed: closed.promise, stop };
}

function frame(body: string): string {
  return `Content-Length: ${new TextEncoder().encode(body).length}\r\n\r\n${body}`;
}

Deno.test("guardFrames() passes well-formed messages in any chunking", async () => {
  const { client, violations, messages, stop } = await guarded();
  const stream = frame('{"jsonrpc":"2.0","method":"a","params":{"x":"é"}}') +
    frame('{"jsonrpc":"2.0","method":"b"}') + frame("");
  for (let at = 0; at < stream.length; at += 7) client.write(stream.slice(at, at + 7));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(violations, []);
  assert.equal(messages.length, 2, "the empty frame is the reader's to refuse");
  await stop();
});

Deno.test("guardFrames() closes at a header claiming more than the frame limit", async () => {
  const { client, violations, closed, stop } = await guarded();
  client.write("Content-Length: 2000000000\r\n\r\n{");
  await closed;
  assert.match(violations[0], /2000000000-byte message \(the limit is 1024\)/);
  await stop();
});

Deno.test("guardFrames() closes at a header block that never ends", async () => {
  const { client, violations, closed, stop } = await guarded();
  client.write(`X-Padding: ${"a".repeat(9000)}`);
  await closed;
  assert.match(violations[0], /header block over 8 KB/);
  await stop();
});

Deno.test("guardFrames() closes a connection that sends no whole message in time", async () => {
  const { violations, closed, stop } = await guarded();
  await closed;
  assert.match(violations[0], /no whole message within 300 ms/);
  await stop();
});

Deno.test("guardFrames() closes a connection whose message stalls halfway", async () => {
  const { client, violations, messages, closed, stop } = await guarded();
  client.write(frame('{"jsonrpc":"2.0","method":"a"}'));
  await new Promise((resolve) => setTimeout(resolve, 400));
  assert.equal(messages.length, 1, "an idle connection after a whole message stays open");
  assert.deepEqual(violations, []);
  client.write("Content-Length: 100\r\n\r\n{");
  await closed;
  assert.match(violations[0], /took over 300 ms/);
  await stop();
});
