/**
 * The `latency` suite: a scripted editing session on real files. Lines are
 * deleted and typed again key by key, with a completion requested at every
 * key as an editor does once its debounce fires. The same keystrokes run
 * four times in one process on one loaded model: through the engine
 * (evaluated prefix reused, cache, typing through), through the model path
 * alone twice (evaluated prefix reused to a batch boundary, then to the
 * token; no cache: what a keystroke costs when the suggestion on screen no
 * longer fits) and the naive way (every prompt evaluated afresh, no cache),
 * so the ratios compare like with like. The
 * files belong to a real project, indexed first, so every completion has its
 * syntax and project context as in an editor (`--dir` picks the project).
 */
import { join, relative, resolve } from "node:path";
import { languageOf } from "../../engine/documents/mod.ts";
import { walkProject } from "../../engine/indexer/mod.ts";
import type { ModelHost } from "../../engine/inference/mod.ts";
import type { Logger } from "../../engine/log/mod.ts";
import type { Completion } from "../../engine/pipeline.ts";
import { benchConfig, DEFAULT_PROJECT, openIndexed } from "./repo.ts";
import { rssPeak, seeded, stats } from "./stats.ts";

/** One keystroke's document and cursor. */
interface Keystroke {
  path: string;
  text: string;
  position: { line: number; character: number };
  /** The rest of the line as written. */
  expected: string;
}

/** Keys typed per line at most: a long line is typed up to here. */
const MAX_KEYS = 40;

