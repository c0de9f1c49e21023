/**
 * JSON-RPC over a Unix socket (vscode-jsonrpc framing): one connection per
 * client, each with its own view of the client's buffers. No request can take
 * the server down: every handler turns failures into JSON-RPC errors.
 */
import { createServer, type Server, type Socket } from "node:net";
import { isAbsolute, relative, resolve } from "node:path";
import {
  type CancellationToken,
  createMessageConnection,
  type MessageConnection,
  ResponseError,
  type ResponseMessage,
  SocketMessageReader,
  SocketMessageWriter,
} from "vscode-jsonrpc/node";
import { DocumentStore, languageOf, pathOf } from "../documents/mod.ts";
import { CancelledError, type ModelHost } from "../inference/mod.ts";
import { FeedbackLog, projectStateDir } from "../learning/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { CompletionPipeline } from "../pipeline.ts";
import {
  CompleteRequest,
  DocumentNotification,
  ErrorCode,
  FeedbackRequest,
  InitializeRequest,
  type ModelInfo,
  ShutdownRequest,
  StatusChangedNotification,
  StatusRequest,
} from "../protocol/mod.ts";
import { EngineError } from "../protocol/errors.ts";
import {
  optionalCount,
  optionalString,
  paramsObject,
  requiredChoice,
  requiredPosition,
  requiredString,
} from "./validate.ts";

/** What the server is built from. */
export interface RpcServerOptions {
  name: string;
  version: string;
  cacheDir: string;
  log: Logger;
  models: ModelHost;
  pipeline: CompletionPipeline;
  /** Describes the models for `initialize` and `status`. */
  describeModels: () => ModelInfo[];
  /** Language ids the server completes. */
  languages: string[];
  /** When set, clients may only work under this directory. */
  allowedRoot?: string;
  /** Workspace used by clients that never call `initialize`. */
  defaultWorkspace: string;
}

/** Suggestions remembered per connection so feedback can refer to them. */
const RECENT_RESULTS = 256;

interface Shown {
  text: string;
  languageId: string;
  path: string;
}

/** The JSON-RPC server. */
export class RpcServer {
  #options: RpcServerOptions;
  #server: Server;
  #connections = new Set<MessageConnection>();
  #shutdownListeners = new Set<() => void>();
  #socketPath?: string;

