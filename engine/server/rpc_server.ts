/**
 * JSON-RPC over a Unix socket (vscode-jsonrpc framing): one connection and one
 * ClientSession per client. No request can take the server down: every
 * handler turns failures into JSON-RPC errors.
 */
import { createServer, type Server, type Socket } from "node:net";
import {
  type CancellationToken,
  createMessageConnection,
  type MessageConnection,
  ResponseError,
  type ResponseMessage,
  SocketMessageReader,
  SocketMessageWriter,
} from "vscode-jsonrpc/node";
import type { ModelHost } from "../inference/mod.ts";
import type { Logger } from "../log/mod.ts";
import {
  CompleteRequest,
  DocumentNotification,
  ErrorCode,
  FeedbackRequest,
  IndexRebuildRequest,
  InitializeRequest,
  type ModelInfo,
  ShutdownRequest,
  StatusChangedNotification,
  StatusRequest,
} from "../protocol/mod.ts";
import { ClientSession, type SessionOptions } from "./client_session.ts";
import { requestFailure, withCancellation } from "./failures.ts";

/** What the server is built from. */
export interface RpcServerOptions extends SessionOptions {
  name: string;
  version: string;
  models: ModelHost;
  /** Describes the models for `initialize` and `status`. */
  describeModels: () => ModelInfo[];
  /** Language ids the server completes. */
  languages: string[];
}

/** The JSON-RPC server. */
export class RpcServer {
  #options: RpcServerOptions;
  #server: Server;
  #connections = new Map<MessageConnection, ClientSession>();
  #shutdownListeners = new Set<() => void>();
  #socketPath?: string;

  constructor(options: RpcServerOptions) {
    this.#options = options;
    this.#server = createServer((socket) => this.#accept(socket));
    options.models.onChange(() => this.#broadcastStatus());
    options.projects.onChange(() => this.#broadcastStatus());
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
    for (const connection of this.#connections.keys()) connection.dispose();
    this.#connections.clear();
    await new Promise<void>((done) => this.#server.close(() => done()));
    if (this.#socketPath) await Deno.remove(this.#socketPath).catch(() => undefined);
  }

  #broadcastStatus(): void {
    for (const [connection, session] of this.#connections) {
      // A client that went away is no reason to fail the others; vscode-jsonrpc throws
      // synchronously on a disposed connection and asynchronously on a broken socket.
      try {
        connection.sendNotification(StatusChangedNotification.method, this.#status(session))
          .catch(() => {});
      } catch {
        this.#connections.delete(connection);
      }
    }
  }

  #status(session: ClientSession): StatusRequest.Result {
    const { models, projects } = this.#options;
    const error = models.error ?? projects.error;
    return {
      state: models.state,
      models: this.#options.describeModels(),
      index: session.indexProgress(),
      ...(error ? { error } : {}),
    };
  }

  #accept(socket: Socket): void {
    const { log } = this.#options;
    const writer = new SocketMessageWriter(socket);
    const connection = createMessageConnection(new SocketMessageReader(socket), writer);
    const session = new ClientSession(this.#options);

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
      handled(log, (params) => {
        session.initialize(params);
        return {
          server: { name: this.#options.name, version: this.#options.version },
          models: this.#options.describeModels(),
          languages: this.#options.languages,
        } satisfies InitializeRequest.Result;
      }),
    );
    connection.onRequest(StatusRequest.method, handled(log, () => this.#status(session)));
    const notification =
      (handler: (params: unknown) => void | Promise<void>) => (params: unknown) => {
        const ignored = (error: Error) => log.warn(`Ignored notification: ${error.message}`);
        try {
          handler(params)?.catch(ignored);
        } catch (error) {
          ignored(error as Error);
        }
      };
    const sync = notification((params) => session.syncDocument(params));
    connection.onNotification(DocumentNotification.didOpen, sync);
    connection.onNotification(DocumentNotification.didChange, sync);
    connection.onNotification(
      DocumentNotification.didSave,
      notification((params) => session.saveDocument(params)),
    );
    connection.onNotification(
      DocumentNotification.didClose,
      notification((params) => session.closeDocument(params)),
    );
    connection.onRequest(
      CompleteRequest.method,
      handled(
        log,
        (params, token) => withCancellation(token, (signal) => session.complete(params, signal)),
      ),
    );
    connection.onRequest(
      FeedbackRequest.method,
      handled(log, (params) => session.feedback(params)),
    );
    connection.onRequest(IndexRebuildRequest.method, handled(log, () => session.rebuildIndex()));
    connection.onRequest(ShutdownRequest.method, () => {
      // Answer first; the listeners stop the process once the reply is out.
      setTimeout(() => this.#shutdownListeners.forEach((listener) => listener()), 0);
      return {};
    });

    this.#connections.set(connection, session);
    connection.listen();
  }
}

/** Wraps a handler so every failure becomes a JSON-RPC error (see requestFailure). */
function handled<R>(
  log: Logger,
  handler: (params: unknown, token: CancellationToken) => R | Promise<R>,
): (params: unknown, token: CancellationToken) => Promise<R | ResponseError<void>> {
  return async (params, token) => {
    try {
      return await handler(params, token);
    } catch (error) {
      const { code, message } = requestFailure(error, log);
      return new ResponseError(code, message);
    }
  };
}
