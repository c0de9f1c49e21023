/**
 * Indexing: walking the project and keeping its index fresh.
 *
 * @module
 */
export { Indexer, type IndexProgress } from "./indexer.ts";
export {
  type Freshness,
  MAX_WATCHED_DIRS,
  RESCAN_INTERVAL_MS,
  WATCH_DEBOUNCE_MS,
  watchBudget,
  type WatchOptions,
} from "./watcher.ts";
export {
  DEFAULT_IGNORES,
  fileVersion,
  type FoundFile,
  isSecretPath,
  looksBinary,
  MAX_FILE_BYTES,
  type ProjectFile,
  readProjectFiles,
  SECRET_PATTERNS,
  type SkipReason,
  walkProject,
} from "./walker.ts";
export { ProjectIndex, Projects } from "./projects.ts";
