/**
 * The chat path, for real: a chat-tuned model without FIM tokens
 * (SmolLM2-135M-Instruct) is prompted through its own chat template and its
 * answer is reduced to the code at the cursor.
 */
import assert from "node:assert/strict";
import type { CompleteRequest } from "../../engine/protocol/mod.ts";
import {
  connectWithRetry,
  rpc,
  shutdown,
  spawnSidecar,
  waitForState,
} from "../_helpers/sidecar.ts";

/** The sidecar's workspace (its working directory): the documents are files of the project. */
const ROOT = new URL("../../", import.meta.url).pathname;
const MARKUP = /<\||\|>|<CURSOR>|```|im_start|im_end|<\/?s>/;

Deno.test("sidecar completes through a chat model's template without markup", async (t) => {
  const sidecar = await spawnSidecar({ model: "smollm2-135m-instruct-q4_1" });
  const { socket } = await connectWithRetry(sidecar.expectedSocketPath, sidecar.child);
  const connection = rpc(socket);
  const status = await waitForState(connection, "ready");
  assert.equal(
    status.models[0].promptFormat,
    "chat",
    "no FIM tokens: the chat format is read from the model",
  );

  const cases = [
    {
      name: "Python",
      uri: `file://${ROOT}fib.py`,
      text:
        "def fibonacci(n):\n    if n < 2:\n        return n\n    return \n\nprint(fibonacci(10))\n",
      position: { line: 3, character: 11 },
      plausible: /fibonacci\(n\s*-\s*[12]\)/,
    },
    {
      name: "TypeScript",
      uri: `file://${ROOT}add.ts`,
      text: "export function add(a: number, b: number): number {\n  return \n}\n",
      position: { line: 1, character: 9 },
      plausible: /a\s*\+\s*b/,
    },
  ];
  for (const example of cases) {
    await t.step(`${example.name}: plausible code, no chat markup`, async () => {
      const result = await connection.sendRequest<CompleteRequest.Result>("complete", {
        uri: example.uri,
        text: example.text,
        position: example.position,
      });
      const text = result.items[0]?.text ?? "";
      assert.match(text, example.plausible);
      assert.doesNotMatch(text, MARKUP);
      assert.ok(!/^(Here|Sure|This)\b/.test(text), `no prose: ${JSON.stringify(text)}`);
    });
  }
  assert.equal(await shutdown(connection, sidecar), 0);
});
