/**
 * The VS Code extension's prefetch decisions, outside VS Code: which editor
 * events send `document/prefetch`, where, and after what debounce; and the
 * client's notification on the wire, after the document it needs.
 */
import assert from "node:assert/strict";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import {
  createMessageConnection,
  SocketMessageReader,
  SocketMessageWriter,
} from "vscode-jsonrpc/node";
import { SidecarClient } from "../../adapters/vscode/src/client.ts";
import {
  PREFETCH_DELAY_MS,
  Prefetcher,
  type PrefetchTarget,
  type PrefetchTimer,
} from "../../adapters/vscode/src/prefetch.ts";
import { DocumentNotification } from "../../engine/protocol/mod.ts";

/** Timers run by hand: `advance` fires whatever falls due, in order. */
class FakeTimer implements PrefetchTimer {
  now = 0;
  #timers = new Map<number, { at: number; callback: () => void }>();
  #next = 1;

  set(callback: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.now + ms, callback });
    return id;
  }

  clear(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  get waiting(): number {
    return this.#timers.size;
  }

  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.#timers].filter(([, timer]) => timer.at <= end)
        .sort(([, a], [, b]) => a.at - b.at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.now = due[1].at;
      due[1].callback();
    }
    this.now = end;
  }
}

const A = "file:///project/a.ts";
const B = "file:///project/b.py";
const at = (uri: string, line: number, character: number): PrefetchTarget => ({
  uri,
  line,
  character,
});

function setup() {
  const timer = new FakeTimer();
  const sent: PrefetchTarget[] = [];
  const prefetcher = new Prefetcher<PrefetchTarget>({ send: (t) => sent.push(t), timer });
  return { timer, sent, prefetcher };
}

Deno.test("prefetch: a move within the line of the last completion or prefetch sends nothing", () => {
  const { timer, sent, prefetcher } = setup();
  prefetcher.completing(A, 3);
  for (const character of [0, 5, 12, 4]) {
    prefetcher.moved(at(A, 3, character));
    timer.advance(50);
  }
  timer.advance(10_000);
  assert.deepEqual(sent, []);
  assert.equal(timer.waiting, 0, "nothing left waiting");

  // Nor within the line of the last prefetch.
  prefetcher.moved(at(A, 9, 0));
  timer.advance(PREFETCH_DELAY_MS);
  assert.deepEqual(sent, [at(A, 9, 0)]);
  prefetcher.moved(at(A, 9, 7));
  prefetcher.moved(at(A, 9, 2));
  timer.advance(10_000);
  assert.deepEqual(sent, [at(A, 9, 0)]);
});

Deno.test("prefetch: a move to another line sends one, once the debounce has passed", () => {
  const { timer, sent, prefetcher } = setup();
  prefetcher.completing(A, 3);
  prefetcher.moved(at(A, 4, 2));
  timer.advance(PREFETCH_DELAY_MS - 1);
  assert.deepEqual(sent, [], "not before the debounce");
  assert.deepEqual(prefetcher.pending, at(A, 4, 2));
  timer.advance(1);
  assert.deepEqual(sent, [at(A, 4, 2)]);
  assert.equal(prefetcher.pending, undefined);
  timer.advance(10_000);
  assert.equal(sent.length, 1, "sent once");
});

Deno.test("prefetch: a burst of moves sends one, where the burst ended", () => {
  const { timer, sent, prefetcher } = setup();
  prefetcher.completing(A, 3);
  for (const line of [4, 5, 6, 7, 8]) {
    prefetcher.moved(at(A, line, 0));
    timer.advance(PREFETCH_DELAY_MS - 10);
  }
  // The cursor goes on to the end of the last line before the burst settles.
  prefetcher.moved(at(A, 8, 20));
  timer.advance(PREFETCH_DELAY_MS - 1);
  assert.deepEqual(sent, [], "each move restarts the debounce");
  timer.advance(1);
  assert.deepEqual(sent, [at(A, 8, 20)]);

  // A burst that ends back on the line of the last prefetch sends nothing.
  prefetcher.moved(at(A, 9, 0));
  prefetcher.moved(at(A, 10, 0));
  prefetcher.moved(at(A, 8, 3));
  timer.advance(10_000);
  assert.deepEqual(sent, [at(A, 8, 20)]);
});

Deno.test("prefetch: focusing another document sends one at its cursor", () => {
  const { timer, sent, prefetcher } = setup();
  prefetcher.completing(A, 3);
  prefetcher.focused(at(B, 10, 4));
  // The selection event VS Code may send for the newly active editor changes nothing.
  prefetcher.moved(at(B, 10, 4));
  timer.advance(PREFETCH_DELAY_MS);
  assert.deepEqual(sent, [at(B, 10, 4)]);

  // Back to A, typing there, off to B and back before B's went: A's cursor is on the line of
  // its last completion, and focusing sends all the same.
  prefetcher.focused(at(A, 3, 1));
  prefetcher.completing(A, 3);
  prefetcher.focused(at(B, 10, 4));
  timer.advance(50);
  prefetcher.focused(at(A, 3, 1));
  timer.advance(PREFETCH_DELAY_MS);
  assert.deepEqual(sent, [at(B, 10, 4), at(A, 3, 1)]);

  // Switching through editors quickly sends one, for the editor it ends on.
  prefetcher.focused(at(B, 10, 4));
  timer.advance(50);
  prefetcher.focused(at(A, 30, 0));
  timer.advance(50);
  prefetcher.focused(at(B, 2, 0));
  timer.advance(PREFETCH_DELAY_MS);
  assert.deepEqual(sent.slice(2), [at(B, 2, 0)]);

  // An editor not to complete in (no editor, a language turned off) drops what was waiting.
  prefetcher.moved(at(B, 40, 0));
  prefetcher.focused(undefined);
  timer.advance(10_000);
  assert.equal(sent.length, 3);
});

