/** The extension's settings, read in one place, with the per-language rule. */

/** `astComplete.*` as the extension uses them. */
export interface Settings {
  enable: boolean;
  /** Language id → on/off; `*` for the rest. */
  languages: Record<string, boolean>;
  debounceMs: number;
  maxLines: number;
  sidecarPath: string;
  repositoryPath: string;
  denoPath: string;
  model: string;
}

/** Whether completions are on for a language: its own entry, else `*`, else on. */
export function languageEnabled(settings: Settings, languageId: string): boolean {
  return settings.languages[languageId] ?? settings.languages["*"] ?? true;
}

/** Reads the settings through a getter like `vscode.WorkspaceConfiguration.get`. */
export function readSettings(get: <T>(key: string, fallback: T) => T): Settings {
  return {
    enable: get("enable", true),
    languages: get<Record<string, boolean>>("languages", { "*": true }),
    debounceMs: Math.max(0, get("debounceMs", 100)),
    maxLines: Math.max(1, Math.floor(get("maxLines", 8))),
    sidecarPath: get("sidecarPath", ""),
    repositoryPath: get("repositoryPath", ""),
    denoPath: get("denoPath", "deno"),
    model: get("model", ""),
  };
}
