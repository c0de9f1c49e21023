/**
 * Request params: the checks in validate.ts, and params in every shape JSON-RPC
 * allows sent as raw frames to the real sidecar, which must answer
 * InvalidParams and never InternalError. vscode-jsonrpc's client wraps an
 * array argument in another array, so these messages are written by hand.
 */
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import {
  type Message,
  type ResponseMessage,
  SocketMessageReader,
  SocketMessageWriter,
} from "vscode-jsonrpc/node";
import { ErrorCode } from "../../engine/protocol/mod.ts";
import { EngineError } from "../../engine/protocol/errors.ts";
import {
  optionalParamsObject,
  paramsObject,
  requiredPosition,
  requiredString,
} from "../../engine/session/validate.ts";
import { connectWithRetry, spawnSidecar } from "../_helpers/sidecar.ts";

function invalidParams(message: RegExp) {
  return (error: Error) => {
    assert.ok(error instanceof EngineError);
    assert.equal(error.code, ErrorCode.InvalidParams);
    assert.match(error.message, message);
    return true;
  };
}

Deno.test("paramsObject() accepts an object and refuses arrays, null, scalars and nothing", () => {
  assert.deepEqual(paramsObject({ uri: "file:///a.py" }), { uri: "file:///a.py" });
  for (const params of [[1, 2], [{ uri: "file:///a.py" }], [], null, "x", 1, undefined]) {
    assert.throws(
      () => paramsObject(params),
      invalidParams(/^Invalid params: expected an object$/),
    );
  }
});

Deno.test("optionalParamsObject() accepts no params or an object, and refuses an array", () => {
  assert.deepEqual(optionalParamsObject(undefined), {});
  assert.deepEqual(optionalParamsObject({}), {});
  assert.throws(() => optionalParamsObject([1, 2]), invalidParams(/expected an object$/));
  assert.throws(() => optionalParamsObject(null), invalidParams(/expected an object$/));
});

Deno.test("requiredString() and requiredPosition() name the field and what was expected", () => {
  assert.throws(
    () => requiredString({ uri: 3 }, "uri"),
    invalidParams(/^Invalid params: "uri" must be a non-empty string$/),
  );
  assert.throws(
    () => requiredPosition({ position: { line: -1, character: 0 } }, "position"),
    invalidParams(/"position" must be \{line, character\} with non-negative integers$/),
  );
});

/** Sends raw requests on one connection and collects the answers by id. */
function rawClient(socket: Socket) {
  const writer = new SocketMessageWriter(socket);
  const reader = new SocketMessageReader(socket);
  const answers = new Map<number, PromiseWithResolvers<ResponseMessage>>();
  const answer = (id: number) => {
    if (!answers.has(id)) answers.set(id, Promise.withResolvers<ResponseMessage>());
    return answers.get(id)!;
  };
  reader.listen((message: Message) => {
    const response = message as ResponseMessage;
    if (typeof response.id === "number") answer(response.id).resolve(response);
  });
  let next = 0;
  return {
    /** Sends `params` exactly as given (or no `params` member when undefined). */
    async request(method: string, params?: unknown): Promise<ResponseMessage> {
      const id = ++next;
      await writer.write(
        { jsonrpc: "2.0", id, method, ...(params !== undefined ? { params } : {}) } as Message,
      );
      return await answer(id).promise;
    },
    dispose() {
      reader.dispose();
      writer.dispose();
      socket.destroy();
    },
  };
}

Deno.test("the sidecar answers params of any shape but an object with InvalidParams", async () => {
  // No model: the sidecar serves at once, and goes to state "error"; that is all these requests need.
  const cacheDir = await Deno.makeTempDir({ prefix: "ast-complete-params-" });
  const sidecar = await spawnSidecar({ cacheDir });
  const { socket } = await connectWithRetry(sidecar.expectedSocketPath, sidecar.child);
  const client = rawClient(socket);
  try {
    const position = { line: 0, character: 0 };
    const complete = { uri: "file:///a.py", text: "x = ", position };
    const cases: [string, unknown][] = [
      // Two or more elements: spread into a per-method handler, the second became its token.
      ["complete", [1, 2]],
      ["complete", [complete, { isCancellationRequested: true }]],
      ["feedback", ["id", "accepted", "text"]],
      ["initialize", [{ workspaceRoot: "/tmp" }, 2]],
      // One element: it would pass for the params object itself.
      ["complete", [complete]],
      ["feedback", [{ id: "x", outcome: "accepted" }]],
      // None at all: the handler got the token as its params and no token.
      ["complete", undefined],
      ["feedback", undefined],
      ["status", [1, 2]],
      ["index/rebuild", [1, 2]],
    ];
    for (const [method, params] of cases) {
      const response = await client.request(method, params);
      const shown = `${method} ${JSON.stringify(params)}`;
      assert.equal(
        response.error?.code,
        ErrorCode.InvalidParams,
        `${shown}: ${response.error?.message}`,
      );
      assert.match(response.error?.message ?? "", /^Invalid params: /, shown);
    }
    // The missing model shows once the binding is up and the generator chosen (a moment).
    let state = "loading";
    for (let tries = 0; state === "loading" && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      state = ((await client.request("status", {})).result as { state: string }).state;
    }
    assert.equal(state, "error", "still serving");
    assert.equal((await client.request("status")).error, undefined, "status needs no params");
  } finally {
    await client.request("shutdown", {});
    client.dispose();
    await sidecar.stdout;
  }
  assert.equal((await sidecar.child.status).code, 0);
  // An InternalError is logged as "Request failed" with its stack.
  assert.doesNotMatch(await sidecar.stderr, /Request failed/);
});
