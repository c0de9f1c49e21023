/**
 * The real sidecar with the real default FIM model, spawned as `deno task start`
 * runs it, driven over its socket with vscode-jsonrpc.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { CancellationTokenSource, type MessageConnection } from "vscode-jsonrpc/node";
import { CompleteRequest, ErrorCode, StatusRequest } from "../../engine/protocol/mod.ts";
import { connectWithRetry, rpc, spawnSidecar } from "../_helpers/sidecar.ts";
import { projectStateDir } from "../../engine/config/mod.ts";

const PYTHON = `def fibonacci(n):
    if n < 2:
        return n
    return 

print(fibonacci(10))
`;
const TYPESCRIPT = `export function add(a: number, b: number): number {
  return 
}
`;
const SPECIAL = /<\||\|>|<fim|<file_sep>|<\/?s>|```|im_start|im_end/;

function complete(connection: MessageConnection, params: CompleteRequest.Params) {
  return connection.sendRequest<CompleteRequest.Result>(CompleteRequest.method, params);
}

async function rejectsWith(promise: Promise<unknown>, code: number, message?: RegExp) {
  await assert.rejects(promise, (error: { code: number; message: string }) => {
    assert.equal(error.code, code, `expected code ${code}, got ${error.code}: ${error.message}`);
    if (message) assert.match(error.message, message);
    return true;
  });
}

Deno.test("sidecar serves real FIM completions over its socket", async (t) => {
  const workspace = await Deno.makeTempDir({ prefix: "ast-complete-ws-" });
  const sidecar = await spawnSidecar({ workspace });
  // Connect before the socket exists: the client must retry.
  const connecting = connectWithRetry(sidecar.expectedSocketPath, sidecar.child);
  const socketPath = await sidecar.firstLine;
  const { socket, attempts } = await connecting;
  const connection = rpc(socket);
  const states: string[] = [];
  connection.onNotification("status/changed", (status: StatusRequest.Result) => {
    states.push(status.state);
  });

  await t.step(
    "stdout's first line is the absolute socket path, in a private directory",
    async () => {
      assert.equal(socketPath, sidecar.expectedSocketPath);
      assert.ok(attempts > 1, "the client connected before the socket existed and retried");
      assert.equal((await Deno.stat(dirname(socketPath))).mode! & 0o777, 0o700);
      assert.equal((await Deno.stat(socketPath)).mode! & 0o777, 0o600);
    },
  );

  await t.step("status goes from loading to ready", async () => {
    const first = await connection.sendRequest<StatusRequest.Result>(StatusRequest.method, {});
    states.unshift(first.state);
    const deadline = Date.now() + 120_000;
    while (states.at(-1) !== "ready" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(states[0], "loading");
    assert.equal(states.at(-1), "ready");
    const ready = await connection.sendRequest<StatusRequest.Result>(StatusRequest.method, {});
    assert.equal(ready.models[0].promptFormat, "fim");
    assert.equal(ready.models[0].loaded, true);
  });

  await t.step("initialize answers with the server, models and languages", async () => {
    const result = await connection.sendRequest<{ server: { name: string }; languages: string[] }>(
      "initialize",
      { workspaceRoot: workspace, client: { name: "test" } },
    );
    assert.equal(result.server.name, "ast-complete");
    assert.ok(result.languages.includes("python"));
  });

  await t.step("initialize refuses a workspace outside the allowed root", async () => {
    // A real project next to the allowed one: refused for where it is, not for what it is.
    const sibling = await Deno.makeTempDir({ prefix: "ast-complete-sibling-" });
    await Deno.mkdir(join(sibling, ".git"));
    await rejectsWith(
      connection.sendRequest("initialize", { workspaceRoot: sibling }),
      ErrorCode.WorkspaceNotAllowed,
      /outside/,
    );
    await rejectsWith(
      connection.sendRequest("initialize", { workspaceRoot: join(workspace, "..") }),
      ErrorCode.WorkspaceNotAllowed,
      /outside/,
    );
  });

  let acceptedId = "";
  await t.step("complete finishes a Python line with plausible code", async () => {
    const result = await complete(connection, {
      uri: `file://${workspace}/fib.py`,
      text: PYTHON,
      position: { line: 3, character: 11 },
    });
    const text = result.items[0]?.text ?? "";
    assert.match(text, /fibonacci\(n\s*-\s*[12]\)/);
    assert.doesNotMatch(text, SPECIAL);
    assert.ok(!text.includes("\n"), "a line completion stays on its line");
    assert.ok(result.timings.promptTokens > 10);
    assert.ok(result.timings.generateMs > 0);
    acceptedId = result.id;
  });

  await t.step("complete works on a synced TypeScript buffer", async () => {
    const uri = `file://${workspace}/add.ts`;
    await connection.sendNotification("document/didOpen", {
      uri,
      languageId: "typescript",
      version: 1,
      text: TYPESCRIPT,
    });
    const result = await complete(connection, { uri, position: { line: 1, character: 9 } });
    const text = result.items[0]?.text ?? "";
    assert.match(text, /a\s*\+\s*b/);
    assert.doesNotMatch(text, SPECIAL);
  });

  await t.step(
    "complete on an empty line in a block gives several lines that stop at the block's end",
    async () => {
      const text = `def mean(values):\n    \n\nprint(mean([1, 2, 3]))\n`;
      const result = await complete(connection, {
        uri: `file://${workspace}/mean.py`,
        text,
        position: { line: 1, character: 4 },
      });
      const completion = result.items[0]?.text ?? "";
      assert.ok(completion.length > 0, "a suggestion was made");
      assert.doesNotMatch(completion, SPECIAL);
      assert.ok(!completion.includes("print(mean"), "the suffix is not repeated");
      for (const line of completion.split("\n").slice(1)) {
        assert.ok(
          line.startsWith("    ") || line === "",
          `line stays in the block: ${JSON.stringify(line)}`,
        );
      }
    },
  );

  await t.step("feedback is recorded in the project's feedback log", async () => {
    await connection.sendRequest("feedback", { id: acceptedId, outcome: "accepted" });
    const log = join(projectStateDir(sidecar.cacheDir, workspace), "feedback.jsonl");
    const events = (await Deno.readTextFile(log)).trim().split("\n").map((line) =>
      JSON.parse(line)
    );
    assert.equal(events.at(-1).id, acceptedId);
    assert.equal(events.at(-1).outcome, "accepted");
    await rejectsWith(
      connection.sendRequest("feedback", { id: "nope", outcome: "accepted" }),
      ErrorCode.InvalidParams,
      /unknown completion id/,
    );
  });

  await t.step("a cancelled request answers RequestCancelled", async () => {
    const source = new CancellationTokenSource();
    const pending = connection.sendRequest(CompleteRequest.method, {
      uri: `file://${workspace}/cancel.py`,
      text: PYTHON,
      position: { line: 3, character: 11 },
    }, source.token);
    source.cancel();
    await rejectsWith(pending, ErrorCode.RequestCancelled);
  });

  await t.step("a newer request for the same document supersedes the older one", async () => {
    const uri = `file://${workspace}/super.py`;
    const older = complete(connection, { uri, text: PYTHON, position: { line: 3, character: 11 } });
    const newer = complete(connection, { uri, text: PYTHON, position: { line: 3, character: 11 } });
    await rejectsWith(older, ErrorCode.RequestCancelled);
    assert.match((await newer).items[0]?.text ?? "", /fibonacci/);
  });

  await t.step("bad requests get clear errors and the server stays up", async () => {
    const origin = { line: 0, character: 0 };
    const badRequests: [string, unknown, number, RegExp][] = [
      ["no/such/method", {}, ErrorCode.MethodNotFound, /no\/such\/method/],
      ["complete", { position: origin }, ErrorCode.InvalidParams, /"uri"/],
      [
        "complete",
        { uri: "file:///x.py", text: "a", position: { line: -1 } },
        ErrorCode.InvalidParams,
        /"position"/,
      ],
      [
        "complete",
        { uri: "file:///x.py", text: "a = 1\n", position: { line: 9, character: 0 } },
        ErrorCode.InvalidParams,
        /past the end of the document/,
      ],
      [
        "complete",
        { uri: "file:///x.py", text: "a = 1\n", position: { line: 0, character: 40 } },
        ErrorCode.InvalidParams,
        /past the end of the line/,
      ],
      [
        "complete",
        { uri: "file:///never-opened.py", position: origin },
        ErrorCode.UnknownDocument,
        /didOpen/,
      ],
      [
        "complete",
        { uri: "file:///huge.py", text: "x = 1\n".repeat(5 * 1024 * 1024 / 6), position: origin },
        ErrorCode.DocumentTooLarge,
        /5\.\d MB exceeds/,
      ],
      [
        "complete",
        { uri: "file:///blob.bin", text: "\0\x01\x02", position: origin },
        ErrorCode.InvalidParams,
        /Binary/,
      ],
      ["feedback", { id: 3 }, ErrorCode.InvalidParams, /"id"/],
    ];
    for (const [method, params, code, message] of badRequests) {
      await rejectsWith(connection.sendRequest(method, params), code, message);
    }
    const status = await connection.sendRequest<StatusRequest.Result>(StatusRequest.method, {});
    assert.equal(status.state, "ready");
  });

  await t.step("malformed JSON gets a ParseError and other clients are unaffected", async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(socketPath);
      let received = "";
      socket.on("data", (data) => {
        received += data.toString();
        if (received.includes("-32700")) {
          socket.destroy();
          resolve(received);
        }
      });
      socket.on("error", reject);
      socket.write("Content-Length: 9\r\n\r\n{not json");
    });
    assert.match(raw, /Parse error/);
    const status = await connection.sendRequest<StatusRequest.Result>(StatusRequest.method, {});
    assert.equal(status.state, "ready");
  });

  await t.step(
    "shutdown exits cleanly, removes the socket and nothing but the path reached stdout",
    async () => {
      await connection.sendRequest("shutdown", {});
      const { code } = await sidecar.child.status;
      assert.equal(code, 0);
      assert.equal(await sidecar.stdout, `${socketPath}\n`);
      await assert.rejects(Deno.stat(socketPath));
      const stderr = await sidecar.stderr;
      assert.match(stderr, /Model ready/);
      assert.ok(!stderr.includes("\x1b["), "no colour when stderr is not a terminal");
    },
  );
  connection.dispose();
});
