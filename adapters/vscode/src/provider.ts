/**
 * Ghost text from the sidecar: debounced, cancelled when VS Code cancels, and
 * every suggestion that is not shown leaves a reason the status bar can tell.
 */
import * as vscode from "vscode";
import { failureReason, type SidecarClient, type SyncedDocument } from "./client.ts";
import type { FeedbackTracker } from "./feedback.ts";
import type { FullSuggestion, Place } from "./full_suggestion.ts";
import { languageEnabled, type Settings } from "./settings.ts";

/** The command each shown item runs after VS Code inserted it. */
export const ACCEPTED_COMMAND = "astComplete.accepted";

/** The command Escape runs while a suggestion is on screen (package.json binds it). */
export const DISMISSED_COMMAND = "astComplete.dismissed";

/** What the provider needs from the extension. */
export interface ProviderHost {
  client(): SidecarClient | undefined;
  settings(): Settings;
  tracker: FeedbackTracker;
  /** Asks for the full suggestion after a quick one, and holds it until the editor asks. */
  fullSuggestion: FullSuggestion;
  /** Records why nothing was shown (undefined: something was). */
  noSuggestion(reason: string | undefined): void;
  sendFeedback(messages: ReturnType<FeedbackTracker["shown"]>): void;
  /** The editor asks for a completion here (before the debounce). */
  completing?(document: vscode.TextDocument, position: vscode.Position): void;
}

/** Why the settings keep completions out of a document; undefined when they allow them. */
export function settingsRefusal(settings: Settings, languageId: string): string | undefined {
  if (!settings.enable) return "completions are turned off";
  if (!languageEnabled(settings, languageId)) return `completions are off for ${languageId}`;
  return undefined;
}

/** The sidecar's view of a VS Code buffer. */
export function synced(document: vscode.TextDocument): SyncedDocument {
  return {
    uri: document.uri.toString(),
    languageId: document.languageId,
    version: document.version,
    getText: () => document.getText(),
  };
}

/** The cursor in `document` at its current version. */
export function placeOf(document: vscode.TextDocument, position: vscode.Position): Place {
  return {
    uri: document.uri.toString(),
    version: document.version,
    line: position.line,
    character: position.character,
  };
}

export class SidecarInlineProvider implements vscode.InlineCompletionItemProvider {
  #host: ProviderHost;

  constructor(host: ProviderHost) {
    this.#host = host;
  }

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[]> {
    const host = this.#host;
    const settings = host.settings();
    const refusal = settingsRefusal(settings, document.languageId);
    if (refusal) return this.#none(refusal);
    const client = host.client();
    if (!client) return this.#none("the sidecar is not running");
    host.completing?.(document, position);
    const place = placeOf(document, position);
    // The full suggestion after a quick one, asked for when it came: no wait, no new request.
    const full = host.fullSuggestion.take(place);
    if (!full && context.triggerKind === vscode.InlineCompletionTriggerKind.Automatic) {
      await new Promise((resolve) => setTimeout(resolve, settings.debounceMs));
    }
    if (token.isCancellationRequested) return this.#none("cancelled by typing");
    try {
      client.sync(synced(document));
      const result = full?.result ?? await client.complete({
        uri: place.uri,
        position: { line: place.line, character: place.character },
        maxLines: settings.maxLines,
      }, token);
      const item = result.items[0];
      if (token.isCancellationRequested) return this.#none("cancelled by typing");
      // A quick answer typed through (from the cache) has its full one at the place it was made.
      if (result.timings.shortened && !result.timings.cached) {
        host.fullSuggestion.quick(place, item && { id: result.id, text: item.text });
      }
      if (!item) return this.#none(result.filtered?.reason ?? "nothing worth suggesting here");
      host.sendFeedback(
        host.tracker.shown(
          result.id,
          place.uri,
          document.offsetAt(position),
          item.text,
          full?.replaces,
        ),
      );
      host.noSuggestion(undefined);
      const range = new vscode.Range(
        item.range.start.line,
        item.range.start.character,
        item.range.end.line,
        item.range.end.character,
      );
      return [
        new vscode.InlineCompletionItem(item.text, range, {
          command: ACCEPTED_COMMAND,
          title: "Accepted",
          arguments: [result.id],
        }),
      ];
    } catch (error) {
      return this.#none(failureReason(error));
    }
  }

  #none(reason: string): vscode.InlineCompletionItem[] {
    this.#host.noSuggestion(reason);
    return [];
  }
}
