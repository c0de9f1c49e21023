/**
 * The generator's choice: the one named wins; else the 1.5B where a GPU or
 * enough cores run it and it is pulled; else the 0.5B, saying how to pull the
 * 1.5B where it would have been chosen. Reported in `status`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../engine/config/mod.ts";
import { createEngine } from "../../engine/engine.ts";
import { createLogger } from "../../engine/log/mod.ts";
import {
  chooseGenerator,
  type GeneratorChoiceInput,
  LARGE_GENERATOR,
  LARGE_GENERATOR_MIN_CORES,
  pulledIn,
  readModelsLock,
  SMALL_GENERATOR,
} from "../../engine/models/mod.ts";

const LOCK = new URL("../../models.lock", import.meta.url).pathname;
const PULL_LARGE = `deno task models pull ${LARGE_GENERATOR}`;

/** Input with no GPU, few cores and everything pulled, changed by `changes`. */
function input(changes: Partial<GeneratorChoiceInput> = {}): GeneratorChoiceInput {
  return { gpu: false, cores: 2, isPulled: () => Promise.resolve(true), ...changes };
}

const pulledOnly = (...names: string[]) => (name: string) => Promise.resolve(names.includes(name));

Deno.test("chooseGenerator() takes the model the user named over any hardware", async () => {
  const named = { name: "/models/mine.gguf", by: "--model" };
  assert.deepEqual(await chooseGenerator(input({ named, gpu: "cuda", cores: 64 })), {
    name: "/models/mine.gguf",
    reason: "named by --model",
  });
  const small = { name: SMALL_GENERATOR, by: "AST_COMPLETE_MODEL" };
  assert.deepEqual(await chooseGenerator(input({ named: small, gpu: "metal" })), {
    name: SMALL_GENERATOR,
    reason: "named by AST_COMPLETE_MODEL",
  });
});

Deno.test("chooseGenerator() takes the 1.5B with a usable GPU, whatever the cores", async () => {
  for (const gpu of ["cuda", "vulkan", "metal"]) {
    const choice = await chooseGenerator(input({ gpu, cores: 1 }));
    assert.equal(choice.name, LARGE_GENERATOR, gpu);
    assert.match(choice.reason, new RegExp(`GPU \\(${gpu}\\)`));
  }
});

Deno.test("chooseGenerator() takes the 1.5B on CPU from the measured core count, not below", async () => {
  const enough = await chooseGenerator(input({ cores: LARGE_GENERATOR_MIN_CORES }));
  assert.equal(enough.name, LARGE_GENERATOR);
  assert.match(enough.reason, new RegExp(`^no GPU but ${LARGE_GENERATOR_MIN_CORES} CPU cores`));
  const fewer = await chooseGenerator(input({ cores: LARGE_GENERATOR_MIN_CORES - 1 }));
  assert.equal(fewer.name, SMALL_GENERATOR);
  assert.match(
    fewer.reason,
    new RegExp(`^no GPU and ${LARGE_GENERATOR_MIN_CORES - 1} CPU cores: .*needs a GPU or`),
  );
  assert.doesNotMatch(fewer.reason, /models pull/, "nothing to pull where the 0.5B is the choice");
  assert.ok(LARGE_GENERATOR_MIN_CORES > 2, "the 2 CPU cores measured keep the 0.5B");
});

Deno.test("chooseGenerator() falls back to the 0.5B when the 1.5B is not pulled, saying how to pull it", async () => {
  for (const hardware of [{ gpu: "cuda" }, { cores: LARGE_GENERATOR_MIN_CORES * 2 }]) {
    const choice = await chooseGenerator(input({ ...hardware, isPulled: pulledOnly() }));
    assert.equal(choice.name, SMALL_GENERATOR);
    assert.ok(choice.reason.includes(PULL_LARGE), choice.reason);
    assert.match(choice.reason, /not pulled/);
  }
  const pulled = await chooseGenerator(
    input({ gpu: "cuda", isPulled: pulledOnly(LARGE_GENERATOR) }),
  );
  assert.equal(pulled.name, LARGE_GENERATOR);
});

