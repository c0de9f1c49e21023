/**
 * What a project has learned, behind the two questions the rest of the
 * engine asks: "show this suggestion?" before it goes out, and "here is what
 * became of it" when the user acts. It keeps the event log and the filter
 * side by side in the project's state folder.
 */
import type {
  LearningFilterStatus,
  LearningResetRequest,
  LearningStatusRequest,
} from "../protocol/mod.ts";
import type { Outcome, ShownEvent } from "./events.ts";
import { FeedbackLog } from "./feedback_log.ts";
import { type FilterDecision, filterFeatures, keptShare, type SuggestionFilter } from "./filter.ts";
import { FilterStore } from "./filter_store.ts";
import type { AdapterTraining } from "./adapter_training.ts";

/** The adapter's state where adapters are off. */
const ADAPTERS_OFF = {
  state: "off",
  reason: "adapters are off (AST_COMPLETE_ADAPTER=off)",
} as const;

/** A suggestion judged by the filter: its decision, and the features to learn from later. */
export interface Judged {
  decision: FilterDecision;
  features: number[];
}

/** One project's learning: its event log, its filter and its adapter. */
export class ProjectLearning {
  /** The project's events: what was shown, what became of it. */
  readonly log: FeedbackLog;
  #filters: FilterStore;
  #filterOn: boolean;
  #warn: (message: string) => void;
  /** The filter once loaded, for the synchronous `status`. */
  #filter?: SuggestionFilter;
  /** The project's adapter; absent where adapters are off. */
  readonly adapter?: AdapterTraining;

  /**
   * @param options.filter Whether the filter may hide suggestions; off, it still learns.
   * @param options.adapter The project's adapter, shared by its sessions.
   */
  constructor(
    stateDir: string,
    options: { filter: boolean; warn: (message: string) => void; adapter?: AdapterTraining },
  ) {
    this.log = new FeedbackLog(stateDir);
    this.adapter = options.adapter;
    this.#filters = new FilterStore(stateDir, options.warn);
    this.#filterOn = options.filter;
    this.#warn = options.warn;
    this.#loadedFilter().catch(() => {});
  }

  async #loadedFilter(): Promise<SuggestionFilter> {
    this.#filter = await this.#filters.filter();
    return this.#filter;
  }

  /** Whether to show a suggestion about to go out (never hidden when the filter is off). */
  async judge(event: ShownEvent): Promise<Judged> {
    const filter = await this.#loadedFilter();
    const features = filterFeatures(event);
    if (!this.#filterOn) {
      return { features, decision: { show: true, probability: filter.probability(features) } };
    }
    return { features, decision: filter.decide(features) };
  }

  /**
   * Learns what became of a shown suggestion and saves the filter; a save
   * that fails is logged, and what was learned stays in memory.
   */
  async learn(features: number[], outcome: Outcome, text: string, acceptedText?: string) {
    const filter = await this.#loadedFilter();
    filter.learn(features, keptShare(outcome, text, acceptedText));
    await this.#filters.save(filter).catch((error) =>
      this.#warn(`Cannot save the learned filter: ${(error as Error).message}`)
    );
  }

  /** `learning/status`: the events on disk now, the filter and the adapter. */
  async status(): Promise<LearningStatusRequest.Result> {
    return {
      ...await this.log.status(),
      filter: await this.filterStatus(),
      adapter: this.adapter ? (await this.adapter.refresh(), this.adapter.status()) : ADAPTERS_OFF,
    };
  }

  /** The filter's state, once loaded. */
  async filterStatus(): Promise<LearningFilterStatus> {
    return this.filterStatusNow(await this.#loadedFilter())!;
  }

  /** The filter's state as last loaded, without waiting; undefined before it is. */
  filterStatusNow(filter = this.#filter): LearningFilterStatus | undefined {
    return filter && {
      state: this.#filterOn ? "on" : "off",
      updates: filter.state.updates,
      threshold: filter.state.threshold,
      ...filter.decisions,
    };
  }

  /** `learning/reset`: erases the events, what the filter learned and the adapters. */
  async reset(): Promise<LearningResetRequest.Result> {
    const erased = await this.log.reset();
    const removed = [
      { name: "filter.json", ...await this.#filters.reset() },
      { name: "adapters/", ...await (this.adapter?.reset() ?? { removed: false, bytes: 0 }) },
    ].filter((part) => part.removed);
    await this.#loadedFilter();
    return {
      ...erased,
      files: [...erased.files, ...removed.map((part) => part.name)],
      bytes: removed.reduce((sum, part) => sum + part.bytes, erased.bytes),
    };
  }
}
