/**
 * Models: the pins in models.lock, the files in the cache, and fetching them.
 *
 * @module
 */
import { findModel, readModelsLock } from "./lock.ts";
import { join } from "node:path";
import { ModelMissingError } from "../protocol/errors.ts";
import { checkGgufHeader } from "./gguf_file.ts";
import { checkModelFile, modelsDir } from "./store.ts";

export { findModel, pulledByDefault, readModelsLock, selectModels } from "./lock.ts";
export type { LockedModel, ModelsLock, ModelSource } from "./lock.ts";
export { checkModelFile, modelPath, sha256File } from "./store.ts";
export { pullModel } from "./pull.ts";
export { checkGgufFile, checkGgufHeader, writeGgufWithout } from "./gguf_file.ts";
export {
  chooseGenerator,
  type GeneratorChoice,
  type GeneratorChoiceInput,
  LARGE_GENERATOR,
  LARGE_GENERATOR_MIN_CORES,
  pulledIn,
  SMALL_GENERATOR,
} from "./choose.ts";

/** A generator model ready to load. */
export interface ResolvedModel {
  name: string;
  path: string;
  /** The pin's selective-retrieval threshold (see LockedModel.retrieveBelowLogprob). */
  retrieveBelowLogprob?: number;
}

/**
 * Finds the file for a model named in the configuration: a name in models.lock,
 * or a path to a .gguf file the user brings. A pinned model's size is checked
 * against its pin, with a full sha256 the first time (see checkModelFile); a
 * file the user brings must start like a GGUF model (the generator checks the
 * rest when it loads it, see checkGgufFile).
 *
 * @throws ModelMissingError naming the file, the problem and the fix.
 */
export async function resolveModel(
  cacheDir: string,
  lockPath: string,
  name: string,
): Promise<ResolvedModel> {
  if (name.endsWith(".gguf")) {
    await checkGgufHeader(name);
    return { name, path: name };
  }
  const model = findModel(await readModelsLock(lockPath), name);
  const check = await checkModelFile(cacheDir, model);
  if (check.state === "missing") {
    throw new ModelMissingError(
      `Model missing: ${name} is not at ${check.path}; fetch it with \`deno task models pull ${name}\``,
    );
  }
  if (check.state === "corrupt" || check.state === "outdated") {
    throw new ModelMissingError(
      `Model ${check.state}: ${check.path} ${check.detail}; fetch it again with \`deno task models pull ${name}\``,
    );
  }
  return {
    name,
    path: check.path,
    ...(model.retrieveBelowLogprob === undefined
      ? {}
      : { retrieveBelowLogprob: model.retrieveBelowLogprob }),
  };
}

/**
 * The folder of the embedder's files (config, tokenizer, ONNX weights), once
 * every one of them is present and verified.
 *
 * @throws ModelMissingError naming the fetch command.
 */
export async function resolveEmbedderDir(cacheDir: string, lockPath: string): Promise<string> {
  const files = (await readModelsLock(lockPath)).models.filter((model) =>
    model.role === "embedder"
  );
  if (files.length === 0) throw new ModelMissingError("models.lock pins no embedder");
  for (const file of files) {
    const check = await checkModelFile(cacheDir, file);
    if (check.state !== "present") {
      throw new ModelMissingError(
        `Embedder ${check.state}: ${check.path}; fetch it with \`deno task models pull\``,
      );
    }
  }
  return join(modelsDir(cacheDir), files[0].file.split("/")[0]);
}
