// deno-lint-ignore-file no-namespace -- one namespace per method with its types, as vscode-languageserver-node does
/**
 * The sidecar's JSON-RPC protocol: method names, parameter and result types and
 * error codes. The sidecar and every adapter import this module and nothing else
 * from engine/.
 *
 * @module
 */

/** Zero-based position in a document, in UTF-16 code units like LSP. */
export interface Position {
  /** Zero-based line number. */
  line: number;
  /** Zero-based UTF-16 offset in the line. */
  character: number;
}

/** A range between two positions; `end` is exclusive. */
export interface Range {
  /** First position of the range. */
  start: Position;
  /** Position just past the range. */
  end: Position;
}

/** Who is on the other end of the connection. */
export interface ClientInfo {
  /** The client's name, e.g. "vscode". */
  name: string;
  /** The client's version. */
  version?: string;
}

/** A model as the sidecar reports it. */
export interface ModelInfo {
  /** Its role: "generator" or "embedder". */
  role: string;
  /** Its name in models.lock. */
  name: string;
  /** Where it is on disk, when it is there. */
  path?: string;
  /** The prompt format read from the model: "fim" or "chat". */
  promptFormat?: "fim" | "chat";
  /** Whether it is loaded and serving. */
  loaded: boolean;
}

/** `initialize`: the first request of a connection. */
export namespace InitializeRequest {
  /** The method name. */
  export const method = "initialize";
  /** Parameters of `initialize`. */
  export interface Params {
    /**
     * Absolute path of the project the client works in. Judged by its real
     * path: never "/" or the home folder; under a root the sidecar was
     * started for (`--workspace`, `--allow-root`) when it has any, else a
     * project root (a folder with .git, package.json, Cargo.toml,
     * pyproject.toml, go.mod, ...). Refused with WorkspaceNotAllowed.
     */
    workspaceRoot: string;
    /** Who the client is, for the logs. */
    client?: ClientInfo;
  }
  /** Result of `initialize`. */
  export interface Result {
    /** The sidecar's name and version. */
    server: { name: string; version: string };
    /** The models the sidecar uses. */
    models: ModelInfo[];
    /** Language ids the sidecar completes. */
    languages: string[];
  }
}

/** The sidecar's overall state. */
export type ServerState = "loading" | "ready" | "error";

