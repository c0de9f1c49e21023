/**
 * The learned show/hide filter: a logistic regression on what is known when a
 * suggestion is about to be shown (the model's confidence, the suggestion's
 * size, where the cursor is, what the user did with the last one), as
 * Copilot's contextual filter is (arXiv 2405.14753). It starts from a prior
 * fitted on simulated sessions (`deno task bench learning --fit-prior`) and
 * is updated online from the project's own outcomes. Suggestions answered
 * from the cache (typed through) are not filtered: they were shown already.
 */
import type { Outcome, ShownEvent } from "./events.ts";
import priorFile from "./filter_prior.json" with { type: "json" };

/** What the filter reads of a suggestion, all of it known before it is shown. */
export type FilterInput = Pick<
  ShownEvent,
  "text" | "prefix" | "suffix" | "contextUsed" | "logprobs" | "previousOutcome"
>;

/** The features, in order; their names document the weights in filter_prior.json. */
export const FEATURE_NAMES = [
  "bias",
  "meanLogprob",
  "minLogprob",
  "hasLogprobs",
  "logChars",
  "multiline",
  "contextUsed",
  "previousAccepted",
  "previousRejected",
  "previousPartial",
  "logSecondsSincePrevious",
  "cursorAtLineEnd",
  "cursorAtLineStart",
  "afterWordCharacter",
  "afterDot",
  "afterOpenBracket",
  "afterSpaceOrOperator",
  "wordOnly",
] as const;

/** The feature vector of a suggestion, each feature scaled to about [-1, 1]. */
export function filterFeatures(input: FilterInput): number[] {
  const lineBefore = input.prefix.slice(input.prefix.lastIndexOf("\n") + 1);
  const newline = input.suffix.indexOf("\n");
  const lineAfter = newline === -1 ? input.suffix : input.suffix.slice(0, newline);
  const last = lineBefore.at(-1) ?? "";
  const previous = input.previousOutcome;
  const flag = (value: boolean) => value ? 1 : 0;
  return [
    1,
    input.logprobs ? Math.max(-5, input.logprobs.mean) / 5 : 0,
    input.logprobs ? Math.max(-10, input.logprobs.min) / 10 : 0,
    flag(input.logprobs !== undefined),
    Math.log1p(input.text.length) / 5,
    flag(input.text.includes("\n")),
    flag(input.contextUsed > 0),
    flag(previous?.outcome === "accepted"),
    flag(previous?.outcome === "rejected"),
    flag(previous?.outcome === "partial"),
    previous ? Math.log1p(previous.msBefore / 1000) / 10 : 0,
    flag(lineAfter.trim() === ""),
    flag(lineBefore.trim() === ""),
    flag(/\w/.test(last)),
    flag(last === "."),
    flag("([{".includes(last) && last !== ""),
    flag(last !== "" && /[\s=+\-*/%<>!&|,:]/.test(last)),
    flag(/^\w+$/.test(input.text)),
  ];
}

/** What became of a shown suggestion, as a label in [0, 1]: the share of it that was kept. */
export function keptShare(outcome: Outcome, text: string, acceptedText?: string): number {
  if (outcome === "accepted") return 1;
  if (outcome === "rejected") return 0;
  return text.length === 0 ? 0 : Math.min(1, (acceptedText ?? "").length / text.length);
}

/** The filter's state, as filter.json and filter_prior.json hold it. */
export interface FilterState {
  /** One weight per feature of {@link FEATURE_NAMES}. */
  weights: number[];
  /** A suggestion less likely than this to be kept is hidden. */
  threshold: number;
  /** Outcomes learned from since the prior. */
  updates: number;
}

/** The filter's answer for one suggestion. */
export interface FilterDecision {
  show: boolean;
  /** How likely the suggestion is to be kept, by the filter. */
  probability: number;
  /** Why it is hidden, for the user ("filtered: 12% likely to be kept"); absent when shown. */
  reason?: string;
}

/**
 * The filter hides nothing before it has learned from this many of the
 * project's own outcomes: the prior, fitted on simulated sessions, only
 * starts it; hiding on the prior alone hid 6 of 8 lines in VS Code's end to
 * end test before the user had accepted or rejected anything.
 */
export const MIN_UPDATES_TO_HIDE = 50;
/** At most this share of the recent decisions hide: the filter never silences everything. */
const MAX_HIDDEN_SHARE = 0.5;
/** The recent decisions that share is taken over. */
const RECENT_DECISIONS = 40;
/**
 * One hidden suggestion in this many is shown anyway, so that outcomes keep
 * coming from the region the filter hides and it can learn it was wrong.
 */
const EXPLORE_EVERY = 10;
/** Each update's step size starts here and shrinks as outcomes accumulate. */
const LEARNING_RATE = 0.5;
/** How strongly an update is pulled back towards the prior's weights. */
const PRIOR_PULL = 0.01;

