/**
 * The `learning` suite: a simulated user types lines of a real project
 * nobody here wrote through a real session (the sidecar's own ClientSession,
 * real model, real index, the real filter and event log), pausing at word
 * boundaries, where an editor asks for a suggestion. A suggestion is accepted
 * when the line goes on with it, kept in part when only its first words
 * match, and rejected otherwise; the session is told each outcome, as the
 * adapters tell it.
 *
 * The project's files are split with a fixed seed into a train part and a
 * held-out part. The filter learns online from a session on the train part,
 * then the held-out lines are typed with the filter and without it, side by
 * side. `--fit-prior` instead types the train parts with the filter off and
 * fits the prior the engine ships (engine/learning/filter_prior.json) to the
 * events those sessions logged.
 */
import { join } from "node:path";
import { projectStateDir } from "../../engine/config/mod.ts";
import {
  chooseThreshold,
  FEATURE_NAMES,
  FeedbackLog,
  filterFeatures,
  fitWeights,
  joinOutcomes,
  keptShare,
  type ShownEvent,
  SuggestionFilter,
} from "../../engine/learning/mod.ts";
import { readProjectFiles } from "../../engine/indexer/mod.ts";
import type { Logger } from "../../engine/log/mod.ts";
import { ClientSession } from "../../engine/session/mod.ts";
import type { Engine } from "../../engine/session/mod.ts";
import { type BenchProject, fetchProject, isSourceFile, projectsNamed } from "./projects.ts";
import { benchConfig, type CodeFile, openIndexed, proseLines } from "./repo.ts";
import { seeded, stats } from "./stats.ts";