  constructor(options: RpcServerOptions) {
    this.#options = options;
    this.#server = createServer((socket) => this.#accept(socket));
    options.models.onChange(() => this.#broadcastStatus());
  }

  /** Listens on `path` and makes the socket private to this user. */
  async listen(path: string): Promise<void> {
    await new Promise<void>((resolveListen, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(path, () => {
        this.#server.off("error", reject);
        resolveListen();
      });
    });
    this.#socketPath = path;
    await Deno.chmod(path, 0o600);
  }

  /** Calls `listener` when a client asks the server to shut down. */
  onShutdown(listener: () => void): void {
    this.#shutdownListeners.add(listener);
  }

  /** Closes every connection and the socket, and removes the socket file. */
  async close(): Promise<void> {
    for (const connection of this.#connections) connection.dispose();
    this.#connections.clear();
    await new Promise<void>((done) => this.#server.close(() => done()));
    if (this.#socketPath) await Deno.remove(this.#socketPath).catch(() => undefined);
  }

  #broadcastStatus(): void {
    const status = this.#status();
    for (const connection of this.#connections) {
      // A client that went away is no reason to fail the others; vscode-jsonrpc throws
      // synchronously on a disposed connection and asynchronously on a broken socket.
      try {
        connection.sendNotification(StatusChangedNotification.method, status).catch(() => {});
      } catch {
        this.#connections.delete(connection);
      }
    }
  }

  #status(): StatusRequest.Result {
    const models = this.#options.models;
    return {
      state: models.state,
      models: this.#options.describeModels(),
      index: { files: 0, chunks: 0, pending: 0, state: "off" },
      ...(models.error ? { error: models.error } : {}),
    };
  }

  #accept(socket: Socket): void {
    const { log } = this.#options;
    const writer = new SocketMessageWriter(socket);
    const connection = createMessageConnection(new SocketMessageReader(socket), writer);
    const documents = new DocumentStore();
    const shown = new Map<string, Shown>();
    let workspace = this.#options.defaultWorkspace;
    let feedbackLog = new FeedbackLog(projectStateDir(this.#options.cacheDir, workspace));

    connection.onError(([error]) => {
      // vscode-jsonrpc drops unparsable messages silently; tell the client why.
      log.warn(`Unreadable message: ${error.message}`);
      writer.write({
        jsonrpc: "2.0",
        id: null,
        error: { code: ErrorCode.ParseError, message: `Parse error: ${error.message}` },
      } as ResponseMessage).catch(() => undefined);
    });
    connection.onClose(() => {
      this.#connections.delete(connection);
      connection.dispose();
    });

    connection.onRequest(
      InitializeRequest.method,
      handled(log, (raw) => {
        const params = paramsObject(raw);
        const root = requiredString(params, "workspaceRoot");
        if (!isAbsolute(root)) {
          throw new EngineError(
            ErrorCode.InvalidParams,
            `Invalid params: "workspaceRoot" must be an absolute path`,
          );
        }
        const allowed = this.#options.allowedRoot;
        if (allowed && relative(allowed, resolve(root)).startsWith("..")) {
          throw new EngineError(
            ErrorCode.WorkspaceNotAllowed,
            `Workspace not allowed: ${root} is outside ${allowed}, the root this sidecar was started for`,
          );
        }
        workspace = resolve(root);
        feedbackLog = new FeedbackLog(projectStateDir(this.#options.cacheDir, workspace));
        const client = params.client as { name?: string; version?: string } | undefined;
        log.info(`Client ${client?.name ?? "unknown"} ${client?.version ?? ""} on ${workspace}`);
        return {
          server: { name: this.#options.name, version: this.#options.version },
          models: this.#options.describeModels(),
          languages: this.#options.languages,
        } satisfies InitializeRequest.Result;
      }),
    );

    connection.onRequest(StatusRequest.method, handled(log, () => this.#status()));

    const syncDocument = (raw: unknown) => {
      try {
        const params = paramsObject(raw);
        const uri = requiredString(params, "uri");
        const text = optionalString(params, "text");
        if (text === undefined) return;
        const held = documents.get(uri);
        documents.set({
          uri,
          text,
          languageId: optionalString(params, "languageId") ?? held?.languageId ??
            languageOf(pathOf(uri)),
          version: optionalCount(params, "version") ?? (held ? held.version + 1 : 0),
        });
      } catch (error) {
        log.warn(`Ignored document notification: ${(error as Error).message}`);
      }
    };
    connection.onNotification(DocumentNotification.didOpen, syncDocument);
    connection.onNotification(DocumentNotification.didChange, syncDocument);
    connection.onNotification(DocumentNotification.didSave, syncDocument);
    connection.onNotification(DocumentNotification.didClose, (raw: unknown) => {
      const uri = (raw as { uri?: unknown })?.uri;
      if (typeof uri === "string") documents.delete(uri);
    });

    connection.onRequest(
      CompleteRequest.method,
      handled(log, async (raw, token) => {
        const params = paramsObject(raw);
        const uri = requiredString(params, "uri");
        const position = requiredPosition(params, "position");
        const held = documents.get(uri);
        const text = optionalString(params, "text") ?? held?.text;
        if (text === undefined) {
          throw new EngineError(
            ErrorCode.UnknownDocument,
            `Unknown document: ${uri} was not opened with document/didOpen and no text was given`,
          );
        }
        const filePath = pathOf(uri);
        const languageId = optionalString(params, "languageId") ?? held?.languageId ??
          languageOf(filePath);
        const path = isAbsolute(filePath) ? relative(workspace, filePath) : filePath;
        const cancel = new AbortController();
        // A token cancelled before dispatch never fires its event in vscode-jsonrpc: check it first.
        if (token.isCancellationRequested) cancel.abort();
        const subscription = token.onCancellationRequested(() => cancel.abort());
        try {
          const result = await this.#options.pipeline.complete(
            { uri, path, languageId, text, position, maxLines: optionalCount(params, "maxLines") },
            cancel.signal,
          );
          if (result.items[0]) {
            shown.set(result.id, { text: result.items[0].text, languageId, path });
          }
          while (shown.size > RECENT_RESULTS) shown.delete(shown.keys().next().value!);
          return result;
        } finally {
          subscription.dispose();
        }
      }),
    );

    connection.onRequest(
      FeedbackRequest.method,
      handled(log, async (raw) => {
        const params = paramsObject(raw);
        const id = requiredString(params, "id");
        const outcome = requiredChoice(
          params,
          "outcome",
          ["accepted", "rejected", "partial"] as const,
        );
        const suggestion = shown.get(id);
        if (!suggestion) {
          throw new EngineError(
            ErrorCode.InvalidParams,
            `Invalid params: unknown completion id ${id}`,
          );
        }
        const acceptedText = optionalString(params, "acceptedText");
        await feedbackLog.append({
          time: new Date().toISOString(),
          id,
          outcome,
          ...suggestion,
          ...(acceptedText !== undefined ? { acceptedText } : {}),
        });
        log.info(`Feedback ${outcome} for ${id}`);
        return {};
      }),
    );

    connection.onRequest(ShutdownRequest.method, () => {
      // Answer first; the listeners stop the process once the reply is out.
      setTimeout(() => this.#shutdownListeners.forEach((listener) => listener()), 0);
      return {};
    });

    this.#connections.add(connection);
    connection.listen();
  }
}

/**
 * Wraps a handler so every failure becomes a JSON-RPC error: cancellation as
 * RequestCancelled (not logged as an error), EngineError with its code,
 * anything else as InternalError with its message.
 */
function handled<R>(
  log: Logger,
  handler: (params: unknown, token: CancellationToken) => R | Promise<R>,
): (params: unknown, token: CancellationToken) => Promise<R | ResponseError<void>> {
  return async (params, token) => {
    try {
      return await handler(params, token);
    } catch (error) {
      if (error instanceof CancelledError) {
        return new ResponseError(
          ErrorCode.RequestCancelled,
          "Request cancelled: superseded or cancelled by the client",
        );
      }
      if (error instanceof EngineError) return new ResponseError(error.code, error.message);
      log.error(`Request failed: ${(error as Error).stack ?? error}`);
      return new ResponseError(
        ErrorCode.InternalError,
        `Internal error: ${(error as Error).message}`,
      );
    }
  };
}
