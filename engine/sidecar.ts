/**
 * The composition root: builds every component of the sidecar and passes
 * typed dependencies in.
 *
 * @module
 */
import { SyntaxService } from "./ast/mod.ts";
import type { Config } from "./config/mod.ts";
import { KNOWN_LANGUAGES, languageOf } from "./documents/mod.ts";
import type { SessionOptions } from "./server/client_session.ts";
import { Generator, ModelHost } from "./inference/mod.ts";
import type { Logger } from "./log/mod.ts";
import { Projects } from "./indexer/mod.ts";
import { resolveEmbedderDir, resolveModel } from "./models/mod.ts";
import { Embedder } from "./retrieval/mod.ts";
import { CompletionPipeline } from "./pipeline.ts";
import type { ModelInfo } from "./protocol/mod.ts";
import { RpcServer } from "./server/rpc_server.ts";

/** The sidecar's name and version, as reported to clients. */
export const SERVER_INFO = { name: "ast-complete", version: "0.1.0" } as const;

/**
 * A model host that resolves the configured generator and loads it.
 * Loading starts only when `start()` is called.
 */
export function createModelHost(config: Config, log: Logger): ModelHost {
  return new ModelHost(async () => {
    const model = await resolveModel(config.cacheDir, config.modelsLock, config.generator.model);
    log.info(`Loading ${model.name} from ${model.path}`);
    return await Generator.load(model.path, { ...config.generator, log });
  }, log);
}

/**
 * The projects' indexes, sharing one embedder loaded on first use. The
 * sidecar embeds on one thread, leaving the other cores to the generator.
 */
export function createProjects(
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

/** The engine behind every front door: models, pipeline and project indexes. */
export interface Engine {
  models: ModelHost;
  pipeline: CompletionPipeline;
  projects: Projects;
  /** What each client session is built from. */
  session: SessionOptions;
  describeModels(): ModelInfo[];
  /** Frees the indexes and the model. */
  close(): Promise<void>;
}

/**
 * Builds the engine; the model starts loading when `models.start()` is called.
 *
 * @param workspace The real path of the project the sidecar was started for, indexed at once.
 * @param allowedRoots Real paths clients may work under; the workspace is always one.
 */
export function createEngine(
  config: Config,
  log: Logger,
  options: { workspace?: string; allowedRoots?: string[] } = {},
): Engine {
  const { workspace } = options;
  const models = createModelHost(config, log);
  const syntax = SyntaxService.create();
  syntax.catch((error) => log.warn(`Tree-sitter unavailable: ${error.message}`));
  const pipeline = new CompletionPipeline(config, models, log, syntax);
  const projects = createProjects(config, log, { syntax });
  if (workspace) projects.open(workspace);
  return {
    models,
    pipeline,
    projects,
    session: {
      cacheDir: config.cacheDir,
      log,
      pipeline,
      projects,
      allowedRoots: [...options.allowedRoots ?? [], ...workspace ? [workspace] : []],
      defaultWorkspace: workspace ?? Deno.cwd(),
      maxDocumentBytes: config.completion.maxDocumentBytes,
      limits: config.limits,
    },
    describeModels: () => [{
      role: "generator",
      name: config.generator.model,
      loaded: models.generator !== undefined,
      ...(models.generator ? { promptFormat: models.generator.format } : {}),
    }],
    close: async () => {
      await projects.close();
      await models.dispose();
    },
  };
}

/** What `serve` keeps running. */
export interface Sidecar {
  server: RpcServer;
  models: ModelHost;
  /** Stops serving, removes the socket and frees the model. */
  close(): Promise<void>;
}

/**
 * Starts the JSON-RPC server on `socketPath` at once and loads the model in
 * the background.
 */
export async function startSidecar(
  config: Config,
  socketPath: string,
  options: { log: Logger; workspace?: string; allowedRoots?: string[] },
): Promise<Sidecar> {
  const { log } = options;
  const engine = createEngine(config, log, options);
  const server = new RpcServer({
    ...SERVER_INFO,
    ...engine.session,
    models: engine.models,
    describeModels: engine.describeModels,
    languages: KNOWN_LANGUAGES,
  });
  await server.listen(socketPath);
  log.info(`Listening on ${socketPath}`);
  engine.models.start();
  return {
    server,
    models: engine.models,
    close: async () => {
      await server.close();
      await engine.close();
    },
  };
}
