/**
 * `main.ts lsp`: the engine as a language server over stdio, for Zed, Neovim,
 * Helix and Emacs. textDocument/completion answers with one plain-text item
 * marked as AI; textDocument/inlineCompletion (LSP 3.18) with ghost text.
 * Document sync, didSave re-indexing, $/cancelRequest and work-done progress
 * for model loading and indexing map onto the same client session the
 * socket server uses; an edit that leaves the cursor on a new line or after
 * an accepted suggestion makes the completion there ahead. Nothing but LSP messages goes to stdout.
 *
 * @module
 */
import {
  type CancellationToken,
  CompletionItemKind,
  type Connection,
  createConnection,
  InsertTextFormat,
  ProposedFeatures,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  TextDocumentSyncKind,
  type WorkDoneProgressServerReporter,
} from "vscode-languageserver/node";
import { insertionEnd, pathOf, positionAt } from "../documents/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { CompleteRequest } from "../protocol/mod.ts";
import { ClientSession, type Engine, requestFailure, withCancellation } from "../session/mod.ts";

/** What the language server is built from. */
export interface LspOptions {
  engine: Engine;
  log: Logger;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

/** A running language server. */
export interface LspServer {
  connection: Connection;
  /** The session its requests run in, shared with the HTTP endpoint. */
  session: ClientSession;
  /** Resolves with the exit code once the client sent `exit` (0 after `shutdown`). */
  exited: Promise<number>;
}

/** Starts the language server on the given streams. */
export function startLspServer(options: LspOptions): LspServer {
  const { engine, log } = options;
  const connection = createConnection(
    ProposedFeatures.all,
    new StreamMessageReader(options.input),
    new StreamMessageWriter(options.output),
  );
  const session = new ClientSession(engine);
  const exited = Promise.withResolvers<number>();
  let shutDown = false;
  let progressSupported = false;

  connection.onInitialize(async (params) => {
    const folder = params.workspaceFolders?.[0]?.uri ?? params.rootUri ?? undefined;
    const root = folder ? pathOf(folder) : params.rootPath ?? undefined;
    // A workspace that may not be indexed ("/", the home folder) still gets completions.
    if (root) {
      await session.initialize({ workspaceRoot: root, client: params.clientInfo }).catch((
        error: Error,
      ) => log.warn(`Completing without the project: ${error.message}`));
    }
    progressSupported = params.capabilities.window?.workDoneProgress === true;
    return {
      capabilities: {
        textDocumentSync: {
          openClose: true,
          change: TextDocumentSyncKind.Full,
          save: { includeText: true },
        },
        completionProvider: { resolveProvider: false },
        inlineCompletionProvider: true,
      },
      serverInfo: engine.server,
    };
  });
  connection.onInitialized(() => {
    if (progressSupported) reportProgress(connection, engine, session, log);
  });

  connection.onDidOpenTextDocument(({ textDocument }) =>
    session.syncDocument({
      uri: textDocument.uri,
      languageId: textDocument.languageId,
      version: textDocument.version,
      text: textDocument.text,
    })
  );
  connection.onDidChangeTextDocument(({ textDocument, contentChanges }) => {
    const last = contentChanges.at(-1);
    if (!last) return;
    const { uri } = textDocument;
    const before = session.documentText(uri);
    session.syncDocument({ uri, version: textDocument.version, text: last.text });
    // LSP sends no cursor. Where an edit inserted a line break or a suggestion, the cursor is at
    // its end and the next completion is asked for there: it is made ahead, as the VS Code
    // extension asks with document/prefetch.
    const end = before === undefined ? undefined : insertionEnd(before, last.text);
    if (end === undefined) return;
    try {
      session.prefetch({ uri, position: positionAt(last.text, end) });
    } catch (error) {
      log.debug(`No prefetch after the edit of ${uri}: ${(error as Error).message}`);
    }
  });
  connection.onDidSaveTextDocument(({ textDocument, text }) =>
    session.saveDocument({ uri: textDocument.uri, ...(text === undefined ? {} : { text }) })
  );
  connection.onDidCloseTextDocument(({ textDocument }) =>
    session.closeDocument({ uri: textDocument.uri }).catch((error) =>
      log.warn(`Close of ${textDocument.uri} failed: ${error.message}`)
    )
  );

  const complete = completer(session, log);
  connection.onCompletion(async (params, token) => {
    const result = await complete(params, token);
    if (result instanceof ResponseError) return result;
    const item = result.items[0];
    return {
      // Incomplete: the client asks again as the user types on.
      isIncomplete: true,
      items: item
        ? [{
          label: firstLine(item.text),
          labelDetails: { description: "AI" },
          kind: CompletionItemKind.Text,
          detail: "ast-complete (local AI)",
          insertTextFormat: InsertTextFormat.PlainText,
          textEdit: { range: item.range, newText: item.text },
          sortText: "0",
          data: { id: result.id },
        }]
        : [],
    };
  });
  connection.languages.inlineCompletion.on(async (params, token) => {
    const result = await complete(params, token);
    if (result instanceof ResponseError) return result;
    return {
      items: result.items.map((item) => ({ insertText: item.text, range: item.range })),
    };
  });

  connection.onShutdown(async () => {
    shutDown = true;
    await engine.close();
  });
  connection.onExit(() => exited.resolve(shutDown ? 0 : 1));
  connection.listen();
  return { connection, session, exited: exited.promise };
}

/** A completion for an LSP request: cancellation and engine errors become LSP errors. */
function completer(session: ClientSession, log: Logger) {
  return async (
    params: { textDocument: { uri: string }; position: { line: number; character: number } },
    token: CancellationToken,
  ): Promise<CompleteRequest.Result | ResponseError<void>> => {
    try {
      return await withCancellation(
        token,
        (signal) =>
          session.complete({ uri: params.textDocument.uri, position: params.position }, signal),
      );
    } catch (error) {
      const { code, message } = requestFailure(error, log);
      return new ResponseError(code, message);
    }
  };
}

/** The first line of a suggestion, short enough for a completion menu. */
function firstLine(text: string): string {
  const line = text.split("\n").find((candidate) => candidate.trim()) ?? text;
  const trimmed = line.trim();
  return trimmed.length > 60 ? `${trimmed.slice(0, 59)}…` : trimmed;
}

/** Work-done progress while the model loads and while the project is indexed. */
function reportProgress(
  connection: Connection,
  engine: Engine,
  session: ClientSession,
  log: Logger,
): void {
  let loading: Promise<WorkDoneProgressServerReporter> | undefined;
  let indexing: Promise<WorkDoneProgressServerReporter> | undefined;
  const begin = async (title: string, message: string) => {
    const reporter = await connection.window.createWorkDoneProgress();
    reporter.begin(title, 0, message, false);
    return reporter;
  };
  const update = () => {
    try {
      if (engine.models.state === "loading") loading ??= begin("ast-complete", "Loading model");
      else if (loading) {
        loading.then((reporter) => reporter.done());
        loading = undefined;
      }
      const { index } = session.status();
      if (index.state === "indexing") {
        indexing ??= begin("ast-complete", "Indexing");
        const percent = Math.floor((100 * index.files) / Math.max(1, index.files + index.pending));
        indexing.then((reporter) => reporter.report(percent, `Indexing: ${index.files} files`));
      } else if (indexing) {
        indexing.then((reporter) => reporter.done());
        indexing = undefined;
      }
    } catch (error) {
      log.warn(`Progress not reported: ${(error as Error).message}`);
    }
  };
  engine.onChange(update);
  update();
}
