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
import {
  CompleteRequest,
  DocumentNotification,
  ErrorCode,
  FeedbackRequest,
  IndexRebuildRequest,
  InitializeRequest,
  LearningResetRequest,
  LearningStatusRequest,
  LearningTrainRequest,
  ShutdownRequest,
  StatusChangedNotification,
  StatusRequest,
} from "../protocol/mod.ts";
import {
  ClientSession,
  type Engine,
  optionalParamsObject,
  requestFailure,
  withCancellation,
} from "../session/mod.ts";
import { guardFrames } from "./frame_guard.ts";

/** The JSON-RPC server. */
export class RpcServer {
  #engine: Engine;
  #server: Server;
  #connections = new Map<MessageConnection, ClientSession>();
  #shutdownListeners = new Set<() => void>();
  #socketPath?: string;

  constructor(engine: Engine) {
    this.#engine = engine;
    this.#server = createServer((socket) => this.#accept(socket));
    engine.onChange(() => this.#broadcastStatus());
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
    return { ...session.status(), connections: this.#connections.size };
  }

  #accept(socket: Socket): void {
    const { log, config: { limits } } = this.#engine;
    if (this.#connections.size >= limits.maxConnections) {
      log.warn(`Refused a connection: ${limits.maxConnections} are open already`);
      socket.destroy();
      return;
    }
    guardFrames(socket, limits, (reason) => log.warn(`Closed a connection: ${reason}`));
    const writer = new SocketMessageWriter(socket);
    // The process stops once the reply to `shutdown` is written, not before: closing the
    // connection first destroys the socket with the reply still queued behind other writes.
    const shutdownReplies = new WeakSet<object>();
    const write = writer.write.bind(writer);
    writer.write = async (message) => {
      try {
        await write(message);
      } finally {
        const result = (message as Partial<ResponseMessage>).result;
        if (result && typeof result === "object" && shutdownReplies.has(result)) {
          this.#shutdownListeners.forEach((listener) => listener());
        }
      }
    };
    const connection = createMessageConnection(new SocketMessageReader(socket), writer);
    const session = new ClientSession(this.#engine);

    connection.onError(([error]) => {
      // vscode-jsonrpc drops unparsable messages silently; tell the client why.
      log.warn(`Unreadable message: ${error.message}`);
      writer.write({
        jsonrpc: "2.0",
        id: null,
        error: { code: ErrorCode.ParseError, message: `Parse error: ${error.message}` },
      } as ResponseMessage).catch(() => undefined);
    });
    // A client that goes away takes its requests with it: no model time for answers nobody reads.
    const gone = new AbortController();
    connection.onClose(() => {
      gone.abort();
      this.#connections.delete(connection);
      connection.dispose();
    });

    const requests: Record<string, (params: unknown, token: CancellationToken) => unknown> = {
      [InitializeRequest.method]: (params) => session.initialize(params),
      [StatusRequest.method]: (params) => {
        optionalParamsObject(params);
        return this.#status(session);
      },
      [CompleteRequest.method]: (params, token) =>
        withCancellation(
          token,
          (signal) => session.complete(params, AbortSignal.any([signal, gone.signal])),
        ),
      [FeedbackRequest.method]: (params) => session.feedback(params),
      [LearningStatusRequest.method]: (params) => {
        optionalParamsObject(params);
        return session.learningStatus();
      },
      [LearningResetRequest.method]: (params) => {
        optionalParamsObject(params);
        return session.resetLearning();
      },
      [LearningTrainRequest.method]: (params) => {
        optionalParamsObject(params);
        return session.trainAdapter();
      },
      [IndexRebuildRequest.method]: (params) => {
        optionalParamsObject(params);
        return session.rebuildIndex();
      },
      [ShutdownRequest.method]: (params) => {
        optionalParamsObject(params);
        const reply = {};
        shutdownReplies.add(reply);
        return reply;
      },
    };
    const notifications: Record<string, (params: unknown) => void | Promise<void>> = {
      [DocumentNotification.didOpen]: (params) => session.syncDocument(params),
      [DocumentNotification.didChange]: (params) => session.syncDocument(params),
      [DocumentNotification.didSave]: (params) => session.saveDocument(params),
      [DocumentNotification.didClose]: (params) => session.closeDocument(params),
      [DocumentNotification.prefetch]: (params) => session.prefetch(params),
    };
    // Star handlers see params as sent: a method's own handler would get an array spread.
    connection.onRequest(async (method, params, token) => {
      const handler = Object.hasOwn(requests, method) ? requests[method] : undefined;
      if (!handler) {
        return new ResponseError(ErrorCode.MethodNotFound, `Method not found: ${method}`);
      }
      try {
        return await handler(params, token);
      } catch (error) {
        const { code, message } = requestFailure(error, log);
        return new ResponseError(code, message);
      }
    });
    connection.onNotification(async (method, params) => {
      const handler = Object.hasOwn(notifications, method) ? notifications[method] : undefined;
      if (!handler) return; // Unknown notifications are ignored, as JSON-RPC says.
      try {
        await handler(params);
      } catch (error) {
        log.warn(`Ignored ${method}: ${(error as Error).message}`);
      }
    });

    this.#connections.set(connection, session);
    connection.listen();
  }
}
