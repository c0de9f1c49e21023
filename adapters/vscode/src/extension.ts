/**
 * The VS Code extension: starts the sidecar, serves its completions as ghost
 * text, reports what the user did with them, and says on the status bar what
 * the sidecar is doing and why nothing is showing.
 */
import * as vscode from "vscode";
import type { FeedbackRequest } from "../../../engine/protocol/mod.ts";
import { failureReason, type SidecarClient } from "./client.ts";
import { FeedbackTracker } from "./feedback.ts";
import { FullSuggestion, type Place, samePlace } from "./full_suggestion.ts";
import { sidecarCommand } from "./launch.ts";
import { Prefetcher, type PrefetchTarget } from "./prefetch.ts";
import {
  ACCEPTED_COMMAND,
  DISMISSED_COMMAND,
  placeOf,
  settingsRefusal,
  SidecarInlineProvider,
  synced,
} from "./provider.ts";
import { readSettings, type Settings } from "./settings.ts";
import { forgottenMessage, statusView, trainMessage } from "./status_view.ts";
import { SidecarSupervisor, type SupervisorState } from "./supervisor.ts";

let supervisor: SidecarSupervisor | undefined;

/** An editor's cursor, with the document and the version it was in. */
interface EditorCursor extends PrefetchTarget {
  document: vscode.TextDocument;
  version: number;
}

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel("ast-complete");
  const settings = (): Settings =>
    readSettings((key, fallback) =>
      vscode.workspace.getConfiguration("astComplete").get(key, fallback)
    );
  const workspaceRoot = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? context.extensionPath;
  const tracker = new FeedbackTracker();
  let state: SupervisorState = { phase: "starting" };
  let lastReason: string | undefined;

  const statusBar = vscode.window.createStatusBarItem(
    "astComplete.status",
    vscode.StatusBarAlignment.Right,
    100,
  );
  statusBar.name = "ast-complete";
  statusBar.command = "astComplete.showStatus";
  const render = () => {
    const view = statusView(state, settings().enable, lastReason);
    statusBar.text = view.text;
    statusBar.tooltip = view.detail;
    statusBar.accessibilityInformation = { label: view.label };
    statusBar.show();
  };

  // Where a prefetch would go: the editor's cursor, when the provider would complete there.
  const cursorOf = (editor: vscode.TextEditor | undefined): EditorCursor | undefined => {
    if (!editor || !running.client || !editor.selection.isEmpty) return undefined;
    const document = editor.document;
    // The Output panel's channels show as text editors too; nothing is typed there.
    if (document.uri.scheme === "output" || document.isClosed) return undefined;
    if (settingsRefusal(settings(), document.languageId)) return undefined;
    const { line, character } = editor.selection.active;
    return { uri: document.uri.toString(), line, character, document, version: document.version };
  };
  const prefetcher = new Prefetcher<EditorCursor>({
    send: (target) => {
      const client = running.client;
      const current = settings();
      const document = target.document;
      // A changed document moved the cursor's meaning; the editor's own request covers typing.
      if (!client || document.isClosed || document.version !== target.version) return;
      if (settingsRefusal(current, document.languageId)) return;
      client.sync(synced(document));
      client.prefetch({
        uri: target.uri,
        position: { line: target.line, character: target.character },
        maxLines: current.maxLines,
      }).catch(() => undefined);
    },
  });
  // Prefetching is a hint: whatever goes wrong in it stays out of VS Code's event handlers.
  const hint = (action: () => void) => {
    try {
      action();
    } catch (error) {
      output.appendLine(`Prefetch skipped: ${(error as Error)?.message ?? error}`);
    }
  };

  const running = new SidecarSupervisor({
    command: () => {
      const current = settings();
      return sidecarCommand({ ...current, workspaceRoot, extensionDir: context.extensionPath });
    },
    workspaceRoot,
    client: { name: "vscode", version: vscode.version },
    log: (line) => output.appendLine(line),
    onState: (next) => {
      if (next.phase === "restarting" && state.phase === "running") {
        vscode.window.showWarningMessage(
          `ast-complete: ${next.reason}; restarting in ${Math.round(next.inMs / 1000)} s`,
        );
      }
      const started = next.phase === "running" && state.phase !== "running";
      state = next;
      render();
      // The editor open when the sidecar came up gets its head start too.
      if (started) hint(() => prefetcher.focused(cursorOf(vscode.window.activeTextEditor)));
    },
  });
  supervisor = running;

  // Asks the sidecar for its status now, for what it does not push.
  const refreshStatus = async (client: SidecarClient) => {
    const status = await client.status().catch(() => undefined);
    if (status && running.client === client && state.phase === "running") {
      state = { phase: "running", status };
      render();
    }
  };

  const sendFeedback = (messages: FeedbackRequest.Params[]) => {
    for (const message of messages) {
      running.client?.feedback(message).catch((error) =>
        output.appendLine(
          `Feedback ${message.outcome} for ${message.id} not recorded: ${error.message}`,
        )
      );
    }
  };
  // Where the active editor's cursor is, when nothing is selected.
  const activePlace = (): Place | undefined => {
    const editor = vscode.window.activeTextEditor;
    if (!editor || !editor.selection.isEmpty) return undefined;
    return placeOf(editor.document, editor.selection.active);
  };
  const fullSuggestion = new FullSuggestion({
    ask: (place, signal) => {
      const client = running.client;
      if (!client) return Promise.reject(new Error("the sidecar is not running"));
      const cancel = new vscode.CancellationTokenSource();
      signal.addEventListener("abort", () => cancel.cancel(), { once: true });
      return client.complete({
        uri: place.uri,
        position: { line: place.line, character: place.character },
        maxLines: settings().maxLines,
      }, cancel.token).finally(() => cancel.dispose());
    },
    reshow: (place) => {
      const here = activePlace();
      if (!here || !samePlace(here, place)) return;
      vscode.commands.executeCommand("editor.action.inlineSuggest.trigger").then(
        undefined,
        (error) => output.appendLine(`Full suggestion not shown: ${error?.message ?? error}`),
      );
    },
  });
  const provider = new SidecarInlineProvider({
    client: () => running.client,
    settings,
    tracker,
    fullSuggestion,
    sendFeedback,
    completing: (document, position) =>
      hint(() => prefetcher.completing(document.uri.toString(), position.line)),
    noSuggestion: (reason) => {
      if (reason === lastReason) return;
      lastReason = reason;
      if (reason) output.appendLine(`No suggestion: ${reason}`);
      render();
    },
  });

  context.subscriptions.push(
    output,
    statusBar,
    vscode.languages.registerInlineCompletionItemProvider({ pattern: "**" }, provider),
    { dispose: () => prefetcher.dispose() },
    { dispose: () => fullSuggestion.left() },
    vscode.commands.registerCommand(ACCEPTED_COMMAND, (id: string) => {
      sendFeedback(tracker.accepted(id));
      // VS Code inserted the suggestion and moved the cursor before running this command.
      hint(() => prefetcher.accepted(cursorOf(vscode.window.activeTextEditor)));
    }),
    // Escape over a suggestion: it is rejected now, and a full one on its way is not shown.
    vscode.commands.registerCommand(DISMISSED_COMMAND, async () => {
      fullSuggestion.left();
      sendFeedback(tracker.dismissed());
      await vscode.commands.executeCommand("editor.action.inlineSuggest.hide");
    }),
    vscode.commands.registerCommand("astComplete.toggle", async () => {
      const config = vscode.workspace.getConfiguration("astComplete");
      await config.update("enable", !settings().enable, vscode.ConfigurationTarget.Global);
    }),
    vscode.commands.registerCommand("astComplete.restart", () => running.restart()),
    vscode.commands.registerCommand("astComplete.showLogs", () => output.show()),
    vscode.commands.registerCommand("astComplete.reindex", async () => {
      const client = running.client;
      if (!client) {
        return void vscode.window.showWarningMessage("ast-complete: the sidecar is not running");
      }
      await client.rebuildIndex();
    }),
    vscode.commands.registerCommand("astComplete.forgetLearning", async () => {
      const choice = await vscode.window.showWarningMessage(
        "ast-complete: forget what was learned in this project?",
        {
          modal: true,
          detail: "Erases the suggestions shown here, what you did with them, and the filter " +
            "learned from them. The index stays. This cannot be undone.",
        },
        "Forget",
      );
      if (choice !== "Forget") return;
      const client = running.client;
      if (!client) {
        return void vscode.window.showWarningMessage("ast-complete: the sidecar is not running");
      }
      try {
        const erased = await client.learningReset();
        output.appendLine(`Forgot learning: ${erased.files.join(", ") || "no files"}`);
        vscode.window.showInformationMessage(`ast-complete: ${forgottenMessage(erased)}`);
      } catch (error) {
        const reason = failureReason(error);
        return void vscode.window.showErrorMessage(`ast-complete: could not forget: ${reason}`);
      }
      // The sidecar pushes no status for this; ask, so that the tooltip's counts are current.
      await refreshStatus(client);
    }),
    vscode.commands.registerCommand("astComplete.trainAdapter", async () => {
      const client = running.client;
      if (!client) {
        return void vscode.window.showWarningMessage("ast-complete: the sidecar is not running");
      }
      try {
        const result = await client.learningTrain();
        output.appendLine(
          result.started ? "Adapter training started" : `Adapter not trained: ${result.reason}`,
        );
        vscode.window.showInformationMessage(`ast-complete: ${trainMessage(result)}`);
      } catch (error) {
        const reason = failureReason(error);
        return void vscode.window.showErrorMessage(`ast-complete: could not train: ${reason}`);
      }
      // So that the tooltip shows the training from now on.
      await refreshStatus(client);
    }),
    vscode.commands.registerCommand("astComplete.showStatus", async () => {
      const view = statusView(state, settings().enable, lastReason);
      const choice = await vscode.window.showInformationMessage(
        view.detail,
        "Show Logs",
        "Restart Sidecar",
      );
      if (choice === "Show Logs") output.show();
      if (choice === "Restart Sidecar") await running.restart();
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("astComplete.enable")) render();
      const relaunch = ["sidecarPath", "repositoryPath", "denoPath", "model"]
        .some((key) => event.affectsConfiguration(`astComplete.${key}`));
      if (relaunch) running.restart();
    }),
    vscode.workspace.onDidChangeTextDocument((event) => {
      fullSuggestion.left(activePlace());
      const uri = event.document.uri.toString();
      const [change, ...more] = event.contentChanges;
      if (!change) return;
      sendFeedback(
        more.length > 0
          ? tracker.dismissed()
          : tracker.edited(uri, change.rangeOffset, change.rangeLength, change.text),
      );
    }),
    vscode.window.onDidChangeTextEditorSelection((event) => {
      const document = event.textEditor.document;
      sendFeedback(
        tracker.cursorAt(document.uri.toString(), document.offsetAt(event.selections[0].active)),
      );
      if (event.textEditor === vscode.window.activeTextEditor) {
        fullSuggestion.left(activePlace());
        hint(() => prefetcher.moved(cursorOf(event.textEditor)));
      }
    }),
    vscode.window.onDidChangeActiveTextEditor((editor) => {
      fullSuggestion.left(activePlace());
      sendFeedback(tracker.dismissed());
      hint(() => prefetcher.focused(cursorOf(editor)));
    }),
    vscode.workspace.onDidSaveTextDocument((document) => running.client?.saved(synced(document))),
    vscode.workspace.onDidCloseTextDocument((document) =>
      running.client?.closed(document.uri.toString())
    ),
  );
  render();
  running.start();
}

export async function deactivate(): Promise<void> {
  await supervisor?.stop();
  supervisor = undefined;
}
