/**
 * `deno task bench [SUITE...] [--samples N] [--dir DIR] [--project NAME] [--limit N] [--fit-prior] [--pause MS]
 * [--llama-server PATH] [--suffix-chars N,N] [--layouts prefix,middle]`: measures the engine.
 * Every figure is a median with min/max (and p95 for latencies) over repeats;
 * each suite prints one JSON line on stdout, and all results are written to
 * bench-results/<time>.json so runs can be compared.
 *
 * Suites:
 *   startup  spawn `serve` as `deno task start` does: ms to the socket path, ms to ready
 *   threads  the same completions with 1 and 2 generation threads, side by side
 *   models   the generators that are pulled (0.5B, 1.5B) side by side on this machine: the
 *            model's prompt evaluation and generation tokens/s, and single-line completion
 *            latency cold (the whole prompt evaluated) and while typing (one key more: the
 *            evaluated prefix reused, no cache), in wall and CPU time; AST_COMPLETE_THREADS=1
 *            makes CPU time the time on one idle core (scripts/bench/generators.ts)
 *   latency  a scripted editing session: lines of real files typed key by key with a
 *            completion at every key, through the engine, the model path alone (reuse to a
 *            batch boundary, then to the token; no cache) and the naive way (fresh prompt, no
 *            cache) side by side: p50/p95, tokens evaluated vs reused, exact rest of the line,
 *            suggestions equal to the naive path's, stage split, peak RSS, the model's tokens/s;
 *            in an indexed project (`--dir`), with syntax and retrieval (scripts/bench/typing.ts)
 *   lines    single-line completions at natural cut points of real files: exact match,
 *            latency and the stage split
 *   window   the same completions with prompt windows of several sizes (`--windows
 *            1500/1000,8000/2000`: characters before/after the cursor): exact match
 *            against latency, side by side; on a pinned project's own sources with
 *            `--project NAME` (as `lines` and `models` too)
 *   repo     lines that use a name defined in another file of a real project, completed
 *            with and without retrieval, side by side, per project: `--project NAME`
 *            (repeatable; `all` for the four pinned registry packages in TypeScript, Python,
 *            Go and Rust, fetched once into the cache, scripts/bench/projects.ts) and
 *            `--dir DIR` (repeatable); by default an installed npm package
 *            (scripts/bench/repo.ts)
 *   index    embedding cost, indexing throughput and memory, re-index and retrieval latency
 *   humaneval-fim  HumanEval infilling (single-line, multi-line, random-span), pass@1 of the
 *            engine and of the bare model side by side, and first-line exact match on the
 *            single-line set; `--limit N` problems per set, `--set single` to run one set
 *            (scripts/bench/humaneval.ts)
 *   learning a simulated user types lines of a pinned project through a real session,
 *            accepting what the line goes on with: shown, accepted, accept rate and
 *            keystrokes saved on held-out files with the learned filter and without it,
 *            after the filter learned from a session on the train files; `--samples N`
 *            lines per part, `--fit-prior` fits the shipped prior (scripts/bench/learning.ts)
 *   adapter  the learning bench's part b: a project's LoRA adapter trained as the engine
 *            trains it when idle, then lines of the files it held out completed with and
 *            without it, side by side: exact match, edit similarity, latency, training time,
 *            tokens/s, peak RSS, adapter size; `--project NAME`, `--samples N` lines,
 *            `--train-samples N` (scripts/bench/adapter.ts)
 *   cold     the first suggestion at a fresh place in the largest files of a pinned project:
 *            asked at once (cold), after document/prefetch and a pause of `--pause` ms (made
 *            in full only, and with the quick first suggestion), and after the pause and one
 *            key, side by side: latency, first lines against the true ones, and the peak RSS
 *            (scripts/bench/cold.ts)
 *   peer     the engine against llama.cpp's `llama-server` (`--llama-server PATH`, else skipped)
 *            on the same model file and threads, driven as llama.vscode drives /infill (its
 *            request, ring buffer of chunks and server flags): lines of a pinned project
 *            (`--project`, trpc-server by default; `--samples N`: N/2 lines, one per file)
 *            typed key by key through each in turn: per-key and first-suggestion latency,
 *            shown, first-identifier match, prompt tokens and reuse, ratios engine/peer; needs
 *            --allow-net for 127.0.0.1 (scripts/bench/peer.ts)
 *   suffix   the peer suite's lines typed key by key through the engine once per suffix window
 *            (`--suffix-chars 1000,300`, characters after the cursor) and prompt layout
 *            (`--layouts prefix,middle`: the typed part of the line before the suffix, or after
 *            the middle token with token healing), side by side: first identifier right, exact
 *            rest of the line, per-key latency, reuse
 *            (scripts/bench/suffix.ts)
 */
