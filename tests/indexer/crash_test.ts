/**
 * A killed indexer loses nothing: `main.ts index` is SIGKILLed mid-run (while
 * it embeds the chunks it stored) and run again; the index is then whole, with
 * no file's chunks twice and every chunk embedded.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { IndexStore } from "../../engine/retrieval/mod.ts";
import { projectStateDir } from "../../engine/config/mod.ts";
import { taskArgs, tempCacheDir } from "../_helpers/sidecar.ts";
import { loadIndexing } from "../_helpers/indexing.ts";

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

Deno.test("main.ts index resumes after being killed mid-embedding, with nothing corrupt", async () => {
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
  // Kill it once embedding reports 20%: every file is stored, some vectors are, others are not.
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  for (let text = ""; !/: [2-9]\d% \(\d+ chunks/.test(text);) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`index ended before it could be killed: ${text}`);
    text += value;
  }
  child.kill("SIGKILL");
  await child.status;
  reader.releaseLock();
  await child.stderr.cancel().catch(() => {});

  const stateDir = projectStateDir(cacheDir, root);
  // The embedder the index command uses: opened with another model, the store would forget its vectors.
  const { embedder } = await loadIndexing();
  const partial = await IndexStore.open(stateDir, embedder);
  const committed = partial.counts().files;
  const embedded = partial.counts().chunks - partial.vectorsPending();
  await partial.close();
  assert.equal(committed, 60, "every file is stored before any chunk is embedded");
  assert.ok(embedded > 0 && embedded < 60, `killed midway: ${embedded} chunks embedded`);

  const rerun = await new Deno.Command(Deno.execPath(), {
    args: [...args, root],
    env: { AST_COMPLETE_CACHE_DIR: cacheDir, NO_COLOR: "1" },
    stdin: "null",
  }).output();
  assert.equal(rerun.code, 0, new TextDecoder().decode(rerun.stderr));
  const store = await IndexStore.open(stateDir, embedder);
  assert.equal(store.counts().files, 60);
  assert.equal(store.counts().chunks, 60, "one chunk a file (both blocks are small), none twice");
  assert.equal(store.lexicalSearch(["helper_59"], 1).length, 1);
  assert.equal(store.vectorsPending(), 0, "the rerun embeds what the killed one left");
  assert.equal(store.vectorSearch(new Float32Array(384).fill(1 / Math.sqrt(384)), 100).length, 60);
  await store.close();
});