/** Share of a project's files in the train part. */
const TRAIN_SHARE = 0.7;
/** The shortest and longest lines typed, without their indentation. */
const LINE_CHARS = { min: 12, max: 100 };
/** An import or a package line: a list of names, not code worth timing. */
const IMPORT = /^\s*(?:import\b|from\s|package\s|use\s|#include)/;
/** Where the file of the shipped prior is. */
const PRIOR_PATH = new URL("../../engine/learning/filter_prior.json", import.meta.url);

/** One line to type: the file it is in and its index. */
interface TypedLine {
  file: CodeFile;
  line: number;
}

/** What one simulated session saw. */
interface SessionTally {
  requests: number;
  shown: number;
  hidden: number;
  accepted: number;
  partial: number;
  rejected: number;
  /** Characters the user would have typed without suggestions (indentation excluded). */
  chars: number;
  /** Keystrokes saved: a suggestion's kept characters, less the key that accepts it. */
  saved: number;
  /** Time the filter took to decide, per suggestion judged. */
  completeMs: number[];
}

/**
 * Lines of `files` worth typing (code, not comments or imports, of a sensible
 * length), at most `perFile` from each, in a seeded order.
 */
function pickLines(files: CodeFile[], count: number, seed: number): TypedLine[] {
  const random = seeded(seed);
  const candidates: TypedLine[][] = files.map((file) => {
    const prose = proseLines(file.path, file.text);
    return file.text.split("\n").flatMap((text, line) => {
      const code = text.trim();
      const fits = code.length >= LINE_CHARS.min && code.length <= LINE_CHARS.max;
      return fits && !prose[line] && !IMPORT.test(text) ? [{ file, line }] : [];
    });
  }).filter((lines) => lines.length > 0);
  const picked: TypedLine[] = [];
  // Round-robin over shuffled files, a random line of each, so no file dominates.
  const order = [...candidates].sort(() => random() - 0.5);
  for (let round = 0; picked.length < count && round < 8; round++) {
    for (const lines of order) {
      if (picked.length >= count) break;
      const line = lines[Math.floor(random() * lines.length)];
      if (!picked.includes(line)) picked.push(line);
    }
  }
  return picked;
}

/** The start of `suggestion` that the line goes on with, cut back to a whole word; "" if none. */
export function keptWords(suggestion: string, rest: string): string {
  let common = 0;
  while (common < suggestion.length && suggestion[common] === rest[common]) common++;
  if (common === suggestion.length) return suggestion;
  const kept = suggestion.slice(0, common);
  // A word is whole when neither the line nor the suggestion goes on with it.
  const inWord = /\w/.test(rest[common] ?? "") || /\w/.test(suggestion[common] ?? "");
  const cut = inWord ? kept.replace(/\w+$/, "") : kept;
  return /\w/.test(cut) ? cut : "";
}

/** Where the user pauses next: after the next character that is not part of a word. */
export function nextPause(line: string, from: number): number {
  let at = from + 1;
  while (at < line.length && /\w/.test(line[at - 1])) at++;
  return at;
}

/** Types `lines` through `session`, reporting each outcome, and tallies what happened. */
async function typeLines(session: ClientSession, lines: TypedLine[], root: string) {
  const tally: SessionTally = {
    requests: 0,
    shown: 0,
    hidden: 0,
    accepted: 0,
    partial: 0,
    rejected: 0,
    chars: 0,
    saved: 0,
    completeMs: [],
  };
  const signal = new AbortController().signal;
  for (const { file, line } of lines) {
    const all = file.text.split("\n");
    const target = all[line];
    const before = all.slice(0, line).join("\n") + (line > 0 ? "\n" : "");
    const after = line < all.length - 1 ? `\n${all.slice(line + 1).join("\n")}` : "";
    let typed = target.length - target.trimStart().length;
    tally.chars += target.length - typed;
    while (typed < target.length) {
      const started = performance.now();
      const result = await session.complete({
        uri: `file://${join(root, file.path)}`,
        text: before + target.slice(0, typed) + after,
        position: { line, character: typed },
        maxLines: 1,
      }, signal);
      tally.completeMs.push(performance.now() - started);
      tally.requests++;
      if (result.filtered) tally.hidden++;
      const suggestion = result.items[0]?.text ?? "";
      if (suggestion) {
        tally.shown++;
        const kept = keptWords(suggestion, target.slice(typed));
        if (kept === suggestion) {
          tally.accepted++;
          await session.feedback({ id: result.id, outcome: "accepted" });
        } else if (kept) {
          tally.partial++;
          await session.feedback({ id: result.id, outcome: "partial", acceptedText: kept });
        } else {
          tally.rejected++;
          await session.feedback({ id: result.id, outcome: "rejected" });
        }
        if (kept) {
          typed += kept.length;
          tally.saved += kept.length - 1;
          continue;
        }
      }
      typed = nextPause(target, typed);
    }
  }
  return tally;
}

/** A session's figures: rates and keystrokes saved. */
function report(tally: SessionTally) {
  const round = (value: number) => Math.round(value * 1000) / 1000;
  const kept = tally.accepted + tally.partial;
  return {
    requests: tally.requests,
    shown: tally.shown,
    hidden: tally.hidden,
    accepted: tally.accepted,
    partial: tally.partial,
    rejected: tally.rejected,
    acceptRate: round(tally.accepted / Math.max(1, tally.shown)),
    keptRate: round(kept / Math.max(1, tally.shown)),
    chars: tally.chars,
    keystrokesSaved: tally.saved,
    savedShare: round(tally.saved / Math.max(1, tally.chars)),
    completeMs: stats(tally.completeMs),
  };
}

/** A project's files of its language, split into the train part and the held-out part. */
async function splitProject(root: string, project: BenchProject) {
  const files = await readProjectFiles(root, (path) => isSourceFile(project, path));
  files.sort((a, b) => a.path.localeCompare(b.path));
  const random = seeded(11);
  const train: CodeFile[] = [];
  const heldOut: CodeFile[] = [];
  for (const file of files) (random() < TRAIN_SHARE ? train : heldOut).push(file);
  return { train, heldOut };
}

/** The shown events of a project's log joined with their outcomes, as the filter reads them. */
async function loggedOutcomes(cacheDir: string, root: string) {
  const events = await new FeedbackLog(projectStateDir(cacheDir, root)).readEvents();
  return joinOutcomes(events, Date.now()).filter((suggestion) => suggestion.outcome !== "ignored")
    .map(({ shown, outcome, acceptedText }) => ({
      features: filterFeatures(shown as ShownEvent),
      label: keptShare(outcome as "accepted", shown.text, acceptedText),
    }));
}

/**
 * The `learning` suite.
 *
 * @param options.lines Lines typed per part (train, held-out).
 * @param options.fitPrior Fit and write the shipped prior instead of evaluating the filter.
 */
export async function learning(
  options: { projects: string[]; lines: number; fitPrior: boolean; log: Logger },
) {
  const reports: Record<string, unknown> = {};
  const pooled: { features: number[]; label: number }[] = [];
  for (const project of projectsNamed(options.projects.length ? options.projects : ["all"])) {
    const root = await Deno.realPath(await fetchProject(project));
    const { train, heldOut } = await splitProject(root, project);
    const config = await benchConfig();
    // Training types with the filter off when fitting the prior: every suggestion is data.
    config.learning.filter = !options.fitPrior;
    const { engine, indexMs } = await openIndexed(config, root, options.log, root);
    try {
      engine.models.start();
      await engine.models.ready(new AbortController().signal, 120_000);
      const trainLines = pickLines(train, options.lines, 1);
      const session = new ClientSession(engine);
      const trained = report(await typeLines(session, trainLines, root));
      if (options.fitPrior) {
        const outcomes = await loggedOutcomes(config.cacheDir, root);
        pooled.push(...outcomes);
        reports[project.name] = {
          indexMs: Math.round(indexMs),
          train: trained,
          outcomes: outcomes.length,
        };
        continue;
      }
      const heldOutLines = pickLines(heldOut, options.lines, 2);
      const withFilter = report(await typeLines(session, heldOutLines, root));
      const filter = (await session.learningStatus()).filter;
      config.learning.filter = false;
      const withoutFilter = report(await typeLines(new ClientSession(engine), heldOutLines, root));
      reports[project.name] = {
        language: project.language,
        files: { train: train.length, heldOut: heldOut.length },
        indexMs: Math.round(indexMs),
        train: trained,
        heldOut: {
          withFilter,
          withoutFilter,
          acceptRateRatio: Math.round(
            withFilter.acceptRate / Math.max(1e-9, withoutFilter.acceptRate) * 1000,
          ) / 1000,
          acceptedKept: Math.round(
            withFilter.accepted / Math.max(1, withoutFilter.accepted) * 1000,
          ) / 1000,
        },
        filter,
      };
    } finally {
      await closeEngine(engine, config.cacheDir);
    }
    console.error(JSON.stringify({ project: project.name, ...reports[project.name] as object }));
  }
  if (options.fitPrior) return { projects: reports, prior: await writePrior(pooled) };
  return { projects: reports };
}

/** Fits the prior to the pooled outcomes, chooses its threshold, and writes it. */
async function writePrior(samples: { features: number[]; label: number }[]) {
  const weights = fitWeights(samples);
  const fitted = new SuggestionFilter({ weights, threshold: 0, updates: 0 }, weights);
  const threshold = chooseThreshold(
    samples.map(({ features, label }) => ({ probability: fitted.probability(features), label })),
  );
  const prior = {
    weights: weights.map((weight) => Math.round(weight * 1e4) / 1e4),
    threshold: Math.round(threshold * 1e4) / 1e4,
    updates: 0,
  };
  await Deno.writeTextFile(PRIOR_PATH, `${JSON.stringify(prior)}\n`);
  return {
    samples: samples.length,
    kept: samples.filter(({ label }) => label > 0).length,
    ...prior,
    features: FEATURE_NAMES,
  };
}

async function closeEngine(engine: Engine, cacheDir: string) {
  await engine.close();
  await Deno.remove(cacheDir, { recursive: true });
}
