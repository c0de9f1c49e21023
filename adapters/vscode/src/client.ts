/**
 * The sidecar's JSON-RPC methods, typed from the protocol module. One client
 * per connected sidecar; it keeps the editor's buffers in sync.
 */
import type { Socket } from "node:net";
import {
  type CancellationToken,
  createMessageConnection,
  type MessageConnection,
  ResponseError,
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
  LearningTrainRequest,
  ShutdownRequest,
  StatusChangedNotification,
  StatusRequest,
} from "../../../engine/protocol/mod.ts";

/** A buffer as the editor holds it. */
export interface SyncedDocument {
  uri: string;
  languageId: string;
  version: number;
  getText(): string;
}

/** The params of `document/prefetch`: where the cursor is, and `complete`'s `maxLines`. */
export type PrefetchParams = Pick<CompleteRequest.Params, "uri" | "position" | "maxLines">;

/** A connected sidecar. */
export class SidecarClient {
  readonly connection: MessageConnection;
  /** The version of each document the sidecar has. */
  #synced = new Map<string, number>();

  constructor(socket: Socket) {
    this.connection = createMessageConnection(
      new SocketMessageReader(socket),
      new SocketMessageWriter(socket),
    );
    this.connection.listen();
  }

  initialize(params: InitializeRequest.Params): Promise<InitializeRequest.Result> {
    return this.connection.sendRequest(InitializeRequest.method, params);
  }

  status(): Promise<StatusRequest.Result> {
    return this.connection.sendRequest(StatusRequest.method, {});
  }

  onStatus(listener: (status: StatusRequest.Result) => void): void {
    this.connection.onNotification(StatusChangedNotification.method, listener);
  }

  /** Sends the buffer unless the sidecar already has this version of it. */
  sync(document: SyncedDocument): void {
    const known = this.#synced.get(document.uri);
    if (known === document.version) return;
    this.#synced.set(document.uri, document.version);
    this.connection.sendNotification(
      known === undefined ? DocumentNotification.didOpen : DocumentNotification.didChange,
      {
        uri: document.uri,
        languageId: document.languageId,
        version: document.version,
        text: document.getText(),
      },
    );
  }

  saved(document: SyncedDocument): void {
    this.sync(document);
    this.connection.sendNotification(DocumentNotification.didSave, { uri: document.uri });
  }

  closed(uri: string): void {
    if (!this.#synced.delete(uri)) return;
    this.connection.sendNotification(DocumentNotification.didClose, { uri });
  }

  /**
   * `document/prefetch`: the cursor arrived at `params.position`, so the sidecar makes the
   * completion there ahead. Sync the document first, with the text the next `complete` will
   * use. A hint: the promise rejects (and the call throws once the connection is closed)
   * when it could not be sent.
   */
  prefetch(params: PrefetchParams): Promise<void> {
    return this.connection.sendNotification(DocumentNotification.prefetch, params);
  }

  /** A completion; cancelling `token` sends `$/cancelRequest`. */
  complete(
    params: CompleteRequest.Params,
    token?: CancellationToken,
  ): Promise<CompleteRequest.Result> {
    // An undefined third argument would be sent as a second parameter.
    return token
      ? this.connection.sendRequest(CompleteRequest.method, params, token)
      : this.connection.sendRequest(CompleteRequest.method, params);
  }

  feedback(params: FeedbackRequest.Params): Promise<Record<string, never>> {
    return this.connection.sendRequest(FeedbackRequest.method, params);
  }

  rebuildIndex(): Promise<Record<string, never>> {
    return this.connection.sendRequest(IndexRebuildRequest.method, {});
  }

  /** Erases what the project has recorded for learning; answers with what was erased. */
  learningReset(): Promise<LearningResetRequest.Result> {
    return this.connection.sendRequest(LearningResetRequest.method, {});
  }

  /** Starts training the project's adapter now; answers at once whether it started. */
  learningTrain(): Promise<LearningTrainRequest.Result> {
    return this.connection.sendRequest(LearningTrainRequest.method, {});
  }

  /** Asks the sidecar to exit; resolves when it answered or after `timeoutMs`. */
  async shutdown(timeoutMs: number): Promise<void> {
    const answered = this.connection.sendRequest(ShutdownRequest.method, {}).catch(() => undefined);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      answered,
      new Promise((resolve) => timer = setTimeout(resolve, timeoutMs)),
    ]);
    clearTimeout(timer);
  }

  dispose(): void {
    this.connection.dispose();
  }
}

/** Why a request failed, in the words the status bar shows. */
export function failureReason(error: unknown): string {
  if (error instanceof ResponseError) {
    switch (error.code) {
      case ErrorCode.RequestCancelled:
        return "cancelled by typing";
      case ErrorCode.ModelMissing:
        return `model missing: ${error.message}`;
      case ErrorCode.ModelNotReady:
        return "the model is still loading";
      case ErrorCode.DocumentTooLarge:
        return "file too large";
      default:
        return error.message;
    }
  }
  return (error as Error)?.message ?? String(error);
}
