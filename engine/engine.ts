/**
 * The composition root: the one place that builds the engine (models, syntax,
 * project indexes, pipeline, cache) and passes typed dependencies in. Every
 * front door (socket, LSP, HTTP, the command line) gets what it builds.
 *
 * @module
 */
import { SyntaxService } from "./ast/mod.ts";
import type { Config } from "./config/mod.ts";
import { KNOWN_LANGUAGES, languageOf } from "./documents/mod.ts";
import type { Engine } from "./session/mod.ts";
import { Generator, loadLlama, ModelHost } from "./inference/mod.ts";
import type { Logger } from "./log/mod.ts";
import { MAX_FILE_BYTES, Projects, readProjectFiles } from "./indexer/mod.ts";
import {
  AdapterTraining,
  type BaseModel,
  FeedbackLog,
  type FimSample,
  joinOutcomes,
} from "./learning/mod.ts";
import {
  chooseGenerator,
  findModel,
  type GeneratorChoice,
  pulledIn,
  readModelsLock,
  type ResolvedModel,
  resolveEmbedderDir,
  resolveModel,
  sha256File,
} from "./models/mod.ts";
import { releaseFreedMemory, tuneAllocator } from "./memory/mod.ts";
import { Embedder } from "./retrieval/mod.ts";
import { CompletionPipeline, heldOutLineInput } from "./pipeline.ts";
import type { ModelInfo } from "./protocol/mod.ts";
import { projectStateDir } from "./config/mod.ts";

/** The sidecar's name and version, as reported to clients. */
export const SERVER_INFO = { name: "ast-complete", version: "0.1.0" } as const;

/**
 * A model host that chooses the generator (the one named, else by hardware:
 * see chooseGenerator), resolves it and loads it; `chosen` hears the choice
 * before the load, `resolved` the file. Loading starts only when `start()` is called.
 */
function createModelHost(
  config: Config,
  log: Logger,
  chosen: (choice: GeneratorChoice) => void,
  resolved: (model: ResolvedModel) => void,
): ModelHost {
  return new ModelHost(async (signal) => {
    // The binding the generator loads with tells whether a GPU is usable and how many cores count.
    const llama = await loadLlama(config.generator.gpu, log);
    let choice: GeneratorChoice, path: string;
    try {
      choice = await chooseGenerator({
        named: config.generator.model,
        gpu: llama.gpu,
        cores: Math.min(config.generator.threads, llama.cpuMathCores),
        isPulled: pulledIn(config.cacheDir, config.modelsLock),
      });
      log.info(`Generator ${choice.name}: ${choice.reason}`);
      chosen(choice);
      const model = await resolveModel(config.cacheDir, config.modelsLock, choice.name);
      resolved(model);
      path = model.path;
    } catch (error) {
      await llama.dispose();
      throw error;
    }
    log.info(`Loading ${choice.name} from ${path}`);
    const generator = await Generator.load(path, { ...config.generator, llama, log, signal });
    // The buffers the file was read through are freed now; the heap keeps them otherwise.
    releaseFreedMemory();
    return generator;
  }, log);
}

/**
 * The projects' indexes, sharing one embedder loaded on first use. The
 * sidecar embeds on one thread, leaving the other cores to the generator.
 */
function createProjects(
  config: Config,
  log: Logger,
  options: { embedderThreads?: number; syntax?: Promise<SyntaxService> } = {},
): Projects {
  const syntax = options.syntax;
  return new Projects(config.cacheDir, async () => {
    const dir = await resolveEmbedderDir(config.cacheDir, config.modelsLock);
    return await Embedder.load(dir, { threads: options.embedderThreads ?? 1 });
  }, {
    log,
    outline: syntax &&
      (async (path: string, text: string) => (await syntax).outline(languageOf(path), text)),
  });
}

/**
 * The projects' adapters, one per project, training when its clients are
 * idle; the base model is the generator once loaded, known by its sha256
 * (its pin, or the hash of a file the user brings). A candidate is measured
 * by the pipeline completing held-out lines as it completes the user's.
 */
