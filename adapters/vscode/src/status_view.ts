/** What the status bar says for each state of the sidecar. */
import type {
  LearningAdapterStatus,
  LearningResetRequest,
  LearningTrainRequest,
  StatusRequest,
} from "../../../engine/protocol/mod.ts";
import type { SupervisorState } from "./supervisor.ts";

/** The status bar's text (with codicons), its accessible label and the detail shown on click. */
export interface StatusView {
  text: string;
  label: string;
  detail: string;
}

export function statusView(
  state: SupervisorState,
  enabled: boolean,
  lastReason: string | undefined,
): StatusView {
  const why = lastReason ? `\nLast suggestion not shown: ${lastReason}.` : "";
  const learning = enabled && state.phase === "running" ? state.status.learning : undefined;
  const learned = learning
    ? `\n${learningLine(learning)}${learning.adapter ? `\n${adapterLine(learning.adapter)}` : ""}`
    : "";
  const view = (icon: string, words: string, detail: string): StatusView => ({
    text: `$(${icon}) ast-complete${words === "ready" ? "" : `: ${words}`}`,
    label: `ast-complete: ${words}`,
    detail: `ast-complete: ${detail}${learned}${why}`,
  });
  if (!enabled) return view("circle-slash", "off", "completions are turned off.");
  switch (state.phase) {
    case "starting":
      return view("loading~spin", "starting", "starting the sidecar.");
    case "restarting":
      return view(
        "warning",
        "restarting",
        `${state.reason}; restarting in ${Math.round(state.inMs / 1000)} s.`,
      );
    case "failed":
      return view("error", "error", `the sidecar keeps failing: ${state.reason}. See the logs.`);
    case "stopped":
      return view("circle-slash", "stopped", "the sidecar is stopped.");
  }
  const { status } = state;
  const models = status.models.map((model) =>
    `${model.role} ${model.name}${model.loaded ? "" : " (loading)"}`
  )
    .join(", ");
  const { files, pending } = status.index;
  const index = status.index.state === "off"
    ? "no index"
    : `${files} files indexed, ${pending} pending`;
  if (status.state === "error") return view("error", "error", `${status.error ?? "failed"}.`);
  if (status.state === "loading") {
    return view("loading~spin", "loading model", `loading ${models}.`);
  }
  if (status.index.state === "indexing") {
    const percent = Math.floor((100 * files) / Math.max(1, files + pending));
    return view("sync~spin", `indexing ${percent}%`, `ready (${models}); indexing: ${index}.`);
  }
  return view("sparkle", "ready", `ready (${models}); ${index}.`);
}

/**
 * What the project's learning holds, in one line: its events and its filter, e.g.
 * "Learning: 120 shown, 30 accepted, 8 partial, 60 rejected; filter on: 14 hidden
 * of 90 judged (hides below 23%), learned from 98 outcomes."
 */
export function learningLine(learning: NonNullable<StatusRequest.Result["learning"]>): string {
  const { shown, accepted, partial, rejected } = learning.events;
  const events = `${shown} shown, ${accepted} accepted, ${partial} partial, ${rejected} rejected`;
  const { filter } = learning;
  if (!filter) return `Learning: ${events}.`;
  const outcomes = `learned from ${filter.updates} outcome${filter.updates === 1 ? "" : "s"}`;
  if (filter.state === "off") {
    return `Learning: ${events}; filter off (learning only), ${outcomes}.`;
  }
  const judged = filter.shown + filter.hidden;
  const below = Math.round(filter.threshold * 100);
  return `Learning: ${events}; filter on: ${filter.hidden} hidden of ${judged} judged ` +
    `(hides below ${below}%), ${outcomes}.`;
}

/**
 * The project's adapter, in one line, e.g. "Adapter: v3 in use.", "Adapter:
 * training 12/80 (paused), ~5 min left.", "Adapter: evaluating the candidate
 * 30/120, ~2 min left.", "Adapter: off (why)."; a discarded
 * last candidate is said too.
 */
export function adapterLine(adapter: LearningAdapterStatus): string {
  const parts: string[] = [];
  if (adapter.state === "ready") {
    parts.push(adapter.version === undefined ? "in use" : `v${adapter.version} in use`);
  } else if (!adapter.training || adapter.state === "off") {
    const state = adapter.state === "off" ? "off" : "none yet";
    parts.push(adapter.reason ? `${state} (${adapter.reason})` : state);
  }
  const { training, lastEvaluation: last } = adapter;
  if (training) {
    const paused = training.state === "paused" ? " (paused)" : "";
    const eta = training.etaSeconds === undefined ? "" : `, ${timeLeft(training.etaSeconds)}`;
    // Evaluating: the engine completes held-out lines before and with the candidate.
    const doing = training.phase === "evaluating" ? "evaluating the candidate" : "training";
    parts.push(`${doing} ${training.step}/${training.steps}${paused}${eta}`);
  }
  if (last && !last.kept) {
    // The engine's reason may end by saying "discarded" itself.
    const reason = last.reason.replace(/:?\s*discarded\.?$/i, "");
    parts.push(`last candidate (v${last.version}) discarded: ${reason}`);
  }
  return `Adapter: ${parts.join("; ")}.`;
}

function timeLeft(seconds: number): string {
  if (seconds < 60) return "under a minute left";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `~${minutes} min left`;
  return `~${Math.floor(minutes / 60)} h ${minutes % 60} min left`;
}

/** What `learning/train` answered: that training started, or why not. */
export function trainMessage(result: LearningTrainRequest.Result): string {
  if (result.started) {
    return "Training this project's adapter. It pauses while completions are served; " +
      "the status bar's tooltip shows its progress.";
  }
  return `Not training: ${result.reason ?? "the sidecar did not say why"}.`;
}

/** What `learning/reset` erased, e.g. "Forgot 120 suggestions and their outcomes (48 KB)." */
export function forgottenMessage(erased: LearningResetRequest.Result): string {
  if (erased.files.length === 0) return "Nothing to forget: this project has no learning recorded.";
  const { shown } = erased.events;
  return `Forgot ${shown} suggestion${shown === 1 ? "" : "s"} and their outcomes ` +
    `(${sizeInWords(erased.bytes)}).`;
}

function sizeInWords(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
