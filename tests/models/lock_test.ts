import assert from "node:assert/strict";
import { join } from "node:path";
import {
  findModel,
  type LockedModel,
  type ModelsLock,
  readModelsLock,
  selectModels,
  SMALL_GENERATOR,
} from "../../engine/models/mod.ts";

const LOCK = new URL("../../models.lock", import.meta.url).pathname;

Deno.test("readModelsLock() reads the repository's pins, each with a registry source that adds up", async () => {
  const lock = await readModelsLock(LOCK);
  assert.ok(
    lock.models.some((model) => model.role === "generator" && model.promptFormat === "fim"),
  );
  assert.ok(
    lock.models.some((model) => model.role === "generator" && model.promptFormat === "chat"),
  );
  for (const model of lock.models) {
    const last = model.sources.at(-1)!;
    // A model made from another is reachable where that one is (the lock refuses chains).
    const fetched = last.kind === "gguf-without"
      ? findModel(lock, last.model).sources.at(-1)!
      : last;
    // Registries (PyPI, Maven Central) are reachable where the model hub is not.
    const registry = fetched.kind === "pypi-parts" ||
      fetched.kind === "zip-member" && fetched.url.startsWith("https://repo1.maven.org/");
    assert.ok(registry, `${model.name}: reachable without the hub`);
    for (const source of model.sources) {
      if (source.kind !== "pypi-parts") continue;
      const total = source.parts.reduce((sum, part) => sum + part.size, 0);
      assert.equal(total, model.size, `${model.name}: the parts add up to the model`);
    }
  }
});

Deno.test("readModelsLock() refuses a lock with an incomplete entry", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "models.lock");
  await Deno.writeTextFile(
    path,
    JSON.stringify({ version: 1, models: [{ name: "x", file: "x.gguf" }] }),
  );
  await assert.rejects(readModelsLock(path), /entry "x" is incomplete/);
  const whole = (await readModelsLock(LOCK)).models.find((model) =>
    model.sources.every((source) => source.kind !== "gguf-without")
  )!;
  await Deno.writeTextFile(
    path,
    JSON.stringify({ version: 1, models: [{ ...whole, pull: "sometimes" }] }),
  );
  await assert.rejects(readModelsLock(path), /is incomplete/, "an unknown pull value");
  for (const retrieveBelowLogprob of [0.5, "-1"]) {
    await Deno.writeTextFile(
      path,
      JSON.stringify({ version: 1, models: [{ ...whole, retrieveBelowLogprob }] }),
    );
    await assert.rejects(
      readModelsLock(path),
      /is incomplete/,
      `a selective-retrieval threshold of ${JSON.stringify(retrieveBelowLogprob)}`,
    );
  }
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      version: 1,
      models: [{
        ...whole,
        sources: [{ kind: "zip-member", url: "https://x/y.jar", member: "m" }],
      }],
    }),
  );
  await assert.rejects(readModelsLock(path), /is incomplete/, "an archive without its size");
  const madeFrom = (model: string) => ({
    ...whole,
    name: "made",
    sources: [{ kind: "gguf-without", model, tensors: ["output.weight"] }],
  });
  await Deno.writeTextFile(path, JSON.stringify({ version: 1, models: [madeFrom("absent")] }));
  await assert.rejects(readModelsLock(path), /"made" is made from "absent", which is not a model/);
  await Deno.writeTextFile(
    path,
    JSON.stringify({ version: 1, models: [madeFrom("made")] }),
  );
  await assert.rejects(readModelsLock(path), /made from "made"/, "made from itself");
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      version: 1,
      models: [whole, { ...madeFrom(whole.name), sources: [{ kind: "gguf-without" }] }],
    }),
  );
  await assert.rejects(readModelsLock(path), /entry "made" is incomplete/, "no model, no tensors");
  await Deno.writeTextFile(path, "{not json");
  await assert.rejects(readModelsLock(path), /Cannot read models lock/);
});

Deno.test("findModel() names the models that exist when asked for an unknown one", async () => {
  const lock = await readModelsLock(LOCK);
  assert.throws(() => findModel(lock, "nope"), /Unknown model: nope \(models.lock has qwen2\.5/);
});

Deno.test("selectModels(): a plain pull leaves out what is pulled on request; names and --all get it", () => {
  const entry = (name: string, pull?: LockedModel["pull"]) =>
    ({ name, ...(pull ? { pull } : {}) }) as LockedModel;
  const lock: ModelsLock = {
    version: 1,
    models: [entry("small"), entry("large", "on-request"), entry("embedder", "default")],
  };
  const names = (models: LockedModel[]) => models.map((model) => model.name);
  assert.deepEqual(names(selectModels(lock, [])), ["small", "embedder"]);
  assert.deepEqual(names(selectModels(lock, [], { all: true })), ["small", "large", "embedder"]);
  assert.deepEqual(names(selectModels(lock, ["large"])), ["large"]);
  assert.throws(() => selectModels(lock, ["large"], { all: true }), /names or --all, not both/);
  assert.throws(() => selectModels(lock, ["huge"]), /Unknown model: huge/);
});

Deno.test("CI's plain `models pull` fetches the generator the tests use and the embedder, not the 1.5B", async () => {
  const lock = await readModelsLock(LOCK);
  const plain = selectModels(lock, []).map((model) => model.name);
  assert.ok(plain.includes(SMALL_GENERATOR));
  assert.ok(plain.includes("all-minilm-l6-v2-int8/model"));
  assert.ok(!plain.includes("qwen2.5-coder-1.5b-instruct-q4_k_m"));
});
