import assert from "node:assert/strict";
import { join } from "node:path";
import { findModel, readModelsLock } from "../../engine/models/mod.ts";

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
    assert.equal(
      model.sources.at(-1)?.kind,
      "pypi-parts",
      `${model.name}: reachable without the hub`,
    );
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
  await Deno.writeTextFile(path, "{not json");
  await assert.rejects(readModelsLock(path), /Cannot read models lock/);
});

Deno.test("findModel() names the models that exist when asked for an unknown one", async () => {
  const lock = await readModelsLock(LOCK);
  assert.throws(() => findModel(lock, "nope"), /Unknown model: nope \(models.lock has qwen2\.5/);
});