Deno.test("pulledIn() counts a pinned file at its pinned size, nothing else", async () => {
  const cacheDir = await Deno.makeTempDir({ prefix: "ast-complete-choose-" });
  await Deno.mkdir(join(cacheDir, "models"));
  const lock = join(cacheDir, "models.lock");
  const model = {
    name: "tiny",
    role: "generator",
    file: "tiny.gguf",
    sha256: "0".repeat(64),
    size: 5,
    found: "a test entry",
    sources: [{ kind: "url", url: "http://127.0.0.1:9/tiny.gguf" }],
  };
  await Deno.writeTextFile(lock, JSON.stringify({ version: 1, models: [model] }));
  const isPulled = pulledIn(cacheDir, lock);
  assert.equal(await isPulled("tiny"), false, "missing");
  await Deno.writeFile(join(cacheDir, "models", "tiny.gguf"), new Uint8Array(4));
  assert.equal(await isPulled("tiny"), false, "truncated");
  await Deno.writeFile(join(cacheDir, "models", "tiny.gguf"), new Uint8Array(5));
  assert.equal(await isPulled("tiny"), true);
  assert.equal(await isPulled(LARGE_GENERATOR), false, "not pinned in this lock");
});

Deno.test("models.lock pins both generators the choice is between, the 1.5B pulled on request", async () => {
  const lock = await readModelsLock(LOCK);
  const small = lock.models.find((model) => model.name === SMALL_GENERATOR);
  const large = lock.models.find((model) => model.name === LARGE_GENERATOR);
  assert.equal(small?.promptFormat, "fim");
  assert.equal(small?.pull, undefined);
  assert.equal(large?.promptFormat, "fim");
  assert.equal(large?.pull, "on-request");
  assert.equal(large?.size, 1117320768);
});

Deno.test("loadConfig() names the generator only when told, and says how", () => {
  const before = Deno.env.get("AST_COMPLETE_MODEL");
  try {
    Deno.env.delete("AST_COMPLETE_MODEL");
    assert.equal(loadConfig().generator.model, undefined);
    assert.deepEqual(loadConfig({ model: "x" }).generator.model, { name: "x", by: "--model" });
    Deno.env.set("AST_COMPLETE_MODEL", "y");
    assert.deepEqual(loadConfig().generator.model, { name: "y", by: "AST_COMPLETE_MODEL" });
    assert.deepEqual(loadConfig({ model: "x" }).generator.model, { name: "x", by: "--model" });
    Deno.env.set("AST_COMPLETE_MODEL", "");
    assert.equal(loadConfig().generator.model, undefined, "an empty variable names nothing");
  } finally {
    if (before === undefined) Deno.env.delete("AST_COMPLETE_MODEL");
    else Deno.env.set("AST_COMPLETE_MODEL", before);
  }
});

Deno.test("status reports the generator chosen and why, here with nothing pulled", async () => {
  const log = createLogger("test", "error");
  for (const named of [undefined, SMALL_GENERATOR]) {
    const config = loadConfig({ model: named });
    config.cacheDir = await Deno.makeTempDir({ prefix: "ast-complete-choose-" });
    const engine = createEngine(config, log);
    assert.equal(engine.status("/").model, undefined, "not chosen before loading starts");
    const failed = Promise.withResolvers<void>();
    engine.onChange(() => engine.models.state === "error" && failed.resolve());
    engine.models.start();
    try {
      await failed.promise;
      const status = engine.status("/");
      assert.match(status.error ?? "", /Model missing: .*models pull/);
      assert.equal(status.model?.name, SMALL_GENERATOR);
      assert.equal(status.models[0].name, SMALL_GENERATOR);
      if (named) {
        assert.equal(status.model?.reason, "named by --model");
      } else {
        // No GPU or too few cores here, or the 1.5B is not pulled in this empty cache.
        assert.match(status.model?.reason ?? "", /^no GPU and \d+ CPU cores?:|not pulled: /);
      }
    } finally {
      await engine.close();
    }
  }
});
