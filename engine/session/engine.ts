/**
 * The engine as sessions and front doors see it. `createEngine`
 * (engine/engine.ts), the one composition root, builds it; nothing else does.
 */
import type { Config } from "../config/mod.ts";
import type { ModelHost } from "../inference/mod.ts";
import type { Projects } from "../indexer/mod.ts";
import type { AdapterTraining } from "../learning/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { CompletionPipeline } from "../pipeline.ts";
import type { StatusRequest } from "../protocol/mod.ts";

/** What `status` says of the engine itself; sessions and transports add their own parts. */
export type EngineStatus = Omit<
  StatusRequest.Result,
  "documents" | "connections" | "feedbackError" | "learning"
>;

/** The engine behind every front door: models, project indexes and the completion pipeline. */
export interface Engine {
  config: Config;
  log: Logger;
  models: ModelHost;
  projects: Projects;
  pipeline: CompletionPipeline;
  /** The server's name and version, as reported to clients. */
  server: { name: string; version: string };
  /** Language ids the engine completes. */
  languages: string[];
  /**
   * Real paths clients may work under (`--workspace`, `--allow-root`); when
   * empty, any project root (a folder with a marker such as .git) but "/"
   * and the home folder.
   */
  allowedRoots: string[];
  /** Workspace of clients that never call `initialize`. */
  defaultWorkspace: string;
  /**
   * The LoRA adapter of the project at `workspace` (one per project, shared
   * by its sessions); undefined when adapters are off (AST_COMPLETE_ADAPTER=off).
   */
  adapters(workspace: string): AdapterTraining | undefined;
  /** The engine's status for a client working in `workspace`. */
  status(workspace: string): EngineStatus;
  /** Calls `listener` whenever the status may have changed (models, indexing). */
  onChange(listener: () => void): void;
  /** Stops indexing, frees the indexes and the model. */
  close(): Promise<void>;
}
