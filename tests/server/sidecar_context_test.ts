/**
 * Completions that know the project: the sidecar indexes its workspace in the
 * background with the real embedder and puts what it retrieves into the real
 * model's repository-level prompt.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { CompleteRequest, StatusRequest } from "../../engine/protocol/mod.ts";
import {
  connectWithRetry,
  rpc,
  shutdown,
  spawnSidecar,
  waitForState,
} from "../_helpers/sidecar.ts";
import { fixtureProject } from "../_helpers/project.ts";

Deno.test("sidecar indexes its workspace and completes with context from other files", async (t) => {
  const workspace = await fixtureProject();
  const sidecar = await spawnSidecar({ workspace });
  const { socket } = await connectWithRetry(sidecar.expectedSocketPath, sidecar.child);
  const connection = rpc(socket);
  await connection.sendRequest("initialize", { workspaceRoot: workspace });
  await waitForState(connection, "ready");

  await t.step("status reports the index once the background walk is done", async () => {
    const deadline = Date.now() + 60_000;
    let status: StatusRequest.Result;
    do {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = await connection.sendRequest<StatusRequest.Result>("status", {});
    } while ((status.index.state !== "idle" || status.index.files === 0) && Date.now() < deadline);
    assert.equal(status.index.files, 5, "the five source files; ignored and binary files left out");
    assert.ok(status.index.chunks >= 5);
  });

  await t.step("complete carries the defining file as context and uses it", async () => {
    const uri = `file://${join(workspace, "report.py")}`;
    // Only the other file knows what the invoice module's total function is called.
    const text =
      "from billing import invoice\n\n\ndef print_total(items, tax_rate):\n    total = invoice.\n";
    const result = await connection.sendRequest<CompleteRequest.Result>("complete", {
      uri,
      text,
      position: { line: 4, character: 20 },
    });
    const paths = (result.context ?? []).map((chunk) => chunk.path);
    assert.ok(paths.includes("billing/invoice.py"), `context: ${paths.join(", ")}`);
    for (const chunk of result.context ?? []) {
      assert.ok(chunk.startLine >= 1 && chunk.endLine >= chunk.startLine && chunk.score > 0);
    }
    assert.ok(result.timings.retrieveMs > 0);
    assert.ok(result.timings.astMs > 0, "tree-sitter read the scopes and imports");
    assert.match(result.items[0]?.text ?? "", /compute_invoice_total\(/);
  });

  await t.step("a saved file is indexed and found at once", async () => {
    // A file the walk never saw: only the save can bring it into the index (nothing watches).
    const path = join(workspace, "web", "tokens.ts");
    const text =
      "export function rotateSessionToken(token: string): string {\n  return token + '!';\n}\n";
    await Deno.writeTextFile(path, text);
    let asked = 0;
    const contextPaths = async () => {
      const result = await connection.sendRequest<CompleteRequest.Result>("complete", {
        uri: `file://${join(workspace, "web", "login.ts")}`,
        // A new text each time: the same one would be answered from the cache, without retrieval.
        text: `const next = rotateSessionToken(\n// ${asked++}\n`,
        position: { line: 0, character: 32 },
        maxLines: 1,
      });
      return (result.context ?? []).map((chunk) => chunk.path);
    };
    assert.ok(!(await contextPaths()).includes("web/tokens.ts"), "not indexed before the save");
    await connection.sendNotification("document/didSave", { uri: `file://${path}`, text });
    const deadline = Date.now() + 20_000;
    let paths: string[] = [];
    while (!paths.includes("web/tokens.ts") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      paths = await contextPaths();
    }
    assert.ok(paths.includes("web/tokens.ts"), `context: ${paths.join(", ")}`);
  });

  assert.equal(await shutdown(connection, sidecar), 0);
});
