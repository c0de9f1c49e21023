/**
 * One engine behind every front door: `main.ts complete` on the command line,
 * the socket server and the language server give the same completion, with
 * the same project context, for the same document and cursor.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { CompleteRequest, StatusRequest } from "../engine/protocol/mod.ts";
import { fixtureProject } from "./_helpers/project.ts";
import {
  connectWithRetry,
  rpc,
  shutdown,
  spawnLsp,
  spawnSidecar,
  taskArgs,
  tempCacheDir,
} from "./_helpers/sidecar.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** Only another file of the project knows what the invoice module's total function is called. */
const TEXT =
  "from billing import invoice\n\n\ndef print_total(items, tax_rate):\n    total = invoice.\n";
const CURSOR = { line: 4, character: 20 };

Deno.test("the command line, the socket and LSP give the same completion at the same cursor", async () => {
  const root = await Deno.realPath(await fixtureProject());
  await Deno.mkdir(join(root, ".git"));
  const file = join(root, "report.py");
  await Deno.writeTextFile(file, TEXT);
  const uri = `file://${file}`;
  // One cache, used in turn: the CLI indexes the project, the servers find it current.
  const cacheDir = await tempCacheDir();

  const cli = await new Deno.Command(Deno.execPath(), {
    args: [
      ...await taskArgs("complete"),
      `${file}:${CURSOR.line + 1}:${CURSOR.character + 1}`,
      "--json",
    ],
    cwd: ROOT,
    env: { AST_COMPLETE_CACHE_DIR: cacheDir, NO_COLOR: "1" },
  }).output();
  assert.equal(cli.code, 0, new TextDecoder().decode(cli.stderr));
  const fromCli = JSON.parse(new TextDecoder().decode(cli.stdout)) as CompleteRequest.Result;
  const contextPaths = (result: CompleteRequest.Result) =>
    [...new Set((result.context ?? []).map((chunk) => chunk.path))].sort();
  assert.ok(
    contextPaths(fromCli).includes("billing/invoice.py"),
    "the command line indexed the git root around FILE and used it",
  );

  const sidecar = await spawnSidecar({ workspace: root, cacheDir });
  const { socket } = await connectWithRetry(sidecar.expectedSocketPath, sidecar.child);
  const connection = rpc(socket);
  await connection.sendRequest("initialize", { workspaceRoot: root });
  let status: StatusRequest.Result;
  do {
    await new Promise((resolve) => setTimeout(resolve, 100));
    status = await connection.sendRequest<StatusRequest.Result>("status", {});
  } while (status.index.state !== "idle" || status.index.files === 0);
  const fromSocket = await connection.sendRequest<CompleteRequest.Result>("complete", {
    uri,
    text: TEXT,
    position: CURSOR,
  });
  assert.equal(await shutdown(connection, sidecar), 0);

  const lsp = await spawnLsp(root, cacheDir);
  // Work-done progress says when the model is loaded and the project indexed.
  const indexed = Promise.withResolvers<void>();
  const running = new Map<string | number, string>();
  const ended = new Set<string>();
  lsp.connection.onRequest("window/workDoneProgress/create", () => null);
  lsp.connection.onNotification(
    "$/progress",
    (params: { token: string | number; value: { kind: string; message?: string } }) => {
      if (params.value.kind === "begin") running.set(params.token, params.value.message ?? "");
      if (params.value.kind !== "end") return;
      ended.add(running.get(params.token) ?? "");
      if (ended.has("Loading model") && ended.has("Indexing")) indexed.resolve();
    },
  );
  lsp.connection.listen();
  await lsp.connection.sendRequest("initialize", {
    processId: null,
    rootUri: `file://${root}`,
    capabilities: { window: { workDoneProgress: true } },
  });
  await lsp.connection.sendNotification("initialized", {});
  await lsp.connection.sendNotification("textDocument/didOpen", {
    textDocument: { uri, languageId: "python", version: 1, text: TEXT },
  });
  await indexed.promise;
  const list = await lsp.connection.sendRequest<{ items: { textEdit: { newText: string } }[] }>(
    "textDocument/completion",
    { textDocument: { uri }, position: CURSOR },
  );
  await lsp.connection.sendRequest("shutdown");
  await lsp.connection.sendNotification("exit");
  assert.equal(await lsp.exited, 0);

  const suggestion = fromCli.items[0]?.text;
  assert.match(suggestion ?? "", /compute_invoice_total/);
  assert.equal(fromSocket.items[0]?.text, suggestion, "socket = command line");
  assert.deepEqual(contextPaths(fromSocket), contextPaths(fromCli));
  assert.equal(list.items[0]?.textEdit.newText, suggestion, "LSP = command line");
});
