/**
 * The `adapter` suite (the learning bench's part b): a project's LoRA
 * adapter trained as the engine trains it when idle (AdapterTraining, the
 * real trainer), then lines of the files it held out completed with and
 * without the adapter, side by side, by the same engine: single-line exact
 * match and edit similarity, latency, and what training cost (time, tokens/s,
 * peak RSS, adapter size). Completions use the file alone, so what changes
 * between the arms is the adapter and nothing retrieval finds.
 */
import { join } from "node:path";
import { defaultCacheDir } from "../../engine/config/mod.ts";
import { languageOf } from "../../engine/documents/mod.ts";
import { createEngine } from "../../engine/engine.ts";
import {
  ADAPTER_SEED,
  fileSamples,
  type FimSample,
  isHeldOut,
  pairedCounts,
} from "../../engine/learning/mod.ts";
import { readProjectFiles } from "../../engine/indexer/mod.ts";
import type { Logger } from "../../engine/log/mod.ts";
import { type Completion, heldOutLineInput } from "../../engine/pipeline.ts";
import { fetchProject, inSources, projectsNamed } from "./projects.ts";
import { benchConfig } from "./repo.ts";
import { matchScores, seeded, shuffleInPlace, stats } from "./stats.ts";

/** Evaluation lines are cut with another seed than the trainer's, from the files it held out. */
const EVAL_SEED = 2;
/** Lines cut per held-out file: at 3, a project gave 49-51 lines, one line 2 points. */
const EVAL_PER_FILE = 6;

/** A held-out line to complete: the file with the rest of the line cut away, and that rest. */
interface EvalLine {
  path: string;
  text: string;
  offset: number;
  expected: string;
}

/** The document a sample was cut from, with its target removed, and where the cursor is. */
function evalLine(path: string, text: string, sample: FimSample): EvalLine | undefined {
  const at = text.indexOf(sample.prefix + sample.middle + sample.suffix);
  if (at === -1) return undefined;
  const offset = at + sample.prefix.length;
  return {
    path,
    text: text.slice(0, offset) + text.slice(offset + sample.middle.length),
    offset,
    expected: sample.middle,
  };
}

/** Exact match, edit similarity and latency of one arm. */
function score(lines: EvalLine[], results: Completion[]) {
  const { exact, meanEditSimilarity } = matchScores(
    results.map((result) => result.text),
    lines.map((line) => line.expected),
  );
  return {
    exactMatch: Math.round(exact / lines.length * 1000) / 1000,
    exact,
    editSimilarity: meanEditSimilarity,
    totalMs: stats(results.map((result) => result.timings.totalMs)),
  };
}

/**
 * The suite.
 *
 * @param options.samples Held-out lines completed per arm.
 * @param options.maxTrainSamples Training samples (the engine's default when absent).
 */
export async function adapterSuite(
  options: { projects: string[]; samples: number; maxTrainSamples?: number; log: Logger },
) {
  const reports: Record<string, unknown> = {};
  for (const project of projectsNamed(options.projects.length ? options.projects : ["all"])) {
    const root = await Deno.realPath(await fetchProject(project));
    const config = await benchConfig();
    // The trainer's environment is the user's, as the models are.
    await Deno.symlink(join(defaultCacheDir(), "python"), join(config.cacheDir, "python"));
    const engine = createEngine(config, options.log, { allowedRoots: [root] });
    try {
      engine.models.start();
      await engine.models.ready(new AbortController().signal, 120_000);
      const training = engine.adapters(root)!;
      const started = performance.now();
      const outcome = await training.train(
        options.maxTrainSamples ? { maxTrainSamples: options.maxTrainSamples } : {},
      );
      const wallMs = performance.now() - started;
      if (!outcome.trained) throw new Error(`${project.name}: no adapter: ${outcome.reason}`);
      // The candidate is measured whether or not the engine would keep it.
      const adapterPath = join(
        outcome.kept
          ? join(training.store.dir, `v${outcome.manifest.version}`)
          : training.store.discardedDir,
        "adapter.gguf",
      );
      if (!outcome.kept) options.log.warn(`${project.name}: not kept (${outcome.reason})`);

      const sampling = { ...config.learning.adapter, seed: EVAL_SEED, perFile: EVAL_PER_FILE };
      const files = await readProjectFiles(root, (path) => languageOf(path) === project.language);
      const heldOut = files.filter((file) =>
        isHeldOut(file.path, { ...sampling, seed: ADAPTER_SEED }) &&
        inSources(project, file.path)
      );
      const candidates = heldOut.flatMap((file) =>
        fileSamples(file, sampling).map((sample) => evalLine(file.path, file.text, sample))
      ).filter((line): line is EvalLine => line !== undefined);
      const lines = shuffleInPlace(candidates, seeded(EVAL_SEED)).slice(0, options.samples);
      const signal = new AbortController().signal;
      const complete = (line: EvalLine, arm: string, adapter?: string) =>
        engine.pipeline.complete(
          heldOutLineInput({ ...line, uri: `file://${join(root, line.path)}?${arm}` }, adapter),
          signal,
        );
      // One arm after the other: switching adapters makes the model's context again.
      const base: Completion[] = [], adapted: Completion[] = [];
      for (const line of lines) base.push(await complete(line, "base"));
      for (const line of lines) adapted.push(await complete(line, "adapter", adapterPath));
      const without = score(lines, base), withAdapter = score(lines, adapted);
      const right = (results: Completion[]) =>
        results.map((result, index) => result.text === lines[index].expected);
      const { gained, lost } = pairedCounts(right(base), right(adapted));
      reports[project.name] = {
        language: project.language,
        kept: outcome.kept,
        reason: outcome.reason,
        manifest: outcome.manifest,
        trainWallMs: Math.round(wallMs),
        heldOutLines: lines.length,
        without,
        withAdapter,
        // Lines only the adapter, or only the base model, completed exactly right.
        gained,
        lost,
        // From the counts: the rounded rates put 22 against 20 at x1.099.
        exactMatchRatio: Math.round(withAdapter.exact / Math.max(1e-9, without.exact) * 1000) /
          1000,
        latencyRatio: Math.round(withAdapter.totalMs.median / without.totalMs.median * 1000) / 1000,
      };
    } finally {
      await engine.close();
      await Deno.remove(config.cacheDir, { recursive: true });
    }
    console.error(JSON.stringify({ project: project.name, ...reports[project.name] as object }));
  }
  return { projects: reports };
}