/** Whether a line is worth typing again: 20 characters of code or more, not a comment. */
export function typable(content: string): boolean {
  return content.trim().length >= 20 && !/^\s*(\/\/|#|\*|\/\*)/.test(content);
}

/**
 * The line as it reads after each key when typed again: cleared after its
 * indentation, then rebuilt one character at a time, up to MAX_KEYS keys.
 */
export function typedPrefixes(content: string): string[] {
  const indent = content.length - content.trimStart().length;
  const keys = Math.min(MAX_KEYS, content.length - indent);
  return Array.from({ length: Math.max(0, keys) }, (_, key) => content.slice(0, indent + key + 1));
}

/**
 * Picks `lines` lines of the files (fixed seed) and types each again: the
 * line is cleared after its indentation, then rebuilt one character at a time.
 */
async function typingSession(files: string[], lines: number): Promise<Keystroke[]> {
  const random = seeded(3);
  const keystrokes: Keystroke[] = [];
  for (let picked = 0, attempt = 0; picked < lines && attempt < lines * 50; attempt++) {
    const path = files[Math.floor(random() * files.length)];
    const text = await Deno.readTextFile(path);
    const fileLines = text.split("\n");
    const line = Math.floor(random() * fileLines.length);
    const content = fileLines[line];
    if (!typable(content)) continue;
    const before = fileLines.slice(0, line).join("\n");
    const after = fileLines.slice(line + 1).join("\n");
    for (const typed of typedPrefixes(content)) {
      keystrokes.push({
        path,
        text: `${before}\n${typed}\n${after}`,
        position: { line, character: typed.length },
        expected: content.slice(typed.length),
      });
    }
    picked++;
  }
  return keystrokes;
}

/** Runs the `latency` suite on `lines` lines of a project's files. */
export async function typingLatency(options: { dir?: string; lines: number; log: Logger }) {
  const root = resolve(options.dir ?? DEFAULT_PROJECT);
  const config = await benchConfig();
  const { engine, project } = await openIndexed(config, root, options.log);
  const files = (await Array.fromAsync(walkProject(root)))
    .map((file) => join(root, file.path))
    .filter((path) => /\.(js|ts|py)$/.test(path));
  const keystrokes = await typingSession(files, options.lines);
  const host = engine.models;
  host.start();
  const never = new AbortController().signal;
  await host.ready(never, 120_000);
  const { pipeline } = engine;
  const context = { source: project.contextSource, repoName: project.name };
  const rss = rssPeak();
  const run = async (mode: "engine" | "model" | "modelToken" | "naive", session = keystrokes) => {
    const results: Completion[] = [];
    for (const keystroke of session) {
      results.push(
        await pipeline.complete({
          uri: `file://${keystroke.path}?${mode}`,
          path: relative(root, keystroke.path),
          languageId: languageOf(keystroke.path),
          text: keystroke.text,
          position: keystroke.position,
          maxLines: 1,
          fresh: mode === "naive",
          // The model path twice: reuse cut to batch boundaries (exact) and to the token.
          ...(mode === "model" ? { reuse: "batch" as const } : {}),
          ...(mode === "modelToken" ? { reuse: "token" as const } : {}),
          useCache: mode === "engine",
          context,
        }, never),
      );
    }
    return results;
  };
  try {
    // Warm-up: the model's first evaluation carries one-off costs.
    await run("naive", keystrokes.slice(0, 1));
    const naive = await run("naive");
    const model = await run("model");
    const modelToken = await run("modelToken");
    const engine = await run("engine");
    const decode = await decodeSpeed(host);
    const summary = (results: Completion[]) => {
      const timings = results.map((result) => result.timings);
      const modelled = timings.filter((timing) => !timing.cached);
      const prompt = sum(modelled.map((timing) => timing.promptTokens));
      const reused = sum(modelled.map((timing) => timing.reusedTokens));
      return {
        sessionMs: Math.round(sum(timings.map((timing) => timing.totalMs))),
        totalMs: stats(timings.map((timing) => timing.totalMs)),
        modelMs: stats(modelled.map((timing) => timing.generateMs)),
        stageMs: {
          ast: stats(modelled.map((timing) => timing.astMs)).median,
          retrieve: stats(modelled.map((timing) => timing.retrieveMs)).median,
          prompt: stats(modelled.map((timing) => timing.promptMs)).median,
          generate: stats(modelled.map((timing) => timing.generateMs)).median,
        },
        overheadShare: round(
          sum(timings.map((timing) => timing.totalMs - timing.generateMs)) /
            sum(timings.map((timing) => timing.totalMs)),
          3,
        ),
        promptTokens: {
          evaluated: prompt - reused,
          reused,
          reusedShare: round(reused / prompt, 3),
        },
        fromCache: timings.length - modelled.length,
        shown: results.filter((result) => result.text !== "").length,
        exactRestOfLine: results.filter((result, index) =>
          result.text !== "" && result.text.trimEnd() === keystrokes[index].expected.trimEnd()
        ).length,
      };
    };
    const engineSummary = summary(engine);
    const modelSummary = summary(model);
    const modelTokenSummary = summary(modelToken);
    const naiveSummary = summary(naive);
    const msPerToken = 1000 / decode;
    return {
      project: relative(Deno.cwd(), root) || root,
      keystrokes: keystrokes.length,
      lines: options.lines,
      engine: engineSummary,
      modelPath: modelSummary,
      modelPathTokenReuse: modelTokenSummary,
      naive: naiveSummary,
      // The whole session's waiting time, naive over engine.
      sessionSpeedup: round(naiveSummary.sessionMs / engineSummary.sessionMs, 2),
      // A keystroke the cache cannot answer: median naive over median with the evaluated prefix reused.
      modelPathSpeedup: round(naiveSummary.totalMs.median / modelSummary.totalMs.median, 2),
      // Reuse to a batch boundary is exact: the model path suggests what the naive path does.
      sameSuggestions: sameAs(model, naive),
      // Reuse to the token: how often it suggests what a fresh evaluation does, and its speed.
      sameSuggestionsTokenReuse: sameAs(modelToken, naive),
      tokenReuseSpeedup: round(modelSummary.totalMs.median / modelTokenSummary.totalMs.median, 2),
      decodeTokensPerSecond: decode,
      // The model path's median latency in decoded tokens: the floor a completion stands on.
      modelPathInDecodedTokens: round(modelSummary.totalMs.median / msPerToken, 1),
      peakRssMb: rss.stop(),
    };
  } finally {
    rss.stop();
    await engine.close();
  }
}

/** How many of `results` suggest what `baseline` does at the same keystroke. */
function sameAs(results: Completion[], baseline: Completion[]): string {
  const same = results.filter((result, index) => result.text === baseline[index].text).length;
  return `${same}/${results.length}`;
}

/** A generation that measures decoding alone: a short prompt, evaluated afresh, 48 tokens. */
export const DECODE_PROBE = {
  prefix: "def fibonacci(n):\n    ",
  suffix: "",
  path: "fib.py",
  languageId: "python",
  multiline: true,
  context: [],
  repoName: "",
  maxTokens: 48,
  shouldStop: () => false,
  fresh: true,
};

/**
 * The model's own speed on this machine: tokens per second generating from
 * a short prompt, the floor any completion of that length stands on.
 */
async function decodeSpeed(host: ModelHost): Promise<number> {
  const generator = host.generator!;
  const rates: number[] = [];
  for (let run = 0; run < 3; run++) {
    const generation = await generator.generate({
      ...DECODE_PROBE,
      signal: new AbortController().signal,
    });
    rates.push(generation.generatedTokens / (generation.generateMs / 1000));
  }
  return round(stats(rates).median, 1);
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function round(value: number, digits: number): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}
