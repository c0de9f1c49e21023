/**
 * Bench suites over a real project nobody here wrote (by default the sources
 * of an installed npm package; `--dir` takes any directory).
 *
 * repo:  lines that use a name defined in another file of the project, cut
 *        just before that name and completed with and without retrieval, side
 *        by side, with the project indexed minus nothing but the masked text.
 *        Exact match, edit similarity, and the context hit rate (whether a file
 *        defining the name made it into the prompt).
 * index: embedding cost per chunk (alone and batched), indexing throughput and
 *        peak memory, re-index latency after a save, retrieval latency.
 */
import { join, relative, resolve } from "node:path";
import { type Config, defaultCacheDir, loadConfig } from "../../engine/config/mod.ts";
import { languageOf } from "../../engine/documents/mod.ts";
import { walkProject } from "../../engine/indexer/mod.ts";
import type { Logger } from "../../engine/log/mod.ts";
import { resolveEmbedderDir } from "../../engine/models/mod.ts";
import { Embedder } from "../../engine/retrieval/mod.ts";
import type { Completion } from "../../engine/pipeline.ts";
import { createEngine } from "../../engine/engine.ts";
import { seeded, stats } from "./stats.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
export const DEFAULT_PROJECT = join(
  ROOT,
  "node_modules/.deno/vscode-jsonrpc@10.0.0/node_modules/vscode-jsonrpc/lib",
);
const DEFINITION =
  /\b(?:def|class|function|interface|type|enum|const|let|var)\s+([A-Za-z_$][\w$]*)|\bexports\.([A-Za-z_$][\w$]*)\s*=/g;
const IDENTIFIER = /[A-Za-z_$][\w$]{5,}/g;

/** A config whose cache is fresh (a new index) but whose models are the user's. */
export async function benchConfig(): Promise<Config> {
  const config = loadConfig();
  const cacheDir = await Deno.makeTempDir({ prefix: "ast-complete-bench-" });
  await Deno.symlink(join(defaultCacheDir(), "models"), join(cacheDir, "models"));
  config.cacheDir = cacheDir;
  return config;
}

/** The engine, as every front door builds it, with `root` indexed now. */
export async function openIndexed(config: Config, root: string, log: Logger) {
  const engine = createEngine(config, log, { embedderThreads: config.generator.threads });
  const project = await engine.projects.openNow(root);
  const started = performance.now();
  await project.indexer.indexAll();
  return { engine, project, indexMs: performance.now() - started };
}

/** Where each name is defined: name → files. */
async function definitions(root: string, paths: string[]): Promise<Map<string, Set<string>>> {
  const defined = new Map<string, Set<string>>();
  for (const path of paths) {
    const text = await Deno.readTextFile(join(root, path));
    for (const match of text.matchAll(DEFINITION)) {
      const name = match[1] ?? match[2];
      if (!defined.has(name)) defined.set(name, new Set());
      defined.get(name)!.add(path);
    }
  }
  return defined;
}

interface RepoSample {
  path: string;
  text: string;
  line: number;
  cut: number;
  expected: string;
  definedIn: Set<string>;
}

