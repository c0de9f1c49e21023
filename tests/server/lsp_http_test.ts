/**
 * `main.ts lsp` for real, with the real model: an LSP client drives
 * initialize → didOpen → completion and inlineCompletion → didChange →
 * cancel → shutdown/exit over stdio, and the OpenAI-compatible endpoint
 * beside it answers a FIM request in exactly the shape Zed sends (streamed
 * and not), with the bearer token from the private token file (never in the
 * process's arguments), refuses the reported attack (foreign Host and Origin,
 * no token), rejects bad requests with OpenAI-style errors, and refuses to
 * bind beyond loopback.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { CancellationTokenSource, ResponseError, Trace } from "vscode-jsonrpc/node";
import { tokenPath } from "../../engine/http/token.ts";
import { spawnLsp, taskArgs, tempCacheDir } from "../_helpers/sidecar.ts";
import { rawRequest } from "../http/raw_http.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The fields of an LSP completion item this test reads. */
interface LspItem {
  labelDetails: { description: string };
  insertTextFormat: number;
  textEdit: { range: unknown; newText: string };
}
const ARTIFACTS = join(ROOT, "test-artifacts", "lsp-http");

/** The stop list Zed's FIM providers send (crates/edit_prediction/src/fim.rs). */
const ZED_STOP = [
  "<|endoftext|>",
  "<|file_separator|>",
  "<|fim_pad|>",
  "<|fim_prefix|>",
  "<|fim_middle|>",
  "<|fim_suffix|>",
  "<fim_prefix>",
  "<fim_middle>",
  "<fim_suffix>",
  "<PRE>",
  "<SUF>",
  "<MID>",
  "[PREFIX]",
  "[SUFFIX]",
];