/** `status`: what the sidecar is doing; also pushed as `status/changed`. */
export namespace StatusRequest {
  /** The method name. */
  export const method = "status";
  /** Result of `status`. */
  export interface Result {
    /** "loading" while models load, "ready" when completions can be served. */
    state: ServerState;
    /** The models and whether they are loaded; the generator once it is chosen (see `model`). */
    models: ModelInfo[];
    /**
     * The generator and why: the one named by `--model` (the VS Code setting
     * `astComplete.model` passes it) or AST_COMPLETE_MODEL, else chosen by
     * hardware: the 1.5B with a usable GPU or enough CPU cores when it is
     * pulled, else the 0.5B, with the command that pulls the 1.5B where it
     * would be chosen. Absent for the moment at start before the choice.
     */
    model?: { name: string; reason: string };
    /** The client's project index. */
    index: {
      /** Files and chunks indexed. */
      files: number;
      chunks: number;
      /** Files waiting to be indexed (the walk, saves, changes on disk). */
      pending: number;
      /**
       * Chunks indexed but not embedded yet: definitions and lexical search
       * find them already, vector search once they are embedded (in the
       * background, after the files waiting are indexed).
       */
      vectorsPending: number;
      /**
       * "indexing" while files are being indexed (not while chunks are only
       * waiting for their vectors: see `vectorsPending`); "off" when the
       * client has no project or its index failed (see `error`).
       */
      state: "idle" | "indexing" | "off";
      /**
       * Files and folders left out by the last walk and the saves since, by
       * reason: "ignored" (.gitignore, default ignores), "secret" (.env*,
       * *.pem, id_rsa*, a private key inside, ...), "tooLarge" (over
       * `limits.maxIndexedFileBytes`), "binary", "unknownLanguage" (a save
       * of a file that is not code), "symlink", "outside" (not under the
       * workspace).
       */
      skipped?: Partial<Record<IndexSkipReason, number>>;
      /** The last file left out, and why. */
      lastSkipped?: { path: string; reason: IndexSkipReason };
      /** True when another sidecar on the same project writes the index and this one reads it. */
      readOnly?: boolean;
      /**
       * How this process keeps the index fresh: "events" (the project's folders are
       * watched; a git HEAD move or a .gitignore change walks it again), "rescan" (too
       * many folders to watch, or the OS refused: walked again every 60 s or more),
       * "off" (not kept fresh by this process: another sidecar writes the index, or
       * there is none).
       */
      watching: "events" | "rescan" | "off";
    };
    /** The client's open buffers: how many, and their total UTF-16 length. */
    documents: { documents: number; chars: number };
    /** Socket connections open now. */
    connections: number;
    /** Bounds on client input, enforced while reading (see docs/protocol.md). */
    limits: {
      /** Largest message (its Content-Length); a larger one closes the connection. */
      maxFrameBytes: number;
      /** Largest document, in UTF-8 bytes: a larger one is refused with DocumentTooLarge. */
      maxDocumentBytes: number;
      /** Open documents per client; past it the least recently synced is forgotten. */
      maxOpenDocuments: number;
      /** Total UTF-16 length of a client's open documents; past it the least recent go. */
      maxOpenDocumentChars: number;
      /** Connections at once; more are closed on arrival. */
      maxConnections: number;
      /** A new connection must send a whole message within this many ms. */
      firstMessageMs: number;
      /** A message that has begun must arrive whole within this many ms. */
      frameMs: number;
      /** Larger files are not indexed. */
      maxIndexedFileBytes: number;
    };
    /** Why the state is "error", with what to do about it. */
    error?: string;
    /**
     * Why the last shown suggestion or `feedback` could not be recorded (e.g. a
     * read-only cache), until one is.
     */
    feedbackError?: string;
    /**
     * What the project's learning holds: the counts of its events and its
     * filter (see `learning/status`). Absent until the project's log has been
     * read, a moment after start; `filter` until the filter has been loaded.
     */
    learning?: {
      events: LearningEventCounts;
      filter?: LearningFilterStatus;
      adapter?: LearningAdapterStatus;
    };
  }
}

/** Why a file is not indexed (see `StatusRequest.Result.index.skipped`). */
export type IndexSkipReason =
  | "ignored"
  | "secret"
  | "tooLarge"
  | "binary"
  | "unknownLanguage"
  | "symlink"
  | "outside";

/** `status/changed`: pushed to every connection when the status changes. */
export namespace StatusChangedNotification {
  /** The method name. */
  export const method = "status/changed";
}

/** Parameters shared by the `document/*` notifications. */
export interface DocumentParams {
  /** The document's URI (file:// for files on disk). */
  uri: string;
  /** Language id as the editor names it ("python", "typescript", ...). */
  languageId?: string;
  /** The editor's version of the buffer; older versions are ignored. */
  version?: number;
  /** The full text of the buffer. */
  text?: string;
}

/** The `document/*` notifications: the client's view of its buffers. */
export const DocumentNotification = {
  didOpen: "document/didOpen",
  didChange: "document/didChange",
  didClose: "document/didClose",
  didSave: "document/didSave",
  /**
   * The cursor arrived at `{uri, position, maxLines?}` (a document opened or focused, the
   * cursor on a new line, a suggestion accepted): the completion there is made ahead.
   */
  prefetch: "document/prefetch",
} as const;

