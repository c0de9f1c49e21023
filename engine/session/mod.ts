/**
 * The transport-free session layer: what every front door (the socket
 * server, the language server, the HTTP endpoint, the command line) does
 * with a client, whatever carries its messages. A session validates
 * parameters, holds the client's documents, maps the pipeline's completions
 * to wire results, and turns failures into protocol errors and cancellation
 * tokens into abort signals.
 *
 * @module
 */
export { ClientSession } from "./client_session.ts";
export { type CancellationTokenLike, requestFailure, withCancellation } from "./failures.ts";
export {
  checkChosenRoot,
  checkWorkspaceRoot,
  PROJECT_MARKERS,
  realPathOf,
} from "./workspace_root.ts";
export { optionalParamsObject, paramsObject } from "./validate.ts";
export type { Engine, EngineStatus } from "./engine.ts";