/** The prior shipped with the engine. */
export const PRIOR: Readonly<FilterState> = priorFile as FilterState;

/** The logistic function. */
function sigmoid(value: number): number {
  return 1 / (1 + Math.exp(-value));
}

/** A project's show/hide filter. */
export class SuggestionFilter {
  #state: FilterState;
  #prior: readonly number[];
  #recent: boolean[] = [];
  #hiddenSinceShown = 0;
  #decisions = { shown: 0, hidden: 0 };

  constructor(state: FilterState = PRIOR, prior: readonly number[] = PRIOR.weights) {
    if (state.weights.length !== FEATURE_NAMES.length || prior.length !== FEATURE_NAMES.length) {
      throw new Error(
        `A filter needs ${FEATURE_NAMES.length} weights, got ${state.weights.length}`,
      );
    }
    this.#state = { ...state, weights: [...state.weights] };
    this.#prior = prior;
  }

  /** How likely a suggestion with these features is to be kept. */
  probability(features: number[]): number {
    return sigmoid(
      features.reduce((sum, value, index) => sum + value * this.#state.weights[index], 0),
    );
  }

  /**
   * Whether to show a suggestion. It is hidden when less likely to be kept
   * than the threshold, once the filter has learned from the project
   * ({@link MIN_UPDATES_TO_HIDE}), unless too many recent ones were hidden
   * already or it is the one in {@link EXPLORE_EVERY} shown to keep learning.
   */
  decide(features: number[]): FilterDecision {
    const probability = this.probability(features);
    const hiddenShare = this.#recent.length === 0
      ? 0
      : this.#recent.filter(Boolean).length / this.#recent.length;
    const hide = this.#state.updates >= MIN_UPDATES_TO_HIDE &&
      probability < this.#state.threshold && hiddenShare < MAX_HIDDEN_SHARE &&
      this.#hiddenSinceShown + 1 < EXPLORE_EVERY;
    this.#recent.push(hide);
    if (this.#recent.length > RECENT_DECISIONS) this.#recent.shift();
    this.#hiddenSinceShown = hide ? this.#hiddenSinceShown + 1 : 0;
    this.#decisions[hide ? "hidden" : "shown"]++;
    return hide
      ? {
        show: false,
        probability,
        reason: `filtered: ${Math.round(probability * 100)}% likely to be kept`,
      }
      : { show: true, probability };
  }

  /**
   * Learns from one outcome: a step of gradient descent on the log loss,
   * pulled towards the prior so that a few outcomes cannot swing it far.
   *
   * @param label The share of the suggestion that was kept (see keptShare).
   */
  learn(features: number[], label: number): void {
    const error = this.probability(features) - label;
    const rate = LEARNING_RATE / Math.sqrt(1 + this.#state.updates / 20);
    this.#state.weights = this.#state.weights.map((weight, index) =>
      weight - rate * (error * features[index] + PRIOR_PULL * (weight - this.#prior[index]))
    );
    this.#state.updates++;
  }

  /** Its decisions since it was loaded. */
  get decisions(): Readonly<{ shown: number; hidden: number }> {
    return this.#decisions;
  }

  /** Its state, to save. */
  get state(): Readonly<FilterState> {
    return this.#state;
  }
}

/**
 * Fits a logistic regression to labelled feature vectors by full-batch
 * gradient descent with a little L2: the prior, from simulated sessions.
 *
 * @returns One weight per feature.
 */
export function fitWeights(
  samples: { features: number[]; label: number }[],
  options: { steps?: number; rate?: number; l2?: number } = {},
): number[] {
  const { steps = 2000, rate = 1, l2 = 1e-3 } = options;
  let weights = new Array(FEATURE_NAMES.length).fill(0);
  for (let step = 0; step < steps && samples.length > 0; step++) {
    const gradient = new Array(weights.length).fill(0);
    for (const { features, label } of samples) {
      const error = sigmoid(features.reduce((sum, value, index) =>
        sum + value * weights[index], 0)) -
        label;
      features.forEach((value, index) => gradient[index] += error * value);
    }
    weights = weights.map((weight, index) =>
      weight - rate * (gradient[index] / samples.length + l2 * weight)
    );
  }
  return weights;
}

/**
 * The highest threshold that still keeps `keep` of what was kept (accepted
 * suggestions weighted by the share kept): the filter hides as much as it
 * can without losing more than the rest of the good suggestions.
 */
export function chooseThreshold(
  scored: { probability: number; label: number }[],
  keep = 0.9,
): number {
  const total = scored.reduce((sum, { label }) => sum + label, 0);
  if (total === 0) return 0;
  const byProbability = [...scored].sort((a, b) => a.probability - b.probability);
  let lost = 0;
  let threshold = 0;
  for (const { probability, label } of byProbability) {
    if (lost + label > (1 - keep) * total) break;
    lost += label;
    threshold = probability;
  }
  return threshold;
}
