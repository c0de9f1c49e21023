import assert from "node:assert/strict";
import { join } from "node:path";
import { Generator, ModelHost } from "../../engine/inference/mod.ts";
import { createLogger } from "../../engine/log/mod.ts";
import { resolveModel } from "../../engine/models/mod.ts";
import { ModelMissingError } from "../../engine/protocol/errors.ts";
import { ErrorCode } from "../../engine/protocol/mod.ts";
import { EngineError } from "../../engine/protocol/errors.ts";
import { tinyLlamaGguf } from "../_helpers/gguf_writer.ts";

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
  await assert.rejects(host.ready(new AbortController().signal, 20), (error: EngineError) => {
    assert.ok(error instanceof EngineError);
    assert.equal(error.code, ErrorCode.ModelNotReady);
    assert.match(error.message, /^Model not ready: still loading after 20 ms/);
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
    (error: EngineError) => {
      assert.ok(error instanceof EngineError);
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
  const reason = new Error("superseded");
  cancel.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
});

Deno.test("ModelHost.ready() refuses at once a request cancelled before it waits", async () => {
  const host = new ModelHost(() => new Promise<Generator>(() => {}), log);
  host.start();
  const reason = new Error("cancelled before");
  await assert.rejects(host.ready(AbortSignal.abort(reason), 60_000), (error) => error === reason);
});

Deno.test("ModelHost reports a truncated --model file as ModelMissing, naming the file", async () => {
  const whole = tinyLlamaGguf({ fim: true });
  const path = join(await Deno.makeTempDir({ prefix: "ast-complete-host-" }), "cut.gguf");
  await Deno.writeFile(path, whole.subarray(0, whole.length - 4096));
  // The loader the sidecar builds (engine/sidecar.ts): resolve, then load.
  const host = new ModelHost(async () => {
    const model = await resolveModel("/nonexistent-cache", "/nonexistent.lock", path);
    return await Generator.load(model.path, { threads: 1, contextSize: 256, gpu: false, log });
  }, log);
  const states: string[] = [];
  host.onChange(() => states.push(host.state));
  host.start();
  const message = `Model file ${path} is truncated: ${
    whole.length - 4096
  } of ${whole.length} bytes`;
  await assert.rejects(host.ready(new AbortController().signal, 30_000), (error: EngineError) => {
    assert.ok(error instanceof EngineError);
    assert.equal(error.code, ErrorCode.ModelMissing);
    assert.equal(error.message, message);
    return true;
  });
  assert.deepEqual(states, ["error"]);
  assert.equal(host.error, message);
});

Deno.test("ModelHost reports any other load failure as InternalError with its message", async () => {
  const host = new ModelHost(
    () => Promise.reject(new Error("Cannot load model /m.gguf: boom")),
    log,
  );
  host.start();
  await assert.rejects(host.ready(new AbortController().signal, 1_000), (error: EngineError) => {
    assert.ok(error instanceof EngineError);
    assert.equal(error.code, ErrorCode.InternalError);
    assert.equal(error.message, "Cannot load model /m.gguf: boom");
    return true;
  });
  assert.equal(host.state, "error");
});