Deno.test("prefetch: an accept sends one at once at the new position", () => {
  const { timer, sent, prefetcher } = setup();
  prefetcher.completing(A, 3);
  // VS Code moves the cursor to the end of the inserted lines, then runs the accept command.
  prefetcher.moved(at(A, 6, 9));
  prefetcher.accepted(at(A, 6, 9));
  assert.deepEqual(sent, [at(A, 6, 9)], "no debounce");
  timer.advance(10_000);
  assert.deepEqual(sent, [at(A, 6, 9)], "the move's own prefetch was dropped");

  // The selection event, should it come after the command, sends nothing more; nor does
  // the request the editor makes there.
  prefetcher.moved(at(A, 6, 9));
  prefetcher.completing(A, 6);
  timer.advance(10_000);
  assert.deepEqual(sent, [at(A, 6, 9)]);

  // An accept on the same line (a one-line suggestion) sends too.
  prefetcher.accepted(at(A, 6, 30));
  assert.deepEqual(sent, [at(A, 6, 9), at(A, 6, 30)]);
});

Deno.test("prefetch: the editor's own request drops a waiting prefetch", () => {
  const { timer, sent, prefetcher } = setup();
  // Enter: the cursor is on a new line, and typing there asks for a completion.
  prefetcher.completing(A, 3);
  prefetcher.moved(at(A, 4, 0));
  timer.advance(60);
  prefetcher.completing(A, 4);
  timer.advance(10_000);
  assert.deepEqual(sent, []);

  // Text selected is no place to complete.
  prefetcher.moved(at(A, 7, 0));
  prefetcher.moved(undefined);
  timer.advance(10_000);
  assert.deepEqual(sent, []);

  prefetcher.moved(at(A, 8, 0));
  prefetcher.dispose();
  timer.advance(10_000);
  assert.deepEqual(sent, []);
  assert.equal(timer.waiting, 0);
});

Deno.test("prefetch: a failing send never throws out of an event", () => {
  const timer = new FakeTimer();
  let tries = 0;
  const prefetcher = new Prefetcher<PrefetchTarget>({
    send: () => {
      tries++;
      throw new Error("connection closed");
    },
    timer,
  });
  prefetcher.accepted(at(A, 1, 0));
  prefetcher.moved(at(A, 2, 0));
  timer.advance(PREFETCH_DELAY_MS);
  assert.equal(tries, 2);
  // It counts as sent: the same line does not try again.
  prefetcher.moved(at(A, 2, 5));
  timer.advance(10_000);
  assert.equal(tries, 2);
});

Deno.test("prefetch: the default timer is the real one", async () => {
  const sent: PrefetchTarget[] = [];
  const prefetcher = new Prefetcher<PrefetchTarget>({ send: (t) => sent.push(t), delayMs: 20 });
  prefetcher.moved(at(A, 1, 0));
  prefetcher.moved(at(A, 2, 0));
  assert.deepEqual(sent, []);
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.deepEqual(sent, [at(A, 2, 0)]);
});

Deno.test("the client sends document/prefetch after the document it needs", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "sidecar.sock");
  const received: { method: string; params: unknown }[] = [];
  let gotPrefetch!: () => void;
  const prefetched = new Promise<void>((resolve) => gotPrefetch = resolve);
  let serverSocket: Socket | undefined;
  const server = createServer((socket) => {
    serverSocket = socket;
    const connection = createMessageConnection(
      new SocketMessageReader(socket),
      new SocketMessageWriter(socket),
    );
    connection.onNotification((method, params) => {
      received.push({ method, params });
      if (method === DocumentNotification.prefetch) gotPrefetch();
    });
    connection.listen();
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const socket = connect(path);
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  const client = new SidecarClient(socket);

  const document = {
    uri: "file:///project/a.ts",
    languageId: "typescript",
    version: 3,
    getText: () => "const a = 1;\n",
  };
  client.sync(document);
  await client.prefetch({
    uri: document.uri,
    position: { line: 1, character: 0 },
    maxLines: 4,
  });
  await prefetched;
  assert.deepEqual(received, [
    {
      method: DocumentNotification.didOpen,
      params: { uri: document.uri, languageId: "typescript", version: 3, text: "const a = 1;\n" },
    },
    {
      method: DocumentNotification.prefetch,
      params: { uri: document.uri, position: { line: 1, character: 0 }, maxLines: 4 },
    },
  ]);

  client.dispose();
  socket.destroy();
  serverSocket?.destroy();
  await new Promise((resolve) => server.close(resolve));
  await Deno.remove(dir, { recursive: true });
});
