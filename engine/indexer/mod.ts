/**
 * Indexing: walking the project and keeping its index fresh.
 *
 * @module
 */
export { Indexer, type IndexProgress } from "./indexer.ts";
export {
  DEFAULT_IGNORES,
  type FoundFile,
  isSecretPath,
  looksBinary,
  MAX_FILE_BYTES,
  SECRET_PATTERNS,
  type SkipReason,
  walkProject,
} from "./walker.ts";
export { ProjectIndex, Projects } from "./projects.ts";
