/**
 * Bounded fuzz runs with a fixed seed against the real sidecar: thousands of
 * mutated JSON-RPC messages on its socket (fields dropped, retyped, swollen,
 * bytes flipped, frames cut short or mislabelled) on many connections, and
 * mutated LSP messages and HTTP requests against `main.ts lsp --http-port`.
 * Each process must survive, still serve a valid completion, and hold no more
 * memory than a little over what it held before.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import type { CompleteRequest } from "../../engine/protocol/mod.ts";
import {
  connectWithRetry,
  rpc,
  rssMb,
  shutdown,
  spawnLsp,
  spawnSidecar,
  tempCacheDir,
  waitForState,
} from "../_helpers/sidecar.ts";
import { fixtureProject } from "../_helpers/project.ts";

/** The same run every time: mulberry32. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values that break assumptions: wrong types, extremes, odd text. */
const ODD_VALUES: unknown[] = [
  null,
  true,
  -1,
  0,
  1.5,
  2 ** 53,
  -(2 ** 31),
  Number.MAX_VALUE,
  "",
  "\u0000",
  "../../../etc/passwd",
  "file:///etc/shadow",
  "file:///",
  "\ud800",
  "é".repeat(5000),
  [],
  [1, 2],
  {},
  { line: -1, character: "x" },
  { __proto__: { polluted: true } },
  JSON.parse('{"__proto__": {"polluted": true}}'),
];

/** A mutated copy of `value`: a field dropped, retyped or replaced, recursively at random. */
function mutate(value: unknown, random: () => number, depth = 0): unknown {
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  if (random() < 0.15 || depth > 4) return pick(ODD_VALUES);
  if (Array.isArray(value)) return value.map((item) => mutate(item, random, depth + 1));
  if (typeof value !== "object" || value === null) return random() < 0.7 ? value : pick(ODD_VALUES);
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    const roll = random();
    if (roll < 0.1) continue; // dropped
    copy[roll < 0.15 ? `${key}_` : key] = roll < 0.6 ? field : mutate(field, random, depth + 1);
  }
  return copy;
}

const TEXT = "def add(a, b):\n    return \n";

/** Valid messages of every kind the socket takes, but `shutdown`. */
function templates(root: string): { method: string; params: unknown; request: boolean }[] {
  const uri = `file://${join(root, "app.py")}`;
  return [
    {
      method: "initialize",
      params: { workspaceRoot: root, client: { name: "fuzz" } },
      request: true,
    },
    { method: "status", params: {}, request: true },
    {
      method: "complete",
      params: { uri, position: { line: 1, character: 11 }, text: TEXT, maxLines: 1 },
      request: true,
    },
    {
      method: "feedback",
      params: { id: "c1", outcome: "accepted", acceptedText: "a" },
      request: true,
    },
    { method: "index/rebuild", params: {}, request: true },
    {
      method: "document/didOpen",
      params: { uri, languageId: "python", version: 1, text: TEXT },
      request: false,
    },
    { method: "document/didChange", params: { uri, version: 2, text: TEXT }, request: false },
    { method: "document/didSave", params: { uri, text: TEXT }, request: false },
    { method: "document/didClose", params: { uri }, request: false },
    { method: "$/cancelRequest", params: { id: 1 }, request: false },
  ];
}

function frame(body: string): string {
  return `Content-Length: ${new TextEncoder().encode(body).length}\r\n\r\n${body}`;
}

/** A mutated message, or a valid one with a flipped byte or in a batch, as one frame. */
function fuzzedFrame(random: () => number, root: string, id: number): string {
  const all = templates(root);
  const template = all[Math.floor(random() * all.length)];
  const message: Record<string, unknown> = { jsonrpc: "2.0", method: template.method };
  if (template.request) message.id = random() < 0.9 ? id : mutate(id, random);
  message.params = random() < 0.8 ? mutate(template.params, random) : template.params;
  let body = JSON.stringify(message);
  const roll = random();
  if (roll < 0.05) {
    // A flipped byte: usually no longer JSON.
    const at = Math.floor(random() * body.length);
    body = body.slice(0, at) + String.fromCharCode(Math.floor(random() * 128)) + body.slice(at + 1);
  } else if (roll < 0.07) {
    body = JSON.stringify([message, message]); // A batch.
  }
  return frame(body);
}