/** `complete`: a completion at a position. */
export namespace CompleteRequest {
  /** The method name. */
  export const method = "complete";
  /** Parameters of `complete`. */
  export interface Params {
    /** The document; its synced text is used unless `text` is given. */
    uri: string;
    /** Where the cursor is. */
    position: Position;
    /** The document's text, overriding the synced buffer. */
    text?: string;
    /** Language id, overriding the synced one or the file extension. */
    languageId?: string;
    /** At most this many lines; 1 forces a single-line completion. */
    maxLines?: number;
    /** At most this many generated tokens (the engine's own bound applies too). */
    maxTokens?: number;
  }
  /** One suggestion. */
  export interface Item {
    /** Text to insert. */
    text: string;
    /** The range the text replaces (empty at the cursor for an insertion). */
    range: Range;
  }
  /** Time spent per stage, in milliseconds, and prompt sizes in tokens. */
  export interface Timings {
    astMs: number;
    retrieveMs: number;
    promptMs: number;
    generateMs: number;
    totalMs: number;
    promptTokens: number;
    /** Prompt tokens the model had evaluated already (the previous prompt's common prefix). */
    reusedTokens: number;
    /** Tokens the model generated (0 when answered from the cache). */
    generatedTokens: number;
    /** Answered from recent completions (the same cursor, or typed through), without the model. */
    cached: boolean;
    /**
     * Made ahead, after `document/prefetch` at the same text and cursor: `totalMs` is then
     * only the wait for it, the other timings those of its making.
     */
    prefetched?: boolean;
    /**
     * Made from the part of the prompt nearest the cursor (no project context), so that the
     * first suggestion at a place the model had not evaluated comes quickly; see
     * `document/prefetch`.
     */
    shortened?: boolean;
  }
  /** A piece of project context that went into the prompt. */
  export interface ContextChunk {
    path: string;
    startLine: number;
    endLine: number;
    score: number;
    /**
     * Why it was retrieved: "members" (the signatures of the project module the
     * cursor reaches into), "definition" (signatures of names before the cursor),
     * "imports" (signatures of the names the file imports from the project) or
     * "similar" (code like the cursor's surroundings).
     */
    kind: "members" | "definition" | "imports" | "similar";
  }
  /** Result of `complete`. */
  export interface Result {
    /** Id to quote in `feedback`. */
    id: string;
    /** Suggestions, best first; empty when there is nothing worth showing. */
    items: Item[];
    /** Where the time went. */
    timings: Timings;
    /** The project context used, when there was any. */
    context?: ContextChunk[];
    /**
     * Set when the learned filter hid the suggestion (`items` is then empty):
     * how likely it was to be kept, and the reason to show the user.
     */
    filtered?: { probability: number; reason: string };
  }
}

/** `feedback`: what the user did with a suggestion. */
export namespace FeedbackRequest {
  /** The method name. */
  export const method = "feedback";
  /** Parameters of `feedback`. */
  export interface Params {
    /** The `id` of the completion result. */
    id: string;
    /** What happened to it. */
    outcome: "accepted" | "rejected" | "partial";
    /** For "partial": the part that was kept. */
    acceptedText?: string;
  }
}

/**
 * What a project's learning log holds. A suggestion counts once, by the first
 * outcome reported for it; one shown and never answered counts as ignored
 * once it is 10 minutes old (until then it is still open and counted only in
 * `shown`). An outcome whose suggestion has left the log is not counted.
 */
export interface LearningEventCounts {
  /** Suggestions shown (non-empty completions returned). */
  shown: number;
  accepted: number;
  /** Part of the suggestion kept. */
  partial: number;
  rejected: number;
  /** Shown, and no outcome reported within 10 minutes. */
  ignored: number;
}

/** The project's learned show/hide filter. */
export interface LearningFilterStatus {
  /** "on": it hides suggestions unlikely to be kept; "off": it only learns (AST_COMPLETE_FILTER=off). */
  state: "on" | "off";
  /** Outcomes it has learned from, on top of the prior it started from. */
  updates: number;
  /** A suggestion less likely than this to be kept is hidden. */
  threshold: number;
  /** Its decisions in this process: suggestions let through and hidden. */
  shown: number;
  hidden: number;
}

/** One evaluation of a newly trained adapter against what it would replace. */
export interface LearningAdapterEvaluation {
  /** When it was evaluated (ISO 8601). */
  at: string;
  /** The candidate's version. */
  version: number;
  /** Whether it became the adapter in use. */
  kept: boolean;
  /** Why, e.g. "held-out loss 12.0% below the base model". */
  reason: string;
  /**
   * Mean loss per token on lines held out from the project's own files: the
   * base model's, the adapter it would replace (if any), and the candidate's.
   */
  heldoutLoss: { base: number; current?: number; candidate: number };
  /** Share of the held-out lines each writes exactly (greedy), on the same samples. */
  heldoutExact: { base: number; current?: number; candidate: number };
  /**
   * The same held-out lines completed by the engine as it completes the
   * user's, before (with the adapter in use, else the base model) and with
   * the candidate: how many came out exactly right. Absent when the
   * trainer's measures refused the candidate already.
   */
  completions?: LearningAdapterCompletions;
}

