/**
 * A project's learned filter on disk: `filter.json` in its state folder
 * (0600 in a 0700 folder), written whole to a temporary file and renamed
 * over the old one, so a kill mid-write leaves the previous state. One
 * filter per project in this process, shared by its sessions.
 */
import { join } from "node:path";
import { makePrivateDir } from "../config/mod.ts";
import { FEATURE_NAMES, type FilterState, PRIOR, SuggestionFilter } from "./filter.ts";

/** The filters of the projects this process has opened, by state folder. */
const loaded = new Map<string, Promise<SuggestionFilter>>();
/** Saves per file, in order. */
const saving = new Map<string, Promise<unknown>>();

/** Reads, saves and erases a project's filter. */
export class FilterStore {
  /** filter.json in the project's state folder. */
  readonly path: string;
  #dir: string;
  #warn: (message: string) => void;

  constructor(stateDir: string, warn: (message: string) => void) {
    this.#dir = stateDir;
    this.path = join(stateDir, "filter.json");
    this.#warn = warn;
  }

  /**
   * The project's filter: as last saved, or the prior when there is none or
   * it cannot be read (a warning says why; the next save replaces it).
   */
  filter(): Promise<SuggestionFilter> {
    let filter = loaded.get(this.path);
    if (!filter) {
      filter = this.#read();
      loaded.set(this.path, filter);
    }
    return filter;
  }

  async #read(): Promise<SuggestionFilter> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        this.#warn(
          `Cannot read ${this.path}, starting from the prior: ${(error as Error).message}`,
        );
      }
      return new SuggestionFilter();
    }
    try {
      const state = JSON.parse(text) as FilterState;
      const valid = Array.isArray(state.weights) &&
        state.weights.length === FEATURE_NAMES.length &&
        state.weights.every(Number.isFinite) && Number.isFinite(state.threshold) &&
        Number.isInteger(state.updates);
      if (!valid) throw new Error("not a filter of this version");
      return new SuggestionFilter(state);
    } catch (error) {
      this.#warn(`${this.path} is unusable, starting from the prior: ${(error as Error).message}`);
      return new SuggestionFilter();
    }
  }

  /** Writes the filter's state: a temporary file renamed over the old one. */
  save(filter: SuggestionFilter): Promise<void> {
    const text = JSON.stringify(filter.state);
    const run = (saving.get(this.path) ?? Promise.resolve()).then(async () => {
      await makePrivateDir(this.#dir);
      const temporary = `${this.path}.${crypto.randomUUID()}.tmp`;
      try {
        await Deno.writeTextFile(temporary, text, { mode: 0o600 });
        await Deno.rename(temporary, this.path);
      } catch (error) {
        await Deno.remove(temporary).catch(() => {});
        throw error;
      }
    });
    saving.set(this.path, run.catch(() => undefined));
    return run;
  }

  /**
   * Forgets what the filter learned: removes filter.json and starts this
   * process's filter for the project from the prior again.
   *
   * @returns Whether there was a file to remove, and its size.
   */
  async reset(): Promise<{ removed: boolean; bytes: number }> {
    await saving.get(this.path);
    loaded.set(this.path, Promise.resolve(new SuggestionFilter(PRIOR)));
    try {
      const { size } = await Deno.stat(this.path);
      await Deno.remove(this.path);
      return { removed: true, bytes: size };
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return { removed: false, bytes: 0 };
      throw error;
    }
  }
}