/** Broken framing, after which the sidecar may close the connection. */
function brokenFrame(random: () => number): string {
  const body = '{"jsonrpc":"2.0","id":1,"method":"status","params":{}}';
  return [
    `Content-Length: ${body.length + 1 + Math.floor(random() * 50)}\r\n\r\n${body}`, // Claims more.
    `Content-Length: ${Math.floor(random() * body.length)}\r\n\r\n${body}`, // Claims less.
    `Content-Type: text/plain\r\n\r\n${body}`, // No length.
    `Content-Length: 99999999999\r\n\r\n${body}`, // Too large.
    "[".repeat(10_000) + "\r\n\r\n", // An endless header.
  ][Math.floor(random() * 5)];
}

async function validCompletion(socketPath: string, root: string): Promise<string> {
  const socket = connect(socketPath);
  await new Promise((resolve) => socket.once("connect", resolve));
  const connection = rpc(socket);
  const result = await connection.sendRequest<CompleteRequest.Result>("complete", {
    uri: `file://${join(root, "calc.py")}`,
    text: "def add(a, b):\n    return a + b\n\n\ndef subtract(a, b):\n    return \n",
    position: { line: 5, character: 11 },
    maxLines: 1,
  });
  connection.dispose();
  socket.destroy();
  return result.items[0]?.text ?? "";
}