import { parseArgs } from "node:util";
import { join, relative } from "node:path";
import { loadConfig } from "../engine/config/mod.ts";
import { languageOf } from "../engine/documents/mod.ts";
import { createLogger } from "../engine/log/mod.ts";
import { createEngine } from "../engine/engine.ts";
import { readProjectFiles } from "../engine/indexer/mod.ts";
import type { Completion } from "../engine/pipeline.ts";
import type { PromptLayout } from "../engine/inference/mod.ts";
import { seeded, stats } from "./bench/stats.ts";
import { indexSuite, repo } from "./bench/repo.ts";
import { typingLatency } from "./bench/typing.ts";
import { humanevalFim } from "./bench/humaneval.ts";
import { generators } from "./bench/generators.ts";
import { learning } from "./bench/learning.ts";
import { cold } from "./bench/cold.ts";
import { adapterSuite } from "./bench/adapter.ts";
import { peer } from "./bench/peer.ts";
import { suffix } from "./bench/suffix.ts";
import { fetchProject, isSourceFile, projectsNamed } from "./bench/projects.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const log = createLogger("bench", "warn");
const { values: flags, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    samples: { type: "string", default: "16" },
    dir: { type: "string", multiple: true },
    project: { type: "string", multiple: true },
    files: { type: "string", default: "1000" },
    limit: { type: "string", default: "20" },
    set: { type: "string", multiple: true },
    "fit-prior": { type: "boolean", default: false },
    pause: { type: "string", default: "1000" },
    "train-samples": { type: "string" },
    "llama-server": { type: "string" },
    "suffix-chars": { type: "string", default: "1000,300" },
    layouts: { type: "string", default: "prefix" },
    windows: { type: "string", default: "1500/300,1500/1000,3000/1000" },
  },
});
/** A `--layouts` entry, or an error naming the ones there are. */
function promptLayout(name: string): PromptLayout {
  if (name === "prefix" || name === "middle") return name;
  throw new Error(`Unknown prompt layout "${name}": prefix or middle`);
}

const SUITES: Record<string, () => Promise<Record<string, unknown>>> = {
  startup,
  threads,
  models: async () => generators({ samples: await pickSamples(Number(flags.samples)), log }),
  latency: () => typingLatency({ dir: flags.dir?.[0], lines: Number(flags.samples) / 4, log }),
  lines,
  window,
  repo: () =>
    repo({ projects: flags.project, dirs: flags.dir, samples: Number(flags.samples), log }),
  index: () => indexSuite({ dir: flags.dir?.[0], files: Number(flags.files), log }),
  "humaneval-fim": () => humanevalFim({ limit: Number(flags.limit), sets: flags.set, log }),
  cold: () =>
    cold({
      projects: flags.project ?? [],
      samples: Number(flags.samples),
      pauseMs: Number(flags.pause),
      log,
    }),
  adapter: () =>
    adapterSuite({
      projects: flags.project ?? [],
      samples: Number(flags.samples),
      ...(flags["train-samples"] ? { maxTrainSamples: Number(flags["train-samples"]) } : {}),
      log,
    }),
  peer: () =>
    peer({
      llamaServer: flags["llama-server"],
      projects: flags.project ?? [],
      lines: Math.max(1, Math.floor(Number(flags.samples) / 2)),
      log,
    }),
  suffix: () =>
    suffix({
      projects: flags.project ?? [],
      lines: Math.max(1, Math.floor(Number(flags.samples) / 2)),
      suffixChars: flags["suffix-chars"].split(",").map(Number),
      layouts: flags.layouts.split(",").map(promptLayout),
      log,
    }),
  learning: () =>
    learning({
      projects: flags.project ?? [],
      lines: Number(flags.samples),
      fitPrior: flags["fit-prior"],
      log,
    }),
};
const chosen = positionals.length > 0 ? positionals : Object.keys(SUITES);

