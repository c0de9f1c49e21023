import assert from "node:assert/strict";
import { type Generator, ModelHost } from "../../engine/inference/mod.ts";
import { createLogger } from "../../engine/log/mod.ts";
import { ModelMissingError } from "../../engine/models/mod.ts";
import { ErrorCode } from "../../engine/protocol/mod.ts";

const log = createLogger("test", "error");
const fakeGenerator = {
  format: "fim",
  modelName: "fake",
  dispose: () => Promise.resolve(),
} as unknown as Generator;

Deno.test("ModelHost.ready() waits for loading and reports loading → ready", async () => {
  const loaded = Promise.withResolvers<Generator>();
  const host = new ModelHost(() => loaded.promise, log);
  const states: string[] = [];
  host.onChange(() => states.push(host.state));
  host.start();
  assert.equal(host.state, "loading");
  const waiting = host.ready(new AbortController().signal, 5_000);
  loaded.resolve(fakeGenerator);
  assert.equal(await waiting, fakeGenerator);
  assert.deepEqual(states, ["ready"]);
});

Deno.test("ModelHost.ready() fails with ModelNotReady after the wait bound", async () => {
  const host = new ModelHost(() => new Promise<Generator>(() => {}), log);
  host.start();
  await assert.rejects(host.ready(new AbortController().signal, 20), (error: { code: number }) => {
    assert.equal(error.code, ErrorCode.ModelNotReady);
    return true;
  });
});

Deno.test("ModelHost.ready() fails with ModelMissing and the loader's message", async () => {
  const host = new ModelHost(
    () => Promise.reject(new ModelMissingError("Model missing: run pull")),
    log,
  );
  host.start();
  await assert.rejects(
    host.ready(new AbortController().signal, 1_000),
    (error: { code: number; message: string }) => {
      assert.equal(error.code, ErrorCode.ModelMissing);
      assert.equal(error.message, "Model missing: run pull");
      return true;
    },
  );
  assert.equal(host.state, "error");
  assert.equal(host.error, "Model missing: run pull");
});

Deno.test("ModelHost.ready() stops waiting when the request is cancelled", async () => {
  const host = new ModelHost(() => new Promise<Generator>(() => {}), log);
  host.start();
  const cancel = new AbortController();
  const waiting = host.ready(cancel.signal, 60_000);
  cancel.abort();
  await assert.rejects(waiting);
});

Deno.test("ModelHost.ready() refuses at once a request cancelled before it waits", async () => {
  const host = new ModelHost(() => new Promise<Generator>(() => {}), log);
  host.start();
  await assert.rejects(host.ready(AbortSignal.abort(), 60_000));
});
