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
import { MAX_FILE_BYTES, Projects } from "./indexer/mod.ts";
import {
  chooseGenerator,
  type GeneratorChoice,
  pulledIn,
  resolveEmbedderDir,
  resolveModel,
} from "./models/mod.ts";
import { Embedder } from "./retrieval/mod.ts";
import { CompletionPipeline } from "./pipeline.ts";
import type { ModelInfo } from "./protocol/mod.ts";

/** The sidecar's name and version, as reported to clients. */
export const SERVER_INFO = { name: "ast-complete", version: "0.1.0" } as const;

/**
 * A model host that chooses the generator (the one named, else by hardware:
 * see chooseGenerator), resolves it and loads it; `chosen` hears the choice
 * before the load. Loading starts only when `start()` is called.
 */
function createModelHost(
  config: Config,
  log: Logger,
  chosen: (choice: GeneratorChoice) => void,
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
      path = (await resolveModel(config.cacheDir, config.modelsLock, choice.name)).path;
    } catch (error) {
      await llama.dispose();
      throw error;
    }
    log.info(`Loading ${choice.name} from ${path}`);
    return await Generator.load(path, { ...config.generator, llama, log, signal });
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
  let choice: GeneratorChoice | undefined;
  const choiceListeners = new Set<() => void>();
  const models = createModelHost(config, log, (made) => {
    choice = made;
    for (const listener of choiceListeners) listener();
  });
  const syntax = SyntaxService.create();
  syntax.catch((error) => log.warn(`Tree-sitter unavailable: ${error.message}`));
  const pipeline = new CompletionPipeline(config, models, log, syntax);
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
    },
    close: async () => {
      await projects.close();
      await models.dispose();
    },
  };
}
