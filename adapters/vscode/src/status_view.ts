/** What the status bar says for each state of the sidecar. */
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
  const view = (icon: string, words: string, detail: string): StatusView => ({
    text: `$(${icon}) ast-complete${words === "ready" ? "" : `: ${words}`}`,
    label: `ast-complete: ${words}`,
    detail: `ast-complete: ${detail}${why}`,
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
