/**
 * The learned filter: it learns online from outcomes, raises the accept rate
 * of what it shows on suggestions it has not seen, never hides everything,
 * and its state survives on disk (0600), or falls back to the prior.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  chooseThreshold,
  FEATURE_NAMES,
  filterFeatures,
  type FilterInput,
  fitWeights,
  MIN_UPDATES_TO_HIDE,
  SuggestionFilter,
} from "../../engine/learning/mod.ts";
import { FilterStore } from "../../engine/learning/filter_store.ts";
import { seeded } from "../../scripts/bench/stats.ts";

const NEUTRAL = { weights: new Array(FEATURE_NAMES.length).fill(0), threshold: 0, updates: 0 };

/**
 * Synthetic suggestions whose chance of being kept follows the model's
 * confidence, where the cursor is and the last outcome, as real ones tend to.
 */
function synthetic(count: number, seed: number): { input: FilterInput; kept: boolean }[] {
  const random = seeded(seed);
  return Array.from({ length: count }, () => {
    const min = -6 * random();
    const atLineEnd = random() < 0.6;
    const previous = random() < 0.5 ? "accepted" as const : "rejected" as const;
    const input: FilterInput = {
      text: random() < 0.5 ? "total(items)" : "x",
      prefix: "def f(items):\n    return ",
      suffix: atLineEnd ? "\n" : ")\n",
      contextUsed: 0,
      logprobs: { mean: min / 3, min },
      previousOutcome: { outcome: previous, msBefore: 2000 },
    };
    const chance = 0.05 + 0.8 * Math.exp(min / 1.5) * (atLineEnd ? 1 : 0.4) *
        (previous === "accepted" ? 1 : 0.7);
    return { input, kept: random() < chance };
  });
}

Deno.test("The filter learns from outcomes: the accept rate of what it shows rises on unseen suggestions", () => {
  const filter = new SuggestionFilter(NEUTRAL, NEUTRAL.weights);
  const train = synthetic(600, 1);
  for (const { input, kept } of train) filter.learn(filterFeatures(input), kept ? 1 : 0);
  assert.equal(filter.state.updates, 600);
  const threshold = chooseThreshold(
    train.map(({ input, kept }) => ({
      probability: filter.probability(filterFeatures(input)),
      label: kept ? 1 : 0,
    })),
  );
  const judged = new SuggestionFilter({ ...filter.state, threshold }, NEUTRAL.weights);
  const heldOut = synthetic(600, 2);
  const shown = heldOut.filter(({ input }) => judged.decide(filterFeatures(input)).show);
  const rate = (list: typeof heldOut) => list.filter(({ kept }) => kept).length / list.length;
  const keptShown = shown.filter(({ kept }) => kept).length;
  const keptAll = heldOut.filter(({ kept }) => kept).length;
  assert.ok(rate(shown) > rate(heldOut) * 1.25, `${rate(shown)} vs ${rate(heldOut)} unfiltered`);
  assert.ok(keptShown >= keptAll * 0.85, `kept ${keptShown} of ${keptAll}`);
  assert.ok(shown.length < heldOut.length, "it hid some");
});

Deno.test("The filter never hides everything, and says why it hides one", () => {
  // Before it has learned from the project, it hides nothing, whatever the prior says.
  const fresh = new SuggestionFilter({ ...NEUTRAL, threshold: 1 }, NEUTRAL.weights);
  assert.ok(
    Array.from({ length: 20 }, () => fresh.decide(new Array(18).fill(0))).every((d) => d.show),
  );
  // Learned, with everything below a threshold of 1.
  const filter = new SuggestionFilter(
    { ...NEUTRAL, threshold: 1, updates: MIN_UPDATES_TO_HIDE },
    NEUTRAL.weights,
  );
  const decisions = Array.from({ length: 100 }, () => filter.decide(new Array(18).fill(0)));
  const hidden = decisions.filter((decision) => !decision.show);
  assert.ok(hidden.length > 0 && hidden.length <= 50, `${hidden.length} of 100 hidden`);
  assert.equal(hidden[0].reason, "filtered: 50% likely to be kept");
  assert.deepEqual(filter.decisions, { shown: 100 - hidden.length, hidden: hidden.length });
});

Deno.test("fitWeights() recovers which way each feature points", () => {
  const samples = synthetic(800, 3).map(({ input, kept }) => ({
    features: filterFeatures(input),
    label: kept ? 1 : 0,
  }));
  const weights = fitWeights(samples);
  const weight = (name: string) => weights[FEATURE_NAMES.indexOf(name as never)];
  // A higher (less negative) lowest log-probability, the line's end, an accepted last one: kept.
  assert.ok(weight("minLogprob") > 0 && weight("cursorAtLineEnd") > 0);
  assert.ok(weight("previousAccepted") > weight("previousRejected"));
});

Deno.test("FilterStore keeps the filter private on disk and falls back to the prior", async () => {
  const dir = join(await Deno.makeTempDir(), "state");
  const warnings: string[] = [];
  const store = new FilterStore(dir, (message) => warnings.push(message));
  const filter = await store.filter();
  assert.equal(await store.filter(), filter, "one filter per project in a process");
  filter.learn(new Array(18).fill(1), 1);
  await store.save(filter);
  assert.equal((await Deno.stat(store.path)).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
  const reread = JSON.parse(await Deno.readTextFile(store.path));
  assert.equal(reread.updates, 1);
  assert.deepEqual(reread.weights, filter.state.weights);

  const reset = await store.reset();
  assert.equal(reset.removed, true);
  assert.equal((await store.filter()).state.updates, 0, "from the prior again");

  const corrupt = join(await Deno.makeTempDir(), "state");
  await Deno.mkdir(corrupt);
  await Deno.writeTextFile(join(corrupt, "filter.json"), '{"weights": [1, 2');
  const fallback = await new FilterStore(corrupt, (message) => warnings.push(message)).filter();
  assert.equal(fallback.state.updates, 0);
  assert.match(warnings.join("\n"), /filter\.json is unusable, starting from the prior/);
  assert.equal(warnings.length, 1);
});
