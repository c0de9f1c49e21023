/**
 * One client's session: its workspace, its view of the buffers, and the
 * suggestions it was shown, with the request handlers that use them. The
 * transport (rpc_server.ts) only wires methods to these handlers.
 */
import { isAbsolute, relative } from "node:path";
import { DocumentStore, languageOf, offsetAt, pathOf } from "../documents/mod.ts";
import { projectStateDir } from "../config/mod.ts";
import { type Outcome, ProjectLearning, type ShownEvent, shownEvent } from "../learning/mod.ts";
import {
  type CompleteRequest,
  ErrorCode,
  type InitializeRequest,
  type LearningResetRequest,
  type LearningStatusRequest,
  type LearningTrainRequest,
  type Position,
  type StatusRequest,
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
import { checkWorkspaceRoot } from "./workspace_root.ts";
import type { Engine } from "./engine.ts";
import type { CompletionInput } from "../pipeline.ts";

/** Suggestions remembered per session so feedback can refer to them. */
const RECENT_RESULTS = 256;

interface Shown {
  text: string;
  languageId: string;
  path: string;
  /** When it was returned (ms since the epoch). */
  at: number;
  /** What the filter read of it, to learn from its outcome; absent when typed through. */
  features?: number[];
}

/** A client's state and its request handlers. */
export class ClientSession {
  #engine: Engine;
  #documents: DocumentStore;
  #shown = new Map<string, Shown>();
  /** This client's last reported outcome, which the next shown event records. */
  #lastOutcome?: { outcome: Outcome; at: number };
  #workspace: string;
  #learning: ProjectLearning;

  constructor(engine: Engine) {
    this.#engine = engine;
    const { completion, limits } = engine.config;
    this.#documents = new DocumentStore({
      maxDocumentBytes: completion.maxDocumentBytes,
      maxOpenDocuments: limits.maxOpenDocuments,
      maxOpenDocumentChars: limits.maxOpenDocumentChars,
    });
    this.#workspace = engine.defaultWorkspace;
    this.#learning = this.#openLearning();
  }

  /** The workspace's learning, its log counted in the background so that `status` can report it. */
  #openLearning(): ProjectLearning {
    const { config, log } = this.#engine;
    const learning = new ProjectLearning(projectStateDir(config.cacheDir, this.#workspace), {
      filter: config.learning.filter,
      warn: (message) => log.warn(message),
      adapter: this.#engine.adapters(this.#workspace),
    });
    learning.log.refresh().catch((error) =>
      log.warn(`Cannot count the feedback log: ${error.message}`)
    );
    return learning;
  }

  /**
   * `initialize`: sets the workspace, by its real path, once it is allowed
   * (see checkWorkspaceRoot), and starts indexing it.
   */
  async initialize(raw: unknown): Promise<InitializeRequest.Result> {
    const params = paramsObject(raw);
    const root = requiredString(params, "workspaceRoot");
    if (!isAbsolute(root)) {
      throw new EngineError(
        ErrorCode.InvalidParams,
        `Invalid params: "workspaceRoot" must be an absolute path`,
      );
    }
    this.#workspace = await checkWorkspaceRoot(root, this.#engine.allowedRoots);
    this.#learning = this.#openLearning();
    this.#engine.projects.open(this.#workspace);
    const client = params.client as InitializeRequest.Params["client"];
    const name = `${client?.name ?? "unknown"} ${client?.version ?? ""}`.trim();
    this.#engine.log.info(`Client ${name} on ${this.#workspace}`);
    const { models } = this.#engine.status(this.#workspace);
    return { server: this.#engine.server, models, languages: this.#engine.languages };
  }

  /** The workspace this client works in (its real path). */
  get workspace(): string {
    return this.#workspace;
  }

  /**
   * `status` for this client: the engine's, its documents, its project's
   * learning events as last counted, and a feedback failure.
   */
  status(): Omit<StatusRequest.Result, "connections"> {
    const feedbackError = this.#learning.log.lastError?.message;
    const events = this.#learning.log.counts();
    const filter = this.#learning.filterStatusNow();
    const adapter = this.#learning.adapter?.status();
    return {
      ...this.#engine.status(this.#workspace),
      documents: this.#documents.size(),
      ...(feedbackError ? { feedbackError } : {}),
      ...(events
        ? { learning: { events, ...(filter ? { filter } : {}), ...(adapter ? { adapter } : {}) } }
        : {}),
    };
  }

  /** `learning/status`: the project's learning events, read from disk now, and its filter. */
  learningStatus(): Promise<LearningStatusRequest.Result> {
    return this.#learning.status();
  }

  /**
   * `learning/train`: trains the project's adapter now, in the background
   * (it pauses for completions as idle training does); the outcome is
   * logged and shows in `learning/status`.
   */
  trainAdapter(): LearningTrainRequest.Result {
    const adapter = this.#learning.adapter;
    if (!adapter) return { started: false, reason: "adapters are off (AST_COMPLETE_ADAPTER=off)" };
    if (adapter.training) return { started: false, reason: "training is under way already" };
    adapter.train().then(
      (outcome) => {
        if (!outcome.trained) this.#engine.log.info(`No adapter trained: ${outcome.reason}`);
      },
      (error) => this.#engine.log.warn(`Adapter training failed: ${error.message}`),
    );
    return { started: true };
  }

  /**
   * `learning/reset`: erases the project's learning events and what its
   * filter learned, and forgets the suggestions this client was shown, so
   * that no outcome of theirs is recorded after.
   */
  async resetLearning(): Promise<LearningResetRequest.Result> {
    const erased = await this.#learning.reset();
    this.#shown.clear();
    this.#lastOutcome = undefined;
    this.#engine.log.info(`Learning reset: erased ${erased.files.join(", ") || "nothing"}`);
    return erased;
  }

  /**
   * `document/didSave`: keeps the text and re-indexes the file in the
   * background, if the walk would index it (see engine/indexer/walker.ts).
   */
  saveDocument(raw: unknown): void {
    const uri = requiredString(paramsObject(raw), "uri");
    const project = this.#engine.projects.get(this.#workspace);
    // The text of a file the walk would skip (too large, binary) still goes to the indexer,
    // which counts why it is left out; the buffer store refuses it after.
    const text = optionalString(paramsObject(raw), "text") ?? this.#documents.get(uri)?.text;
    const path = pathOf(uri);
    if (isAbsolute(path)) {
      project?.reindex(path, text).catch((error) =>
        this.#engine.log.warn(`Re-index of ${uri} failed: ${error.message}`)
      );
    }
    this.syncDocument(raw);
  }

  /** `index/rebuild`: walks the project again; unchanged files cost a hash each. */
  rebuildIndex(): Record<string, never> {
    this.#engine.projects.get(this.#workspace)?.rebuild();
    return {};
  }

  /** The open buffer and cursor an editor's prefix/suffix excerpt was cut from, if any. */
  locate(prefix: string, suffix: string): { uri: string; position: Position } | undefined {
    const found = this.#documents.locate(prefix, suffix);
    return found && { uri: found.document.uri, position: found.position };
  }

  /** The synced text of a buffer; undefined when the client has not opened it. */
  documentText(uri: string): string | undefined {
    return this.#documents.get(uri)?.text;
  }

  /** `document/didOpen|didChange`: keeps the newest text of a buffer. */
  syncDocument(raw: unknown): void {
    const params = paramsObject(raw);
    const uri = requiredString(params, "uri");
    const text = optionalString(params, "text");
    if (text === undefined) return;
    const held = this.#documents.get(uri);
    this.#documents.set({
      uri,
      text,
      languageId: optionalString(params, "languageId") ?? held?.languageId ??
        languageOf(pathOf(uri)),
      version: optionalCount(params, "version") ?? (held ? held.version + 1 : 0),
    });
  }

  /** `document/didClose`: forgets a buffer. */
  async closeDocument(raw: unknown): Promise<void> {
    const uri = requiredString(paramsObject(raw), "uri");
    this.#documents.delete(uri);
    await this.#engine.pipeline.forget(uri);
  }

  /** `complete`: a completion on the given text or the synced buffer. */
  async complete(raw: unknown, signal: AbortSignal): Promise<CompleteRequest.Result> {
    // Training stops while the user is served, and waits for the editor to be idle again.
    this.#learning.adapter?.activity();
    const input = this.#completionInput(paramsObject(raw));
    const { text, position, languageId, path } = input;
    const completion = await this.#engine.pipeline.complete(input, signal);
    const id = crypto.randomUUID();
    let shown = completion.text !== "";
    let filtered: CompleteRequest.Result["filtered"];
    if (shown) {
      const at = Date.now();
      const event = shownEvent({
        id,
        at,
        languageId,
        path,
        document: text,
        offset: offsetAt(text, position),
        completion,
        previous: this.#lastOutcome,
      });
      // A suggestion typed through was judged when it was first shown.
      const judged = completion.timings.cached ? undefined : await this.#learning.judge(event);
      shown = judged?.decision.show ?? true;
      if (shown) {
        this.#shown.set(id, { text: completion.text, languageId, path, at, ...judged });
        while (this.#shown.size > RECENT_RESULTS) {
          this.#shown.delete(this.#shown.keys().next().value!);
        }
        await this.#recordShown(event);
      } else {
        const { probability, reason } = judged!.decision;
        filtered = { probability, reason: reason! };
      }
    }
    return {
      id,
      items: shown ? [{ text: completion.text, range: { start: position, end: position } }] : [],
      timings: completion.timings,
      ...(completion.context ? { context: completion.context } : {}),
      ...(filtered ? { filtered } : {}),
    };
  }

  /**
   * `document/prefetch`: the cursor arrived somewhere (a document opened or
   * focused, a new line, a suggestion accepted); the completion there is
   * made ahead, in the background, for the request that usually follows.
   */
  prefetch(raw: unknown): void {
    this.#learning.adapter?.activity();
    this.#engine.pipeline.prefetch(this.#completionInput(paramsObject(raw)));
  }

  /**
   * What the pipeline completes for `complete` or `document/prefetch`: the
   * given text or the synced buffer, its language, its path as the model sees it.
   *
   * @throws EngineError for an unknown or refused document or bad params.
   */
  #completionInput(params: Record<string, unknown>): CompletionInput {
    const uri = requiredString(params, "uri");
    const position = requiredPosition(params, "position");
    const held = this.#documents.get(uri);
    const text = optionalString(params, "text") ?? held?.text;
    const refusal = this.#documents.refusal(uri);
    if (text === undefined && refusal) throw new EngineError(ErrorCode.DocumentTooLarge, refusal);
    if (text === undefined) {
      throw new EngineError(
        ErrorCode.UnknownDocument,
        `Unknown document: ${uri} was not opened with document/didOpen and no text was given`,
      );
    }
    const filePath = pathOf(uri);
    // Inside the workspace a path is relative to it; outside, it stays absolute, so the
    // prompt never depends on where the sidecar was started.
    const inWorkspace = isAbsolute(filePath) ? relative(this.#workspace, filePath) : filePath;
    const project = this.#engine.projects.get(this.#workspace);
    return {
      uri,
      path: inWorkspace.startsWith("..") ? filePath : inWorkspace,
      languageId: optionalString(params, "languageId") ?? held?.languageId ??
        languageOf(filePath),
      text,
      position,
      maxLines: optionalCount(params, "maxLines"),
      maxTokens: optionalCount(params, "maxTokens"),
      ...(project
        ? {
          context: {
            source: project.contextSource,
            repoName: project.name,
            version: project.contextVersion,
          },
        }
        : {}),
      adapter: this.#learning.adapter?.adapterPath,
    };
  }

  /**
   * Appends a shown event before the answer goes out, so that no write of
   * it comes after. An append costs a small write and a read of that line;
   * only the first after start or a rotation waits for the log to be
   * counted. A failure does not fail the completion: it shows in
   * `status.feedbackError`, and in the log when it starts.
   */
  async #recordShown(event: ShownEvent): Promise<void> {
    const failing = this.#learning.log.lastError !== undefined;
    await this.#learning.log.append(event).catch((error) => {
      if (!failing) this.#engine.log.warn(error.message);
    });
  }

  /** `feedback`: records what the user did with a suggestion. */
  async feedback(raw: unknown): Promise<Record<string, never>> {
    const params = paramsObject(raw);
    const id = requiredString(params, "id");
    const outcome = requiredChoice(params, "outcome", ["accepted", "rejected", "partial"] as const);
    const suggestion = this.#shown.get(id);
    if (!suggestion) {
      throw new EngineError(ErrorCode.InvalidParams, `Invalid params: unknown completion id ${id}`);
    }
    const acceptedText = optionalString(params, "acceptedText");
    const at = Date.now();
    this.#lastOutcome = { outcome, at };
    const { at: shownAt, features, ...shown } = suggestion;
    await this.#learning.log.append({
      kind: "outcome",
      time: new Date(at).toISOString(),
      id,
      outcome,
      ...shown,
      ...(acceptedText !== undefined ? { acceptedText } : {}),
      msToOutcome: at - shownAt,
    });
    if (features) await this.#learning.learn(features, outcome, shown.text, acceptedText);
    this.#engine.log.info(`Feedback ${outcome} for ${id}`);
    return {};
  }
}
