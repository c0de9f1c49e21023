/**
 * The `humaneval-fim` suite: HumanEval infilling (single-line, multi-line,
 * random-span), each problem completed by the engine and by the bare model
 * given the same prefix and suffix in its native FIM prompt, side by side.
 * A completion passes when `prompt + completion + suffix + test` runs
 * `check(entry_point)` without error in a Python subprocess (10 s timeout).
 * The single-line set is also scored by exact match of the first non-empty
 * line, exactly and ignoring surrounding whitespace, and the bare model's
 * answer is cut at its first non-empty line there, as published harnesses do.
 * The published figures (Qwen2.5-Coder report, Table 7) come from Qwen's own
 * harness (qwencoder-eval, hm_fim), which strips both lines before comparing:
 * `exactMatchTrimmed` is the one to hold them against.
 */
import { gunzipSync } from "fflate";
import { join } from "node:path";
import { loadConfig } from "../../engine/config/mod.ts";
import type { Logger } from "../../engine/log/mod.ts";
import { createEngine } from "../../engine/engine.ts";
import { seeded, shuffleInPlace, stats } from "./stats.ts";

const EVAL_DIR = new URL("../../../shared/eval/humaneval-infilling/", import.meta.url).pathname;
const SETS = {
  single: { file: "HumanEval-SingleLineInfilling.jsonl.gz", maxLines: 1 },
  multi: { file: "HumanEval-MultiLineInfilling.jsonl.gz", maxLines: undefined },
  randomSpan: { file: "HumanEval-RandomSpanInfilling.jsonl.gz", maxLines: undefined },
};
/** The bare model may write this much; it usually ends itself with its end-of-text token. */
const BARE_MAX_TOKENS = 256;
const TEST_TIMEOUT_MS = 10_000;

interface Problem {
  task_id: string;
  entry_point: string;
  prompt: string;
  suffix: string;
  canonical_solution: string;
  test: string;
}

/** `limit` problems of a set, picked with a fixed seed. */
async function problems(file: string, limit: number): Promise<Problem[]> {
  const lines = new TextDecoder().decode(gunzipSync(await Deno.readFile(join(EVAL_DIR, file))))
    .trim().split("\n").map((line) => JSON.parse(line) as Problem);
  return shuffleInPlace(lines, seeded(17)).slice(0, limit);
}

/** Whether the completed program passes its tests. */
async function passes(problem: Problem, completion: string): Promise<boolean> {
  const program = `${problem.prompt}${completion}${problem.suffix}\n${problem.test}\n` +
    `check(${problem.entry_point})\n`;
  const child = new Deno.Command("python3", {
    args: ["-c", program],
    stdout: "null",
    stderr: "null",
    signal: AbortSignal.timeout(TEST_TIMEOUT_MS),
  }).spawn();
  return (await child.status).success;
}

/** Runs the suite: `limit` problems from each set. */
export async function humanevalFim(options: { limit: number; sets?: string[]; log: Logger }) {
  const config = loadConfig();
  const engine = createEngine(config, options.log);
  engine.models.start();
  const never = new AbortController().signal;
  const host = engine.models;
  await host.ready(never, 120_000);
  const { pipeline } = engine;
  const report: Record<string, unknown> = { model: host.generator!.modelName };
  try {
    for (const [name, set] of Object.entries(SETS)) {
      if (options.sets && !options.sets.includes(name)) continue;
      const chosen = await problems(set.file, options.limit);
      const engine = { passed: 0, exact: 0, exactTrimmed: 0, ms: [] as number[] };
      const bare = { passed: 0, exact: 0, exactTrimmed: 0, ms: [] as number[] };
      // Lines exactly right in one arm and not in the other: where the two part.
      const lostToBare: { task: string; expected: string; engine: string }[] = [];
      const wonOverBare: { task: string; expected: string; bare: string }[] = [];
      // The canonical solution passing shows the harness itself works.
      let canonical = 0;
      for (const problem of chosen) {
        if (await passes(problem, problem.canonical_solution)) canonical++;
        const lines = problem.prompt.split("\n");
        // The line sets cut out whole lines: in an editor the cursor would be on an empty
        // line there, so the engine's document has one, and its completion fills that line.
        const gap = name !== "randomSpan" && problem.canonical_solution.endsWith("\n") ? "\n" : "";
        const result = await pipeline.complete({
          uri: `file:///humaneval/${problem.task_id}.py`,
          path: "solution.py",
          languageId: "python",
          text: problem.prompt + gap + problem.suffix,
          position: { line: lines.length - 1, character: lines.at(-1)!.length },
          maxLines: set.maxLines,
        }, never);
        engine.ms.push(result.timings.totalMs);
        if (await passes(problem, (result.text ?? "") + gap)) engine.passed++;
        // The bare model as published harnesses run it: its native FIM prompt, and for the
        // line set the standard cut at its first non-empty line.
        const oneLine = name === "single";
        const generation = await host.generator!.generate({
          prefix: problem.prompt,
          suffix: problem.suffix,
          path: "solution.py",
          languageId: "python",
          multiline: true,
          context: [],
          repoName: "",
          maxTokens: BARE_MAX_TOKENS,
          shouldStop: (text) => oneLine && FIRST_LINE_DONE.test(text),
          // The whole prefix before the suffix, as published harnesses prompt it.
          layout: "prefix",
          signal: never,
        });
        const bareText = oneLine ? `${firstLine(generation.text)}\n` : generation.text;
        bare.ms.push(generation.generateMs);
        if (await passes(problem, bareText)) bare.passed++;
        if (oneLine) {
          const expected = firstLine(problem.canonical_solution);
          const engineLine = firstLine(result.text ?? "");
          const bareLine = firstLine(bareText);
          engine.exact += Number(engineLine === expected);
          engine.exactTrimmed += Number(engineLine.trim() === expected.trim());
          bare.exact += Number(bareLine === expected);
          bare.exactTrimmed += Number(bareLine.trim() === expected.trim());
          if (bareLine === expected && engineLine !== expected) {
            lostToBare.push({ task: problem.task_id, expected, engine: engineLine });
          }
          if (engineLine === expected && bareLine !== expected) {
            wonOverBare.push({ task: problem.task_id, expected, bare: bareLine });
          }
        }
      }
      const firstLineScores = (scores: typeof engine) =>
        name === "single"
          ? {
            exactMatch: round(scores.exact / chosen.length),
            exactMatchTrimmed: round(scores.exactTrimmed / chosen.length),
          }
          : {};
      report[name] = {
        problems: chosen.length,
        canonicalPass: canonical,
        engine: {
          pass1: round(engine.passed / chosen.length),
          ...firstLineScores(engine),
          ms: stats(engine.ms),
        },
        bareModel: {
          pass1: round(bare.passed / chosen.length),
          ...firstLineScores(bare),
          ms: stats(bare.ms),
        },
        ...(name === "single" ? { lostToBare, wonOverBare } : {}),
      };
    }
  } finally {
    await engine.close();
  }
  return report;
}

/** A non-empty line followed by its newline: where the first-line cut falls. */
const FIRST_LINE_DONE = /\S[^\n]*\n/;

/** The first non-empty line, as first-line exact match (Qwen2.5-Coder report, Table 7) scores it. */
function firstLine(text: string): string {
  return text.split("\n").find((line) => line.trim() !== "") ?? "";
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
