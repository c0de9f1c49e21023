/**
 * What the JSON-RPC front doors (the socket server and the language server)
 * share about failing: cancellation tokens followed as abort signals, and
 * failures turned into an error code and a message a person can act on. Each
 * transport wraps the result in its own library's ResponseError.
 */
import type { Logger } from "../log/mod.ts";
import { ErrorCode } from "../protocol/mod.ts";
import { CancelledError, EngineError } from "../protocol/errors.ts";

/** A cancellation token as vscode-jsonrpc and vscode-languageserver pass it. */
export interface CancellationTokenLike {
  isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

/** Runs `work` with an abort signal that follows `token`. */
export async function withCancellation<R>(
  token: CancellationTokenLike,
  work: (signal: AbortSignal) => Promise<R>,
): Promise<R> {
  const cancel = new AbortController();
  // A token cancelled before dispatch never fires its event in vscode-jsonrpc: check it first.
  if (token.isCancellationRequested) cancel.abort();
  const subscription = token.onCancellationRequested(() => cancel.abort());
  try {
    return await work(cancel.signal);
  } finally {
    subscription.dispose();
  }
}

/**
 * The error a request answers with: cancellation as RequestCancelled (not
 * logged as an error), EngineError with its code, anything else as
 * InternalError with its message.
 */
export function requestFailure(error: unknown, log: Logger): { code: number; message: string } {
  if (error instanceof CancelledError) {
    return {
      code: ErrorCode.RequestCancelled,
      message: "Request cancelled: superseded or cancelled by the client",
    };
  }
  if (error instanceof EngineError) return { code: error.code, message: error.message };
  log.error(`Request failed: ${(error as Error).stack ?? error}`);
  return { code: ErrorCode.InternalError, message: `Internal error: ${(error as Error).message}` };
}
