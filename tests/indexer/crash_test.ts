/**
 * A killed indexer loses nothing: `main.ts index` is SIGKILLed mid-run and run
 * again; the index is then whole, with no file's chunks twice.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { IndexStore } from "../../engine/retrieval/mod.ts";
import { projectStateDir } from "../../engine/config/mod.ts";
import { taskArgs, tempCacheDir } from "../_helpers/sidecar.ts";

async function generatedProject(files: number): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "ast-complete-many-" });
  for (let index = 0; index < files; index++) {
    await Deno.writeTextFile(
      join(root, `module_${index}.py`),
      `def helper_${index}(value):\n    """Scales value by ${index}."""\n    return value * ${index}\n\n\n` +
        `class Widget${index}:\n    def render(self):\n        return "widget ${index}"\n`,
    );
  }
  return root;
}

Deno.test("main.ts index resumes after being killed mid-write, with nothing corrupt", async () => {
  const root = await generatedProject(60);
  const cacheDir = await tempCacheDir();
  const args = await taskArgs("index");
  const child = new Deno.Command(Deno.execPath(), {
    args: [...args, root],
    env: { AST_COMPLETE_CACHE_DIR: cacheDir, NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Kill it once it reports 20%: some files are committed, others are not.
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  for (let text = ""; !/: [2-9]\d% /.test(text);) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`index ended before it could be killed: ${text}`);
    text += value;
  }
  child.kill("SIGKILL");
  await child.status;
  reader.releaseLock();
  await child.stderr.cancel().catch(() => {});

  const stateDir = projectStateDir(cacheDir, root);
  const partial = await IndexStore.open(stateDir, 384);
  const committed = partial.counts().files;
  await partial.close();
  assert.ok(committed > 0 && committed < 60, `killed midway: ${committed} files committed`);

  const rerun = await new Deno.Command(Deno.execPath(), {
    args: [...args, root],
    env: { AST_COMPLETE_CACHE_DIR: cacheDir, NO_COLOR: "1" },
    stdin: "null",
  }).output();
  assert.equal(rerun.code, 0, new TextDecoder().decode(rerun.stderr));
  const store = await IndexStore.open(stateDir, 384);
  assert.equal(store.counts().files, 60);
  assert.equal(store.counts().chunks, 60, "one chunk a file (both blocks are small), none twice");
  assert.equal(store.lexicalSearch(["helper_59"], 1).length, 1);
  await store.close();
});