/** Lines using a name defined only in other files, cut just before the name. */
async function pickRepoSamples(
  root: string,
  paths: string[],
  count: number,
): Promise<RepoSample[]> {
  const defined = await definitions(root, paths);
  const candidates: RepoSample[] = [];
  for (const path of paths) {
    const text = await Deno.readTextFile(join(root, path));
    const lines = text.split("\n");
    lines.forEach((content, line) => {
      if (/^\s*(\/\/|#|\*|\/\*|import |from |const \w+ = require)/.test(content)) return;
      for (const match of content.matchAll(IDENTIFIER)) {
        const files = defined.get(match[0]);
        if (!files || files.has(path) || match.index === 0) continue;
        const expected = content.slice(match.index).trimEnd();
        if (expected.length < 8) continue;
        candidates.push({ path, text, line, cut: match.index!, expected, definedIn: files });
        return;
      }
    });
  }
  const random = seeded(11);
  for (let index = candidates.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [candidates[index], candidates[other]] = [candidates[other], candidates[index]];
  }
  return candidates.slice(0, count);
}

function editSimilarity(a: string, b: string): number {
  if (a === b) return 1;
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return 1 - row[b.length] / Math.max(a.length, b.length);
}

/** The `repo` suite. */
export async function repo(options: { dir?: string; samples: number; log: Logger }) {
  const root = resolve(options.dir ?? DEFAULT_PROJECT);
  const config = await benchConfig();
  const { engine, project, indexMs } = await openIndexed(config, root, options.log);
  const paths = (await Array.fromAsync(walkProject(root))).map((file) => file.path);
  const samples = await pickRepoSamples(root, paths, options.samples);
  engine.models.start();
  await engine.models.ready(new AbortController().signal, 120_000);
  const { pipeline } = engine;
  const runs = { with: [] as Completion[], without: [] as Completion[] };
  try {
    for (const sample of samples) {
      const lines = sample.text.split("\n");
      const masked = [
        ...lines.slice(0, sample.line),
        lines[sample.line].slice(0, sample.cut),
        ...lines.slice(sample.line + 1),
      ].join("\n");
      const absolute = join(root, sample.path);
      await project.indexer.reindex(absolute, masked);
      const input = {
        uri: `file://${absolute}`,
        path: sample.path,
        languageId: languageOf(sample.path),
        text: masked,
        position: { line: sample.line, character: sample.cut },
        maxLines: 1,
      };
      const signal = new AbortController().signal;
      runs.with.push(
        await pipeline.complete({
          ...input,
          context: { source: project.contextSource, repoName: project.name },
        }, signal),
      );
      // Its own document, so neither run is answered from the other's cache.
      runs.without.push(await pipeline.complete({ ...input, uri: `${input.uri}?without` }, signal));
      await project.indexer.reindex(absolute, sample.text);
    }
  } finally {
    await engine.close();
  }
  const score = (results: Completion[]) => {
    const texts = results.map((result) => result.text ?? "");
    return {
      exactMatch: texts.filter((text, index) => text === samples[index].expected).length,
      editSimilarity: stats(
        texts.map((text, index) => editSimilarity(text, samples[index].expected)),
      ),
      totalMs: stats(results.map((result) => result.timings.totalMs)),
      promptTokens: stats(results.map((result) => result.timings.promptTokens)),
    };
  };
  const hits =
    runs.with.filter((result, index) =>
      (result.context ?? []).some((chunk) => samples[index].definedIn.has(chunk.path))
    ).length;
  return {
    project: relative(ROOT, root) || root,
    files: paths.length,
    indexMs: Math.round(indexMs),
    samples: samples.length,
    withRetrieval: { ...score(runs.with), contextHits: hits },
    withoutRetrieval: score(runs.without),
    retrieveMs: stats(runs.with.map((result) => result.timings.retrieveMs)),
  };
}

/** Copies the first `count` indexable files of `from` into a fresh directory. */
async function copyFirstFiles(from: string, count: number): Promise<string> {
  const to = await Deno.makeTempDir({ prefix: "ast-complete-corpus-" });
  let copied = 0;
  for await (const file of walkProject(from)) {
    if (copied++ >= count) break;
    const target = join(to, file.path);
    await Deno.mkdir(join(target, ".."), { recursive: true });
    await Deno.copyFile(join(from, file.path), target);
  }
  return to;
}

async function pythonStdlib(): Promise<string> {
  const output = await new Deno.Command("python3", {
    args: ["-c", "import os, json; print(os.path.dirname(os.path.dirname(json.__file__)))"],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(output.stdout).trim();
}

/** The `index` suite. */
export async function indexSuite(options: { dir?: string; files: number; log: Logger }) {
  const source = resolve(options.dir ?? await pythonStdlib());
  const root = await copyFirstFiles(source, options.files);
  const config = await benchConfig();
  let peakRss = Deno.memoryUsage().rss;
  const sampler = setInterval(() => peakRss = Math.max(peakRss, Deno.memoryUsage().rss), 100);
  const { engine, project, indexMs } = await openIndexed(config, root, options.log);
  clearInterval(sampler);
  const { files, chunks } = project.indexer.progress();
  const paths = (await Array.fromAsync(walkProject(root))).map((file) => file.path);
  const random = seeded(5);
  const pick = () => paths[Math.floor(random() * paths.length)];
  const timed = async (work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    return performance.now() - started;
  };
  const reindexMs: number[] = [];
  const retrieveMs: number[] = [];
  const texts: string[] = [];
  for (let run = 0; run < 20; run++) {
    const path = pick();
    const text = await Deno.readTextFile(join(root, path));
    texts.push(text.slice(0, 1500));
    reindexMs.push(
      await timed(() => project.indexer.reindex(join(root, path), `${text}\n# edit ${run}\n`)),
    );
    const code = text.split("\n").slice(10, 22).join("\n");
    retrieveMs.push(
      await timed(() => project.contextSource({ code, linePrefix: "", imports: "" }, path)),
    );
  }
  await engine.close();
  const embedder = await Embedder.load(
    await resolveEmbedderDir(config.cacheDir, config.modelsLock),
    {
      threads: config.generator.threads,
    },
  );
  const single: number[] = [];
  for (const text of texts) single.push(await timed(() => embedder.embed([text])));
  const batched: number[] = [];
  for (let run = 0; run < 3; run++) {
    batched.push(await timed(() => embedder.embed(texts.slice(0, 16))) / 16);
  }
  return {
    corpus: `${relative(ROOT, source) || source} (first ${options.files} files)`,
    files,
    chunks,
    indexMs: Math.round(indexMs),
    filesPerSecond: Math.round(files / (indexMs / 1000) * 10) / 10,
    chunksPerSecond: Math.round(chunks / (indexMs / 1000) * 10) / 10,
    peakRssMb: Math.round(peakRss / 1e6),
    embedMsPerChunk: { single: stats(single), batchOf16: stats(batched) },
    reindexAfterSaveMs: stats(reindexMs),
    retrieveMs: stats(retrieveMs),
  };
}