/** Held-out lines the engine completed exactly right, before and with a candidate adapter. */
export interface LearningAdapterCompletions {
  lines: number;
  before: number;
  candidate: number;
  /** Lines only the candidate got right. */
  gained: number;
  /** Lines only what it would replace got right. */
  lost: number;
}

/** Training in progress: where it is and how long it should take. */
export interface LearningAdapterTraining {
  /** "running", or "paused" while completions are being served. */
  state: "running" | "paused";
  /**
   * "training": the trainer's steps; "evaluating": the engine completing
   * held-out lines before and with the candidate (`step` and `steps` count lines).
   */
  phase: "training" | "evaluating";
  step: number;
  steps: number;
  /** Seconds left at the pace so far; absent before the first step. */
  etaSeconds?: number;
}

/** The project's LoRA adapter (see `learning/train`). */
export interface LearningAdapterStatus {
  /**
   * "ready": an adapter is loaded with completions; "none": none has been
   * kept yet; "off": learning cannot train here (see `reason`).
   */
  state: "ready" | "none" | "off";
  /** Why there is no adapter in use, or why training is off. */
  reason?: string;
  /** The adapter in use. */
  version?: number;
  /** Training now, if it is. */
  training?: LearningAdapterTraining;
  /** The last adapter evaluated, kept or discarded. */
  lastEvaluation?: LearningAdapterEvaluation;
}

/** `learning/status`: what the client's project has recorded for learning. */
export namespace LearningStatusRequest {
  /** The method name. */
  export const method = "learning/status";
  /** Result of `learning/status`. */
  export interface Result {
    /** The recorded events, read from disk now. */
    events: LearningEventCounts;
    /** Size of the project's learning files together. */
    bytes: number;
    /** The learned show/hide filter. */
    filter: LearningFilterStatus;
    /** The project's LoRA adapter. */
    adapter: LearningAdapterStatus;
  }
}

/** `learning/reset`: erases what the client's project has recorded for learning. */
export namespace LearningResetRequest {
  /** The method name. */
  export const method = "learning/reset";
  /** Result of `learning/reset`: what was erased. */
  export interface Result {
    /** Names of the files removed from the project's state folder (never full paths). */
    files: string[];
    /** Their size together. */
    bytes: number;
    /** The events they held. */
    events: LearningEventCounts;
  }
}

/**
 * `learning/train`: trains the client's project's adapter now instead of
 * waiting for the editor to be idle. It still pauses while completions are
 * served. Answers at once; watch `learning/status`.
 */
export namespace LearningTrainRequest {
  /** The method name. */
  export const method = "learning/train";
  /** Result of `learning/train`. */
  export interface Result {
    /** Whether training started (false: one was running already, or learning is off). */
    started: boolean;
    /** Why not, when it did not. */
    reason?: string;
  }
}

/** `index/rebuild`: walks the project again and indexes whatever changed, in the background. */
export namespace IndexRebuildRequest {
  /** The method name. */
  export const method = "index/rebuild";
}

/** `shutdown`: the sidecar answers, then exits. */
export namespace ShutdownRequest {
  /** The method name. */
  export const method = "shutdown";
}

/** JSON-RPC error codes the sidecar answers with. */
export const ErrorCode = {
  /** The request was not valid JSON. */
  ParseError: -32700,
  /** The method does not exist. */
  MethodNotFound: -32601,
  /** Parameters are missing or malformed. */
  InvalidParams: -32602,
  /** Something failed inside the sidecar. */
  InternalError: -32603,
  /** The request was cancelled or superseded by a newer one. */
  RequestCancelled: -32800,
  /** The document was never opened and no text was given. */
  UnknownDocument: -32001,
  /** Models are still loading past the wait bound. */
  ModelNotReady: -32002,
  /** The model file is missing or corrupt; the message names the fix. */
  ModelMissing: -32003,
  /** The document is larger than the sidecar will read. */
  DocumentTooLarge: -32004,
  /** The workspace may not be one: "/", the home folder, outside the allowed roots, no project. */
  WorkspaceNotAllowed: -32005,
  /**
   * The sidecar cannot write (or read, or erase) its state under the cache
   * (the message names the file and why).
   */
  StateUnwritable: -32006,
} as const;
