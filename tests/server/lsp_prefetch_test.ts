/**
 * The language server's head start, in process with the real default model:
 * LSP sends no cursor, so an edit that inserts a line break (Enter) makes the
 * completion at its end ahead, and the request that follows there gets it; a
 * key typed makes nothing ahead.
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from "vscode-jsonrpc/node";
import { loadConfig } from "../../engine/config/mod.ts";
import { createEngine } from "../../engine/engine.ts";
import { startLspServer } from "../../engine/lsp/mod.ts";
import { createLogger } from "../../engine/log/mod.ts";
import { tempCacheDir } from "../_helpers/sidecar.ts";

Deno.test({
  name: "LSP: Enter makes the completion on the new line ahead; a key typed does not",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const cacheDir = await tempCacheDir();
    const workspace = await Deno.makeTempDir({ prefix: "ast-complete-lsp-prefetch-" });
    const log = createLogger("test", "error");
    const engine = createEngine(loadConfig({ cacheDir }), log, { workspace });
    const toServer = new PassThrough();
    const fromServer = new PassThrough();
    const server = startLspServer({ engine, log, input: toServer, output: fromServer });
    const client = createMessageConnection(
      new StreamMessageReader(fromServer),
      new StreamMessageWriter(toServer),
    );
    client.listen();
    engine.models.start();
    const never = new AbortController().signal;
    try {
      await client.sendRequest("initialize", { processId: null, rootUri: null, capabilities: {} });
      await client.sendNotification("initialized", {});
      const uri = `file://${workspace}/cart.py`;
      const opened = "def total(prices):\n    amount = sum(prices)\n\n\nprint(total([1, 2]))\n";
      await client.sendNotification("textDocument/didOpen", {
        textDocument: { uri, languageId: "python", version: 1, text: opened },
      });
      await engine.models.ready(never, 120_000);
      /** Sends the whole new text and waits until the server holds it. */
      const change = async (version: number, text: string) => {
        await client.sendNotification("textDocument/didChange", {
          textDocument: { uri, version },
          contentChanges: [{ text }],
        });
        for (let i = 0; i < 200 && server.session.documentText(uri) !== text; i++) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        assert.equal(server.session.documentText(uri), text);
      };

      // Enter at the end of `amount = ...`, the editor indenting the new line.
      const entered = opened.replace("sum(prices)\n", "sum(prices)\n    \n");
      await change(2, entered);
      const onNewLine = { line: 2, character: 4 };
      const ahead = await server.session.complete({ uri, position: onNewLine }, never);
      assert.equal(ahead.timings.prefetched, true, "made ahead after Enter");

      // One key typed: the editor's own request covers it, nothing is made ahead there.
      const typed = entered.replace("sum(prices)\n    \n", "sum(prices)\n    r\n");
      await change(3, typed);
      const afterKey = await server.session.complete(
        { uri, position: { line: 2, character: 5 } },
        never,
      );
      assert.equal(afterKey.timings.prefetched, undefined);
    } finally {
      client.dispose();
      await engine.close();
      server.connection.dispose();
      await Deno.remove(workspace, { recursive: true });
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});