interface Sample {
  path: string;
  text: string;
  position: { line: number; character: number };
  /** The rest of the line that was cut off. */
  expected: string;
}

/** Real code nobody here wrote: sources inside installed packages and the Python stdlib. */
async function sampleDirs(): Promise<string[]> {
  if (flags.dir?.length) return flags.dir;
  const candidates = [
    join(ROOT, "node_modules/.deno/vscode-jsonrpc@10.0.0/node_modules/vscode-jsonrpc/lib/common"),
  ];
  const python = new Deno.Command("python3", {
    args: ["-c", "import json, os; print(os.path.dirname(json.__file__))"],
    stdout: "piped",
    stderr: "null",
  });
  try {
    candidates.push(new TextDecoder().decode((await python.output()).stdout).trim());
  } catch { /* no Python: JavaScript samples only */ }
  const present: string[] = [];
  for (const dir of candidates) {
    if (await Deno.stat(dir).then(() => true, () => false)) present.push(dir);
  }
  return present;
}

/**
 * The files samples come from, sorted: the own sources of the pinned projects
 * named by `--project`, else the JavaScript, TypeScript and Python files of
 * the sample directories.
 */
async function sampleFiles(): Promise<string[]> {
  const files: string[] = [];
  if (flags.project?.length) {
    for (const project of projectsNamed(flags.project)) {
      const root = await fetchProject(project);
      for (const file of await readProjectFiles(root, (path) => isSourceFile(project, path))) {
        files.push(join(root, file.path));
      }
    }
    return files.sort();
  }
  for (const dir of await sampleDirs()) {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && /\.(js|ts|py)$/.test(entry.name)) files.push(join(dir, entry.name));
    }
  }
  return files.sort();
}

/**
 * Picks lines of real files and cuts each at a natural point (after `(`, `=`,
 * `.`, `:` or a space, between 40% and 80% of the line).
 */
