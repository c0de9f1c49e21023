/**
 * resolveModel(): a pinned model checked against its pin, a `--model` path
 * checked for a GGUF header; each refusal names the file, the problem and
 * the fix.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { resolveModel } from "../../engine/models/mod.ts";
import { ModelMissingError } from "../../engine/protocol/errors.ts";
import { ErrorCode } from "../../engine/protocol/mod.ts";
import { tinyLlamaGguf } from "../_helpers/gguf_writer.ts";

const MODEL = tinyLlamaGguf({ fim: true });

/**
 * A cache holding `bytes` as the model "tiny", pinned to MODEL with `pin`'s
 * fields added, and its lock file.
 */
async function pinnedCache(
  bytes: Uint8Array,
  pin: Record<string, unknown> = {},
): Promise<{ cacheDir: string; lock: string }> {
  const cacheDir = await Deno.makeTempDir({ prefix: "ast-complete-resolve-" });
  await Deno.mkdir(join(cacheDir, "models"));
  await Deno.writeFile(join(cacheDir, "models", "tiny.gguf"), bytes);
  const lock = join(cacheDir, "models.lock");
  await Deno.writeTextFile(
    lock,
    JSON.stringify({
      version: 1,
      models: [{
        name: "tiny",
        role: "generator",
        file: "tiny.gguf",
        sha256: createHash("sha256").update(MODEL).digest("hex"),
        size: MODEL.length,
        found: "a tiny test model",
        sources: [{ kind: "url", url: "http://127.0.0.1:9/tiny.gguf" }],
        ...pin,
      }],
    }),
  );
  return { cacheDir, lock };
}

Deno.test("resolveModel() refuses a truncated pinned model with its size and the pull command", async () => {
  const { cacheDir, lock } = await pinnedCache(MODEL.subarray(0, 1234));
  const path = join(cacheDir, "models", "tiny.gguf");
  await assert.rejects(resolveModel(cacheDir, lock, "tiny"), (error: Error) => {
    assert.ok(error instanceof ModelMissingError);
    assert.equal(error.code, ErrorCode.ModelMissing);
    assert.equal(
      error.message,
      `Model corrupt: ${path} is truncated: 1234 of ${MODEL.length} bytes; ` +
        "fetch it again with `deno task models pull tiny`",
    );
    return true;
  });
});

Deno.test("resolveModel() accepts a whole pinned model", async () => {
  const { cacheDir, lock } = await pinnedCache(MODEL);
  assert.deepEqual(await resolveModel(cacheDir, lock, "tiny"), {
    name: "tiny",
    path: join(cacheDir, "models", "tiny.gguf"),
  });
});

Deno.test("resolveModel() carries the pin's selective-retrieval threshold to the pipeline", async () => {
  const { cacheDir, lock } = await pinnedCache(MODEL, { retrieveBelowLogprob: -0.5 });
  assert.equal((await resolveModel(cacheDir, lock, "tiny")).retrieveBelowLogprob, -0.5);
});

Deno.test("resolveModel() refuses a --model path that is not a GGUF model, naming it", async () => {
  const { cacheDir, lock } = await pinnedCache(MODEL);
  const path = join(cacheDir, "notes.gguf");
  await Deno.writeTextFile(path, "these are notes, not a model");
  await assert.rejects(
    resolveModel(cacheDir, lock, path),
    new ModelMissingError(
      `Model file ${path} is not a GGUF model: it starts with bytes 74 68 65 73, not "GGUF"`,
    ),
  );
  await assert.rejects(
    resolveModel(cacheDir, lock, join(cacheDir, "absent.gguf")),
    new ModelMissingError(`Model file not found: ${join(cacheDir, "absent.gguf")}`),
  );
});