Deno.test("the endpoint refuses to listen beyond loopback", async () => {
  const child = spawn(Deno.execPath(), [
    ...await taskArgs("lsp"),
    "--http-port",
    "0",
    "--http-host",
    "0.0.0.0",
  ], {
    cwd: ROOT,
    env: { ...Deno.env.toObject(), NO_COLOR: "1" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => stderr += chunk);
  const code = await new Promise((resolve) => child.once("exit", resolve));
  assert.equal(code, 1);
  assert.match(stderr, /loopback only .* not 0\.0\.0\.0/);
});

Deno.test("main.ts lsp: an LSP session and /v1/completions on the same engine", async (t) => {
  const cacheDir = await tempCacheDir();
  const workspace = await Deno.makeTempDir({ prefix: "ast-complete-lsp-" });
  await Deno.writeTextFile(
    join(workspace, "prices.py"),
    "def total_with_tax(prices: list[float], rate: float) -> float:\n    return sum(prices) * (1 + rate)\n",
  );
  const uri = `file://${workspace}/shop.py`;
  const text = "from prices import total_with_tax\n\n\ndef checkout(cart):\n    amount = \n";
  const cursor = { line: 4, character: 13 };
  const EDITED = "amount = len(cart) * \n    tax = \n";
  const lsp = await spawnLsp(workspace, cacheDir);
  const { connection } = lsp;
  const progress: { kind: string; message?: string }[] = [];
  connection.onRequest("window/workDoneProgress/create", () => null);
  connection.onNotification(
    "$/progress",
    (params: { value: { kind: string; message?: string } }) => {
      progress.push(params.value);
    },
  );
  // The session's transcript, kept as a test artifact.
  const transcript: string[] = [];
  const started = performance.now();
  await connection.trace(Trace.Verbose, {
    log: (message: string, data?: string) => {
      const at = `${Math.round(performance.now() - started)}`.padStart(6);
      transcript.push(`${at} ms  ${message}${data ? `\n${data.slice(0, 600)}` : ""}`);
    },
  });
  connection.listen();
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      timings[name] = Math.round(performance.now() - started);
    }
  };
  try {
    await t.step("initialize announces completion and inline completion", async () => {
      const result = await timed(
        "initialize",
        () =>
          connection.sendRequest<{ capabilities: Record<string, unknown> }>("initialize", {
            processId: null,
            rootUri: `file://${workspace}`,
            capabilities: { window: { workDoneProgress: true } },
            clientInfo: { name: "test" },
          }),
      );
      assert.ok(result.capabilities.completionProvider);
      assert.equal(result.capabilities.inlineCompletionProvider, true);
      await connection.sendNotification("initialized", {});
      await connection.sendNotification("textDocument/didOpen", {
        textDocument: { uri, languageId: "python", version: 1, text },
      });
    });

    let suggestion = "";
    await t.step("textDocument/completion: one plain-text item marked as AI", async () => {
      const list = await timed(
        "completion",
        () =>
          connection.sendRequest<{ isIncomplete: boolean; items: LspItem[] }>(
            "textDocument/completion",
            { textDocument: { uri }, position: cursor },
          ),
      );
      const [item] = list.items;
      assert.ok(item, "a completion item");
      assert.equal(item.labelDetails.description, "AI");
      assert.equal(item.insertTextFormat, 1, "plain text, not a snippet");
      assert.deepEqual(item.textEdit.range, { start: cursor, end: cursor });
      suggestion = item.textEdit.newText;
      assert.ok(suggestion.trim(), "a real suggestion");
    });

    await t.step(
      "textDocument/inlineCompletion gives the same suggestion as ghost text",
      async () => {
        const result = await timed(
          "inlineCompletion",
          () =>
            connection.sendRequest<{ items: { insertText: string }[] }>(
              "textDocument/inlineCompletion",
              {
                textDocument: { uri },
                position: cursor,
                context: { triggerKind: 2 },
              },
            ),
        );
        assert.equal(result.items[0]?.insertText, suggestion);
      },
    );

    await t.step("didChange, then an inline completion on the new text", async () => {
      const typed = text.replace("amount = \n", EDITED);
      await connection.sendNotification("textDocument/didChange", {
        textDocument: { uri, version: 2 },
        contentChanges: [{ text: typed }],
      });
      const result = await timed(
        "inlineCompletion after didChange",
        () =>
          connection.sendRequest<{ items: { insertText: string }[] }>(
            "textDocument/inlineCompletion",
            {
              textDocument: { uri },
              position: { line: 4, character: 25 },
              context: { triggerKind: 2 },
            },
          ),
      );
      assert.ok(result.items[0]?.insertText.trim(), "a suggestion after the edit");
    });

    await t.step("$/cancelRequest cancels a completion", async () => {
      const source = new CancellationTokenSource();
      const request = connection.sendRequest("textDocument/inlineCompletion", {
        textDocument: { uri },
        position: { line: 3, character: 0 },
        context: { triggerKind: 1 },
      }, source.token);
      source.cancel();
      await assert.rejects(request, (error: ResponseError<unknown>) => error.code === -32800);
    });

    const endpoint = await lsp.url;
    const port = Number(new URL(endpoint).port);
    let token = "";
    await t.step("the token is in a private file, never in the process's arguments", async () => {
      const path = tokenPath(cacheDir);
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
      token = (await Deno.readTextFile(path)).trim();
      assert.match(token, /^[A-Za-z0-9_-]{43}$/);
      // What every local user can read of the process (Deno itself reads /proc only with -A).
      const read = await new Deno.Command("cat", { args: [`/proc/${lsp.child.pid}/cmdline`] })
        .output();
      const cmdline = new TextDecoder().decode(read.stdout);
      assert.ok(cmdline.includes("--http-port"), "the process's own command line");
      assert.ok(!cmdline.includes(token), "no token in argv");
      assert.ok(!lsp.stderr().includes(token), "no token in the log");
    });
    const auth = () => ({ authorization: `Bearer ${token}` });

    await t.step("the reported attack is refused: foreign Host and Origin, no token", async () => {
      const attack = await rawRequest(port, [
        "POST /v1/completions HTTP/1.1",
        `Host: evil.example:${port}`,
        "Origin: http://evil.example",
        "Content-Type: text/plain",
      ], JSON.stringify({ model: "ast-complete", prompt: "<|fim_prefix|>x<|fim_suffix|>" }));
      assert.equal(attack.status, 403, attack.body);
      const noToken = await fetch(`${endpoint}/models`);
      assert.equal(noToken.status, 401);
      await noToken.body?.cancel();
      const fromPage = await rawRequest(port, [
        "GET /v1/models HTTP/1.1",
        `Host: 127.0.0.1:${port}`,
        "Origin: http://evil.example",
        `Authorization: Bearer ${token}`,
      ]);
      assert.equal(fromPage.status, 403, "a page holding the token is refused too");
      for (const response of [attack, noToken, fromPage]) {
        assert.ok(![...response.headers.keys()].some((name) => name.startsWith("access-control-")));
      }
    });

    await t.step("GET /v1/models lists the model", async () => {
      const models = await (await fetch(`${endpoint}/models`, { headers: auth() })).json();
      assert.ok(models.data.some((model: { id: string }) => model.id === "ast-complete"));
    });

    // Cut from the open document, as Zed cuts its excerpt around the cursor.
    // A new cursor (the `tax = ` line), so the model answers rather than the cache.
    const typed = text.replace("amount = \n", EDITED);
    const offset = typed.indexOf("tax = ") + "tax = ".length;
    const zedBody = {
      model: "ast-complete",
      prompt: `<|fim_prefix|>${typed.slice(0, offset)}<|fim_suffix|>${
        typed.slice(offset)
      }<|fim_middle|>`,
      max_tokens: 64,
      stop: ZED_STOP,
    };
    let completed = "";
    await t.step("POST /v1/completions answers Zed's request from the open document", async () => {
      const response = await timed("/v1/completions", () =>
        fetch(`${endpoint}/completions`, {
          method: "POST",
          headers: { ...auth(), "content-type": "application/json" },
          body: JSON.stringify(zedBody),
        }));
      assert.equal(response.status, 200);
      assert.equal(
        response.headers.get("x-ast-complete-document"),
        uri,
        "matched to the open document",
      );
      const body = await response.json();
      for (const field of ["id", "object", "created", "model", "choices", "usage"]) {
        assert.ok(field in body, field);
      }
      assert.equal(body.object, "text_completion");
      assert.ok(
        body.usage.prompt_tokens >= 0 && body.usage.total_tokens >= body.usage.prompt_tokens,
      );
      completed = body.choices[0].text;
      assert.ok(completed.trim(), "a suggestion");
      assert.ok(!ZED_STOP.some((stop) => completed.includes(stop)), "no stop sequence in the text");
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await Deno.writeTextFile(
        join(ARTIFACTS, "v1-completions.json"),
        JSON.stringify({ request: zedBody, response: body }, null, 2),
      );
    });

    await t.step("stream: true answers as server-sent events ending in [DONE]", async () => {
      const response = await timed(
        "/v1/completions stream",
        () =>
          fetch(`${endpoint}/completions`, {
            method: "POST",
            headers: auth(),
            body: JSON.stringify({ ...zedBody, stream: true }),
          }),
      );
      assert.equal(response.headers.get("content-type"), "text/event-stream");
      const events = (await response.text()).trim().split("\n\n").map((event) =>
        event.replace(/^data: /, "")
      );
      assert.equal(events.at(-1), "[DONE]");
      const chunks = events.slice(0, -1).map((event) => JSON.parse(event));
      assert.equal(chunks.map((chunk) => chunk.choices[0].text).join(""), completed);
      assert.equal(chunks.at(-1).choices[0].finish_reason, "stop");
    });

    await t.step("bad requests get 4xx with an OpenAI-style error", async () => {
      const post = (body: string) =>
        fetch(`${endpoint}/completions`, { method: "POST", headers: auth(), body });
      const cases: [Promise<Response>, number, string][] = [
        [post("{not json"), 400, "invalid_json"],
        [post(JSON.stringify({ ...zedBody, model: "gpt-4" })), 404, "model_not_found"],
        [post(JSON.stringify({ model: "ast-complete" })), 400, "invalid_type"],
        [post(JSON.stringify({ ...zedBody, max_tokens: -1 })), 400, "invalid_value"],
        [fetch(`${endpoint}/completions`, { headers: auth() }), 405, "method_not_allowed"],
        [fetch(`${endpoint}/chat`, { headers: auth() }), 404, "not_found"],
      ];
      for (const [request, status, code] of cases) {
        const response = await request;
        const body = await response.json();
        assert.equal(response.status, status, JSON.stringify(body));
        assert.equal(body.error.code, code);
        assert.equal(typeof body.error.message, "string");
        assert.equal(body.error.type, "invalid_request_error");
      }
    });

    await t.step("shutdown then exit ends the process with 0", async () => {
      await timed("shutdown", () => connection.sendRequest("shutdown"));
      await connection.sendNotification("exit");
      assert.equal(await lsp.exited, 0);
    });
    assert.ok(progress.some((value) => value.kind === "begin"), "work-done progress was reported");
    console.log(`LSP/HTTP latencies (ms): ${JSON.stringify(timings)}`);
    await Deno.writeTextFile(join(ARTIFACTS, "latencies.json"), JSON.stringify(timings, null, 2));
    await Deno.writeTextFile(join(ARTIFACTS, "lsp-transcript.txt"), transcript.join("\n"));
  } finally {
    connection.dispose();
    lsp.child.kill("SIGKILL");
    await Deno.remove(workspace, { recursive: true });
    await Deno.remove(cacheDir, { recursive: true });
  }
});