async function pickSamples(count: number): Promise<Sample[]> {
  const files = await sampleFiles();
  const random = seeded(7);
  const samples: Sample[] = [];
  for (let attempt = 0; samples.length < count && attempt < count * 50; attempt++) {
    const path = files[Math.floor(random() * files.length)];
    const text = await Deno.readTextFile(path);
    const lines = text.split("\n");
    const line = Math.floor(random() * lines.length);
    const content = lines[line];
    if (content.trim().length < 24 || /^\s*(\/\/|#|\*|\/\*)/.test(content)) continue;
    const low = Math.floor(content.length * 0.4), high = Math.floor(content.length * 0.8);
    let cut = -1;
    for (let index = high; index >= low; index--) {
      if (/[(=.: ]/.test(content[index - 1])) {
        cut = index;
        break;
      }
    }
    if (cut === -1) continue;
    // The rest of the line is what the model should write; the suffix starts at the next line.
    const masked = [...lines.slice(0, line), content.slice(0, cut), ...lines.slice(line + 1)].join(
      "\n",
    );
    samples.push({
      path,
      text: masked,
      position: { line, character: cut },
      expected: content.slice(cut).trimEnd(),
    });
  }
  return samples;
}

/** Runs the samples through an in-process pipeline; returns each result. */
async function runSamples(
  samples: Sample[],
  options: { threads?: number; prefixChars?: number; suffixChars?: number } = {},
): Promise<Completion[]> {
  const config = loadConfig({ threads: options.threads });
  config.completion.maxPrefixChars = options.prefixChars ?? config.completion.maxPrefixChars;
  config.completion.maxSuffixChars = options.suffixChars ?? config.completion.maxSuffixChars;
  const engine = createEngine(config, log);
  engine.models.start();
  await engine.models.ready(new AbortController().signal, 120_000);
  const { pipeline } = engine;
  const results: Completion[] = [];
  try {
    for (const sample of samples) {
      results.push(
        await pipeline.complete({
          uri: `file://${sample.path}`,
          path: relative(ROOT, sample.path),
          languageId: languageOf(sample.path),
          text: sample.text,
          position: sample.position,
          maxLines: 1,
        }, new AbortController().signal),
      );
    }
  } finally {
    await engine.close();
  }
  return results;
}

async function startup() {
  const start = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks.start as string;
  const args = start.split(/\s+/).slice(1).map((word) =>
    word.endsWith(".ts") ? join(ROOT, word) : word
  );
  const toSocket: number[] = [], toReady: number[] = [];
  for (let run = 0; run < 3; run++) {
    const runtimeDir = await Deno.makeTempDir();
    const started = performance.now();
    const child = new Deno.Command(Deno.execPath(), {
      args,
      env: { XDG_RUNTIME_DIR: runtimeDir, AST_COMPLETE_LOG: "info", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    await reader.read();
    toSocket.push(performance.now() - started);
    // "Model ready" is logged when `status` turns ready.
    const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    for (let text = ""; !text.includes("Model ready");) {
      const { value, done } = await stderr.read();
      if (done) throw new Error(`serve exited before ready: ${text}`);
      text += value;
    }
    toReady.push(performance.now() - started);
    child.kill("SIGTERM");
    await child.status;
    reader.releaseLock();
    stderr.releaseLock();
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel().catch(() => {});
  }
  return { socketPathMs: stats(toSocket), readyMs: stats(toReady) };
}

async function threads() {
  const samples = await pickSamples(Number(flags.samples) / 2);
  const byThreads: Record<string, ReturnType<typeof stats>> = {};
  const medians: number[] = [];
  for (const count of [1, 2]) {
    const results = await runSamples(samples, { threads: count });
    byThreads[`threads${count}`] = stats(results.map((result) => result.timings.generateMs));
    medians.push(byThreads[`threads${count}`].median);
  }
  return { generateMs: byThreads, ratio1to2: Math.round((medians[0] / medians[1]) * 100) / 100 };
}

async function lines() {
  const samples = await pickSamples(Number(flags.samples));
  // One warm-up so the first sample does not carry the model's first evaluation.
  await runSamples(samples.slice(0, 1));
  const results = await runSamples(samples);
  const timings = results.map((result) => result.timings);
  const shown = results.filter((result) => result.text !== "").length;
  const exact = results.filter((result, index) => result.text === samples[index].expected)
    .length;
  return {
    totalMs: stats(timings.map((timing) => timing.totalMs)),
    generateMs: stats(timings.map((timing) => timing.generateMs)),
    overheadMs: stats(timings.map((timing) => timing.totalMs - timing.generateMs)),
    promptTokens: stats(timings.map((timing) => timing.promptTokens)),
    samples: samples.length,
    shown,
    exactMatch: exact,
  };
}

async function window() {
  const samples = await pickSamples(Number(flags.samples));
  const byWindow: Record<string, unknown> = {};
  const windows = flags.windows.split(",").map((pair) => pair.split("/").map(Number));
  if (windows.some((pair) => pair.length !== 2 || pair.some((chars) => !(chars > 0)))) {
    throw new Error(`--windows takes BEFORE/AFTER character pairs, got "${flags.windows}"`);
  }
  for (const [prefixChars, suffixChars] of windows) {
    const results = await runSamples(samples, { prefixChars, suffixChars });
    byWindow[`prefix${prefixChars}_suffix${suffixChars}`] = {
      totalMs: stats(results.map((result) => result.timings.totalMs)),
      promptTokens: stats(results.map((result) => result.timings.promptTokens)),
      exactMatch: results.filter((result, index) => result.text === samples[index].expected)
        .length,
      samples: samples.length,
    };
  }
  return byWindow;
}

const report: Record<string, unknown> = {
  time: new Date().toISOString(),
  machine: `${navigator.hardwareConcurrency} cores`,
};
for (const name of chosen) {
  const suite = SUITES[name];
  if (!suite) {
    console.error(`Unknown suite: ${name} (suites: ${Object.keys(SUITES).join(", ")})`);
    Deno.exit(1);
  }
  console.error(`Running ${name}...`);
  const result = await suite();
  report[name] = result;
  console.log(JSON.stringify({ suite: name, ...result }));
}
await Deno.mkdir(join(ROOT, "bench-results"), { recursive: true });
const file = join(ROOT, "bench-results", `${report.time}.json`.replaceAll(":", "-"));
await Deno.writeTextFile(file, JSON.stringify(report, null, 2));
console.error(`Wrote ${file}`);