Deno.test("the sidecar survives 3000 fuzzed JSON-RPC messages with a fixed seed", async () => {
  const root = await Deno.realPath(await fixtureProject());
  await Deno.mkdir(join(root, ".git"));
  const sidecar = await spawnSidecar({ workspace: root });
  const { socket } = await connectWithRetry(sidecar.expectedSocketPath, sidecar.child);
  const control = rpc(socket);
  await waitForState(control, "ready");
  assert.match(await validCompletion(sidecar.expectedSocketPath, root), /a\s*-\s*b/);
  const before = await rssMb(sidecar.child.pid);

  const random = seededRandom(20261127);
  let sent = 0;
  let connections = 0;
  let answers = 0;
  while (sent < 3000) {
    // A fresh connection per burst: broken framing may make the sidecar close one.
    const target: Socket = connect(sidecar.expectedSocketPath);
    target.on("error", () => undefined);
    target.on("data", (chunk: Uint8Array) => {
      answers += new TextDecoder().decode(chunk).split('"jsonrpc"').length - 1;
    });
    await new Promise((resolve) => target.once("connect", resolve));
    connections++;
    for (let burst = 0; burst < 99; burst++, sent++) target.write(fuzzedFrame(random, root, sent));
    // Until the answers stop coming: then the broken frame, which may close the connection.
    for (let last = -1; last !== answers;) {
      last = answers;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    target.write(brokenFrame(random));
    sent++;
    await new Promise((resolve) => setTimeout(resolve, 20));
    target.destroy();
  }
  const status = await control.sendRequest<{ state: string }>("status", {});
  assert.equal(status.state, "ready", "still serving after the fuzz");
  assert.match(await validCompletion(sidecar.expectedSocketPath, root), /a\s*-\s*b/);
  const after = await rssMb(sidecar.child.pid);
  console.error(
    `${sent} fuzzed messages on ${connections} connections, ${answers} answers; RSS ${
      before.toFixed(0)
    } MB before, ${after.toFixed(0)} MB after`,
  );
  assert.ok(
    answers > sent / 4,
    "most messages were read and answered, not lost with a closed connection",
  );
  assert.ok(after - before < 100, `RSS grew by ${(after - before).toFixed(0)} MB`);
  assert.equal(await shutdown(control, sidecar), 0);
});

/** Valid LSP messages after `initialize`, but `shutdown` and `exit`. */
function lspTemplates(root: string): { method: string; params: unknown; request: boolean }[] {
  const textDocument = { uri: `file://${join(root, "calc.py")}` };
  const position = { line: 1, character: 11 };
  return [
    {
      method: "textDocument/didOpen",
      params: { textDocument: { ...textDocument, languageId: "python", version: 1, text: TEXT } },
      request: false,
    },
    {
      method: "textDocument/didChange",
      params: { textDocument: { ...textDocument, version: 2 }, contentChanges: [{ text: TEXT }] },
      request: false,
    },
    { method: "textDocument/didSave", params: { textDocument, text: TEXT }, request: false },
    { method: "textDocument/didClose", params: { textDocument }, request: false },
    { method: "textDocument/completion", params: { textDocument, position }, request: true },
    {
      method: "textDocument/inlineCompletion",
      params: { textDocument, position, context: { triggerKind: 1 } },
      request: true,
    },
    { method: "$/cancelRequest", params: { id: 1 }, request: false },
    { method: "workspace/didChangeConfiguration", params: { settings: {} }, request: false },
    { method: "textDocument/hover", params: { textDocument, position }, request: true },
  ];
}

/** A mutated `/v1/completions` request: body, headers and path. */
function fuzzedHttp(random: () => number, url: string, token: string): Request {
  const body: Record<string, unknown> = {
    model: "ast-complete",
    prompt: `<|fim_prefix|>${TEXT.slice(0, 22)}<|fim_suffix|>\n<|fim_middle|>`,
    max_tokens: 8,
    temperature: 0,
    stop: ["\n"],
    stream: random() < 0.3,
  };
  const mutated = random() < 0.8 ? mutate(body, random) : body;
  const headers: Record<string, string> = { "content-type": "application/json" };
  const roll = random();
  if (roll < 0.9) headers.authorization = `Bearer ${token}`;
  else if (roll < 0.95) headers.authorization = `Bearer ${token.slice(1)}`;
  if (random() < 0.05) headers.origin = "http://evil.example";
  const path = random() < 0.9
    ? "/completions"
    : ["/models", "/../etc/passwd", "/x"][Math.floor(random() * 3)];
  let text = JSON.stringify(mutated) ?? "null";
  if (random() < 0.05) text = text.slice(0, Math.floor(random() * text.length));
  return random() < 0.95
    ? new Request(`${url}${path}`, { method: "POST", headers, body: text })
    : new Request(`${url}${path}`, { headers });
}

Deno.test("main.ts lsp survives 1500 fuzzed LSP messages and 600 fuzzed HTTP requests", async () => {
  const root = await Deno.realPath(await fixtureProject());
  await Deno.mkdir(join(root, ".git"));
  const token = "fuzz-token-0123456789abcdef";
  const lsp = await spawnLsp(root, await tempCacheDir(), token);
  const { child, connection, writer } = lsp;
  connection.onRequest(() => null);
  connection.onNotification(() => undefined);
  connection.listen();
  await connection.sendRequest("initialize", {
    processId: null,
    rootUri: `file://${root}`,
    capabilities: {},
  });
  await connection.sendNotification("initialized", {});
  const url = await lsp.url;
  const valid = async () => {
    const response = await fetch(`${url}/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "ast-complete",
        prompt:
          "<|fim_prefix|>def add(a, b):\n    return a + b\n\n\ndef subtract(a, b):\n    return <|fim_suffix|>\n<|fim_middle|>",
        max_tokens: 16,
        stop: ["\n"],
      }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    return ((await response.json()) as { choices: { text: string }[] }).choices[0].text;
  };
  // The model loads in the background: the first valid request may wait for it.
  assert.match(await valid(), /a\s*-\s*b/);
  const before = await rssMb(child.pid!);

  const random = seededRandom(1127);
  const all = lspTemplates(root);
  let answered = 0;
  for (let sent = 0; sent < 1500; sent++) {
    const template = all[Math.floor(random() * all.length)];
    const params = random() < 0.8 ? mutate(template.params, random) : template.params;
    if (template.request) {
      connection.sendRequest(template.method, params).then(
        () => answered++,
        () => answered++,
      );
    } else {
      await writer.write({ jsonrpc: "2.0", method: template.method, params } as never);
    }
    if (sent % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const statuses = new Map<number, number>();
  for (let batch = 0; batch < 30; batch++) {
    const responses = await Promise.all(
      Array.from(
        { length: 20 },
        () =>
          fetch(fuzzedHttp(random, url, token)).then(async (response) => {
            await response.body?.cancel();
            return response.status;
          }),
      ),
    );
    for (const status of responses) statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
  assert.match(await valid(), /a\s*-\s*b/, "the endpoint still completes");
  const list = await connection.sendRequest<{ items: unknown[] }>("textDocument/completion", {
    textDocument: { uri: `file://${join(root, "calc.py")}` },
    position: { line: 0, character: 0 },
  }).catch((error: Error) => error);
  assert.ok("items" in list || "code" in list, "the language server still answers");
  const after = await rssMb(child.pid!);
  console.error(
    `LSP: 1500 fuzzed messages, ${answered} requests answered; HTTP statuses ${
      JSON.stringify(Object.fromEntries([...statuses].sort()))
    }; RSS ${before.toFixed(0)} MB before, ${after.toFixed(0)} MB after`,
  );
  assert.ok(!statuses.has(500), "no internal error");
  assert.ok(after - before < 100, `RSS grew by ${(after - before).toFixed(0)} MB`);
  await connection.sendRequest("shutdown");
  await connection.sendNotification("exit");
  assert.equal(await lsp.exited, 0, lsp.stderr().split("\n").slice(-20).join("\n"));
});