function createAdapters(
  config: Config,
  log: Logger,
  models: ModelHost,
  model: () => ResolvedModel | undefined,
  pipeline: CompletionPipeline,
): {
  get(root: string): AdapterTraining;
  onChange(listener: () => void): void;
  close(): Promise<void>;
} {
  const byRoot = new Map<string, AdapterTraining>();
  const listeners = new Set<() => void>();
  let digest: { path: string; sha256: Promise<string> } | undefined;
  const baseModel = async (): Promise<BaseModel | undefined> => {
    const generator = models.generator, resolved = model();
    if (!generator || !resolved) return undefined;
    if (digest?.path !== resolved.path) {
      digest = {
        path: resolved.path,
        sha256: resolved.name.endsWith(".gguf")
          ? sha256File(resolved.path)
          : readModelsLock(config.modelsLock).then((lock) => findModel(lock, resolved.name).sha256),
      };
    }
    return {
      name: resolved.name,
      path: resolved.path,
      sha256: await digest.sha256,
      architecture: generator.architecture,
    };
  };
  const completeLine = async (
    sample: FimSample,
    adapter: string | undefined,
    signal: AbortSignal,
  ) => {
    const text = sample.prefix + sample.suffix;
    const completion = await pipeline.complete(
      heldOutLineInput({
        uri: `ast-complete-heldout:${sample.path}`,
        path: sample.path,
        text,
        offset: sample.prefix.length,
      }, adapter),
      signal,
    );
    return completion.text;
  };
  // The adapter to serve depends on the model: look again once it is loaded.
  models.onChange(() => {
    for (const training of byRoot.values()) {
      training.refresh().catch((error) => log.warn(`Cannot read adapters: ${error.message}`));
    }
  });
  return {
    get(root) {
      let training = byRoot.get(root);
      if (!training) {
        const stateDir = projectStateDir(config.cacheDir, root);
        const { enabled: _, ...options } = config.learning.adapter;
        training = new AdapterTraining({
          cacheDir: config.cacheDir,
          stateDir,
          files: () => readProjectFiles(root),
          outcomes: async () => joinOutcomes(await new FeedbackLog(stateDir).readEvents()),
          baseModel,
          completeLine,
          log,
          onChange: () => listeners.forEach((listener) => listener()),
        }, options);
        byRoot.set(root, training);
        training.refresh().catch((error) => log.warn(`Cannot read adapters: ${error.message}`));
      }
      return training;
    },
    onChange: (listener) => listeners.add(listener),
    async close() {
      await Promise.all([...byRoot.values()].map((training) => training.close()));
    },
  };
}

/**
 * Builds the engine; the model starts loading when `models.start()` is
 * called, the workspace (if any) is indexed at once.
 *
 * @param workspace The real path of the project the engine was started for.
 * @param allowedRoots Real paths clients may work under; the workspace is always one.
 * @param embedderThreads Threads for embedding; 1 beside a generator, more for `index` alone.
 */
export function createEngine(
  config: Config,
  log: Logger,
  options: { workspace?: string; allowedRoots?: string[]; embedderThreads?: number } = {},
): Engine {
  const { workspace } = options;
  if (!tuneAllocator()) log.debug("C allocator left as it is (no glibc, or no FFI permission)");
  let choice: GeneratorChoice | undefined;
  const choiceListeners = new Set<() => void>();
  let resolved: ResolvedModel | undefined;
  const models = createModelHost(config, log, (made) => {
    choice = made;
    for (const listener of choiceListeners) listener();
  }, (model) => resolved = model);
  const syntax = SyntaxService.create();
  syntax.catch((error) => log.warn(`Tree-sitter unavailable: ${error.message}`));
  const pipeline = new CompletionPipeline(config, models, log, {
    syntax,
    retrieveBelowLogprob: () => resolved?.retrieveBelowLogprob,
  });
  const adapters = createAdapters(config, log, models, () => resolved, pipeline);
  const projects = createProjects(config, log, {
    syntax,
    embedderThreads: options.embedderThreads,
  });
  if (workspace) projects.open(workspace);
  // The generator is listed once it is chosen, at the start of loading.
  const describeModels = (): ModelInfo[] =>
    choice
      ? [{
        role: "generator",
        name: choice.name,
        loaded: models.generator !== undefined,
        ...(models.generator ? { promptFormat: models.generator.format } : {}),
      }]
      : [];
  return {
    config,
    log,
    models,
    projects,
    pipeline,
    server: SERVER_INFO,
    languages: KNOWN_LANGUAGES,
    allowedRoots: [...options.allowedRoots ?? [], ...workspace ? [workspace] : []],
    defaultWorkspace: workspace ?? Deno.cwd(),
    adapters: (root) => config.learning.adapter.enabled ? adapters.get(root) : undefined,
    status: (root) => {
      const error = models.error ?? projects.error;
      return {
        state: models.state,
        models: describeModels(),
        ...(choice ? { model: choice } : {}),
        index: projects.progress(root),
        limits: {
          ...config.limits,
          maxDocumentBytes: config.completion.maxDocumentBytes,
          maxIndexedFileBytes: MAX_FILE_BYTES,
        },
        ...(error ? { error } : {}),
      };
    },
    onChange: (listener) => {
      choiceListeners.add(listener);
      models.onChange(listener);
      projects.onChange(listener);
      adapters.onChange(listener);
    },
    close: async () => {
      await adapters.close();
      await projects.close();
      await models.dispose();
    },
  };
}
