/**
 * Bench suites over real projects nobody here wrote: the pinned registry
 * packages of projects.ts (`--project`), any directory (`--dir`), by default
 * the sources of an installed npm package.
 *
 * repo:  lines that use a name defined in another file of the project, cut
 *        just before that name and completed with and without retrieval, side
 *        by side on the same samples, with the project indexed minus nothing
 *        but the masked text. Exact match and its ratio with/without, edit
 *        similarity, latency, prompt tokens, the context hit rate (whether a
 *        file defining the name made it into the prompt), the rate of empty or
 *        trivial suggestions (every sample's line goes on past the cut), and
 *        the samples where retrieval lost or showed nothing, to study why.
 * index: embedding cost per chunk (alone and batched), indexing throughput and
 *        peak memory, re-index latency after a save, retrieval latency.
 */
import { dirname, join, relative, resolve } from "node:path";
import { type Config, defaultCacheDir, loadConfig } from "../../engine/config/mod.ts";
import { languageOf } from "../../engine/documents/mod.ts";
import {
  type ProjectFile,
  type ProjectIndex,
  readProjectFiles,
  walkProject,
} from "../../engine/indexer/mod.ts";
import { bracketBalance, type CursorContext } from "../../engine/inference/postprocess/context.ts";
import { dropTrivial } from "../../engine/inference/postprocess/drop_trivial.ts";
import type { Logger } from "../../engine/log/mod.ts";
import { resolveEmbedderDir } from "../../engine/models/mod.ts";
import { type ContextSource, Embedder } from "../../engine/retrieval/mod.ts";
import type { Completion } from "../../engine/pipeline.ts";
import { createEngine } from "../../engine/engine.ts";
import type { Engine } from "../../engine/session/mod.ts";
import { fetchProject, projectsNamed } from "./projects.ts";
import { editSimilarity, rssPeak, seeded, shuffleInPlace, stats } from "./stats.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
export const DEFAULT_PROJECT = join(
  ROOT,
  "node_modules/.deno/vscode-jsonrpc@10.0.0/node_modules/vscode-jsonrpc/lib",
);

/**
 * How each language names what it defines, the name in the group `name`: so a
 * sample is "a line using a name defined in another file" in every language
 * alike. Go and Python count package-level names and functions, methods and
 * classes; Rust every item, in an `impl` too. A member (see `Definition`) is
 * one defined on an indented line, or a Go method (the group `receiver`).
 */
const DEFINITIONS: Record<string, RegExp[]> = {
  script: [
    /\b(?:function\*?|class|interface|type|enum|namespace|const(?!\s+enum\b)|let|var)\s+(?<name>[A-Za-z_$][\w$]*)/g,
    /\bexports\.(?<name>[A-Za-z_$][\w$]*)\s*=/g,
  ],
  python: [
    /^[ \t]*(?:async\s+)?(?:def|class)\s+(?<name>[A-Za-z_]\w*)/gm,
    /^(?<name>[A-Za-z_]\w*)\s*(?::[^=\n]*)?=(?!=)/gm,
  ],
  go: [
    /^func\s+(?<receiver>\([^)]*\)\s*)?(?<name>[A-Za-z_]\w*)/gm,
    /^(?:type|var|const)\s+(?<name>[A-Za-z_]\w*)/gm,
  ],
  rust: [
    /\b(?:fn|struct|enum|trait|type|union|mod|static(?:\s+mut)?|const(?!\s+(?:fn|unsafe|async|extern)\b))\s+(?<name>[A-Za-z_]\w*)/g,
    /\bmacro_rules!\s*(?<name>[A-Za-z_]\w*)/g,
  ],
};
/** The languages the sampler knows, by the rules of DEFINITIONS they follow. */
const FAMILY: Record<string, string> = {
  typescript: "script",
  typescriptreact: "script",
  javascript: "script",
  javascriptreact: "script",
  python: "python",
  go: "go",
  rust: "rust",
};
/** Go's grouped declarations, `const (` ... `)`: each line of the group names one. */
const GO_GROUP = /^(?:type|var|const)\s*\(\n([\s\S]*?)^\)/gm;
const GO_GROUP_NAME = /^\s+([A-Za-z_]\w*)/gm;
/**
 * TypeScript's type names, which a module may define again as a function
 * (vscode-jsonrpc's `Is.string`): the project's only after a dot, elsewhere
 * (`: string`) the language's. Those of six letters or more: shorter names are
 * never sampled.
 */
const SCRIPT_TYPES = new Set(
  "bigint boolean number object string symbol undefined unknown".split(" "),
);
/** A Python line that starts with a triple-quoted string: a docstring. */
const DOCSTRING = /^\s*[rRbBuUfF]*(?:"""|''')/;
/** A comment line. */
const COMMENT = /^\s*(?:\/\/|#|\*|\/\*)/;
/**
 * The start of an import or re-export, to where its brackets close: lists of
 * names, not code using them (`import`, `from`, `export {`, `export *`,
 * `require`, Rust `use` and `mod x;`, Go's `package`).
 */
const IMPORT =
  /^\s*(?:import\b|from\s|export\s+(?:type\s+)?[{*]|(?:const|let|var)\s[^=]*=\s*require\(|(?:pub(?:\([^)]*\))?\s+)?(?:use\s|mod\s+\w+\s*;)|package\s)/;
/** A name long enough to be worth completing, not the tail of a longer token. */
const IDENTIFIER = /(?<![\w$])[A-Za-z_$][\w$]{5,}/g;
/** After a name: it is being bound here (`name: T`, `name = `, `name :=`, `name=value`), not used. */
const BOUND = /^\s*(?::(?!:)|=(?![=>]))/;
/** Failures listed per kind in the report: enough to study, short enough to read. */
const FAILURES_SHOWN = 20;

/** A config whose cache is fresh (a new index) but whose models are the user's. */
export async function benchConfig(): Promise<Config> {
  const config = loadConfig();
  const cacheDir = await Deno.makeTempDir({ prefix: "ast-complete-bench-" });
  await Deno.symlink(join(defaultCacheDir(), "models"), join(cacheDir, "models"));
  config.cacheDir = cacheDir;
  return config;
}

/**
 * The engine, as every front door builds it, with `root` indexed now, its
 * vectors included; `workspace`, when given, is the sessions' default workspace.
 */
export async function openIndexed(config: Config, root: string, log: Logger, workspace?: string) {
  const engine = createEngine(config, log, {
    embedderThreads: config.generator.threads,
    ...(workspace ? { workspace } : {}),
  });
  return { engine, ...await indexNow(engine, root) };
}

/**
 * openIndexed, then the generator loaded, with the project's context as
 * completions take it; the engine is closed again if the model fails.
 */
export async function openReady(config: Config, root: string, log: Logger) {
  const opened = await openIndexed(config, root, log);
  try {
    opened.engine.models.start();
    await opened.engine.models.ready(new AbortController().signal, 120_000);
  } catch (error) {
    await opened.engine.close();
    throw error;
  }
  const context = { source: opened.project.contextSource, repoName: opened.project.name };
  return { ...opened, context };
}

/**
 * Opens `root` in the engine and indexes it all now, vectors included:
 * `usableMs` until definitions and lexical search were ready (phase 1),
 * `indexMs` until every chunk was embedded too (phase 2).
 */
async function indexNow(engine: Engine, root: string) {
  const project = await engine.projects.openNow(root);
  const started = performance.now();
  await project.indexer.indexAll();
  const usableMs = performance.now() - started;
  await project.indexer.vectorsDone();
  return { project, usableMs, indexMs: performance.now() - started };
}

/** One file of a project, path relative to its root, with its text. */
export type CodeFile = ProjectFile;

/** A name a file defines. */
export interface Definition {
  name: string;
  /**
   * Defined inside something (a method, a class's or a function's own name, an
   * item in an `impl`): reached from another file only after a `.` or `::`.
   * Without that, a line using the same name means a local or a parameter.
   */
  member: boolean;
}

/** What `text` defines, by the rules of its language; nothing for a language without rules. */
export function definedNames(path: string, text: string): Definition[] {
  const family = FAMILY[languageOf(path)];
  if (!family) return [];
  const prose = proseLines(path, text);
  const code = text.split("\n").map((line, index) => prose[index] ? "" : line).join("\n");
  const found = DEFINITIONS[family].flatMap((rule) =>
    [...code.matchAll(rule)].map((match) => ({
      name: match.groups!.name,
      member: match.groups!.receiver !== undefined ||
        /\s/.test(code[code.lastIndexOf("\n", match.index) + 1] ?? ""),
    }))
  );
  if (family !== "go") return found;
  for (const group of code.matchAll(GO_GROUP)) {
    for (const match of group[1].matchAll(GO_GROUP_NAME)) {
      found.push({ name: match[1], member: false });
    }
  }
  return found;
}

/** Where a name is defined, and whether anywhere outside a member. */
interface Defined {
  files: Set<string>;
  topLevel: boolean;
}

/** Where each name is defined. */
function definitions(files: CodeFile[]): Map<string, Defined> {
  const defined = new Map<string, Defined>();
  for (const file of files) {
    for (const { name, member } of definedNames(file.path, file.text)) {
      if (!defined.has(name)) defined.set(name, { files: new Set(), topLevel: false });
      const entry = defined.get(name)!;
      entry.files.add(file.path);
      entry.topLevel ||= !member;
    }
  }
  return defined;
}

/** A line cut just before a name it uses; the rest of the line is the answer. */
export interface RepoSample {
  path: string;
  text: string;
  /** 0-based. */
  line: number;
  cut: number;
  expected: string;
  /** The files that define the name. */
  definedIn: Set<string>;
}

/**
 * Which lines of a file are prose: comments, and in Python triple-quoted
 * strings, the docstrings other languages write as comments. What they
 * mention is neither defined nor used there.
 */
export function proseLines(path: string, text: string): boolean[] {
  const python = FAMILY[languageOf(path)] === "python";
  let inString = false;
  return text.split("\n").map((line) => {
    if (python) {
      const inside = inString;
      if ((line.match(/"""|'''/g)?.length ?? 0) % 2 === 1) inString = !inString;
      if (inside || DOCSTRING.test(line)) return true;
    }
    return COMMENT.test(line);
  });
}

/** Which lines of a file may be sampled: code, not prose or import lists. */
export function codeLines(path: string, text: string): boolean[] {
  const prose = proseLines(path, text);
  let importDepth = 0;
  return text.split("\n").map((line, index) => {
    if (prose[index]) return false;
    if (importDepth > 0 || IMPORT.test(line)) {
      importDepth = Math.max(0, importDepth + bracketBalance(line));
      return false;
    }
    return true;
  });
}

/**
 * The files defining `name` whose definition `path` can see: in Go, another
 * package's (folder's) only when exported; elsewhere the imports decide, which
 * a regex cannot follow, so all of them.
 */
function visibleFrom(path: string, name: string, files: Set<string>): Set<string> {
  if (languageOf(path) !== "go" || /^[A-Z]/.test(name)) return files;
  return new Set([...files].filter((file) => dirname(file) === dirname(path)));
}

/**
 * Lines of the files under `sources` ("" for all) using a name defined only in
 * other files, each cut just before the first such use; `count` of them,
 * shuffled with a fixed seed. Also returns how many lines qualified.
 */
export function pickRepoSamples(
  files: CodeFile[],
  count: number,
  sources = "",
): { samples: RepoSample[]; candidates: number } {
  const defined = definitions(files);
  const candidates: RepoSample[] = [];
  for (const { path, text } of files) {
    if (!FAMILY[languageOf(path)] || (sources !== "" && !path.startsWith(`${sources}/`))) continue;
    const sampled = codeLines(path, text);
    const script = FAMILY[languageOf(path)] === "script";
    text.split("\n").forEach((content, line) => {
      if (!sampled[line]) return;
      for (const match of content.matchAll(IDENTIFIER)) {
        const name = defined.get(match[0]);
        if (!name || name.files.has(path) || match.index === 0) continue;
        const qualified = /(?:\.|::)$/.test(content.slice(0, match.index));
        if (!qualified && (!name.topLevel || (script && SCRIPT_TYPES.has(match[0])))) continue;
        const definedIn = visibleFrom(path, match[0], name.files);
        const expected = content.slice(match.index).trimEnd();
        if (definedIn.size === 0 || expected.length < 8) continue;
        if (BOUND.test(expected.slice(match[0].length))) continue;
        candidates.push({ path, text, line, cut: match.index, expected, definedIn });
        return;
      }
    });
  }
  shuffleInPlace(candidates, seeded(11));
  return { samples: candidates.slice(0, count), candidates: candidates.length };
}

/** The sample's file with the rest of its line cut away: what the completion sees. */
export function maskedText(sample: RepoSample): string {
  const lines = sample.text.split("\n");
  return [
    ...lines.slice(0, sample.line),
    lines[sample.line].slice(0, sample.cut),
    ...lines.slice(sample.line + 1),
  ].join("\n");
}

/**
 * Whether a suggestion shows nothing of use (empty, whitespace, punctuation
 * alone), as the engine's own last filter judges it at the sample's cursor.
 */
export function emptyOrTrivial(text: string, sample: RepoSample): boolean {
  const lines = sample.text.split("\n");
  const linePrefix = lines[sample.line].slice(0, sample.cut);
  const cursor: CursorContext = {
    prefix: [...lines.slice(0, sample.line), linePrefix].join("\n"),
    linePrefix,
    lineSuffix: "",
    suffix: ["", ...lines.slice(sample.line + 1)].join("\n"),
    mode: "line",
    maxLines: 1,
    format: "fim",
  };
  return dropTrivial(text, cursor) === "";
}

/** What the suite measures: a pinned project, or a directory. */
interface RepoTarget {
  name: string;
  root: string;
  sources: string;
  language?: string;
  version?: string;
}

/** A target indexed, with its samples. */
interface Prepared {
  target: RepoTarget;
  project: ProjectIndex;
  indexMs: number;
  samples: RepoSample[];
  candidates: number;
}

/** The targets `--project` and `--dir` name; the default project when neither does. */
async function repoTargets(projects: string[], dirs: string[]): Promise<RepoTarget[]> {
  const targets: RepoTarget[] = [];
  for (const project of projectsNamed(projects)) {
    const { name, language, version, sources } = project;
    targets.push({ name, language, version, sources, root: await fetchProject(project) });
  }
  if (targets.length === 0 && dirs.length === 0) dirs = [DEFAULT_PROJECT];
  for (const dir of dirs) {
    targets.push({ name: relative(ROOT, resolve(dir)) || dir, root: dir, sources: "" });
  }
  return targets;
}

/** The `repo` suite: one report per project, keyed by its name. */
export async function repo(
  options: { projects?: string[]; dirs?: string[]; samples: number; log: Logger },
) {
  const targets = await repoTargets(options.projects ?? [], options.dirs ?? []);
  const config = await benchConfig();
  const engine = createEngine(config, options.log, {
    embedderThreads: config.generator.threads,
  });
  const reports: Record<string, unknown> = {};
  let model = "";
  try {
    const prepared: Prepared[] = [];
    for (const target of targets) {
      const root = await Deno.realPath(target.root);
      const { project, indexMs } = await indexNow(engine, root);
      const files = await readProjectFiles(root, (path) => FAMILY[languageOf(path)] !== undefined);
      prepared.push({
        target,
        project,
        indexMs,
        ...pickRepoSamples(files, options.samples, target.sources),
      });
    }
    engine.models.start();
    model = (await engine.models.ready(new AbortController().signal, 120_000)).modelName;
    for (const entry of prepared) {
      const { target, project, indexMs, samples, candidates } = entry;
      reports[target.name] = {
        language: target.language,
        version: target.version,
        files: project.indexer.progress().files,
        indexMs: Math.round(indexMs),
        candidates,
        samples: samples.length,
        ...scoreRuns(samples, await runSamples(engine, entry)),
      };
      // A long run's finished projects stay on record even if it is stopped later.
      console.error(JSON.stringify({ project: target.name, ...reports[target.name] as object }));
    }
  } finally {
    await engine.close();
    await Deno.remove(config.cacheDir, { recursive: true });
  }
  // The loaded model's threshold: read once the runs are done, as the pipeline used it.
  return { model, retrieveBelowLogprob: engine.pipeline.retrieveBelowLogprob, projects: reports };
}

/**
 * The four completions of every sample: as the product makes them (selective
 * retrieval), with the project's retrieval always, with its definitions only,
 * with the file alone.
 */
async function runSamples(engine: Engine, { project, samples }: Prepared): Promise<Runs> {
  const runs: Runs = { with: [], always: [], definitions: [], without: [] };
  // The definitions arm: only what the cursor refers to, no similar-looking chunks.
  const definitions: ContextSource = async (query, excludePath) =>
    (await project.contextSource(query, excludePath)).filter((chunk) => chunk.kind !== "similar");
  const signal = new AbortController().signal;
  const context = { source: project.contextSource, repoName: project.name };
  for (const sample of samples) {
    const masked = maskedText(sample);
    const absolute = join(project.root, sample.path);
    await project.indexer.reindex(absolute, masked);
    // Its vectors too, as a save is indexed in the background: nothing embeds while the arms run.
    await project.indexer.vectorsDone();
    // Each arm its own document, so none is answered from another's cache.
    const input = (arm: string) => ({
      uri: `file://${absolute}?${arm}`,
      path: sample.path,
      languageId: languageOf(sample.path),
      text: masked,
      position: { line: sample.line, character: sample.cut },
      maxLines: 1,
    });
    runs.without.push(await engine.pipeline.complete(input("without"), signal));
    runs.always.push(
      await engine.pipeline.complete({ ...input("always"), context, retrieval: "always" }, signal),
    );
    runs.definitions.push(
      await engine.pipeline.complete({
        ...input("definitions"),
        context: { ...context, source: definitions },
        retrieval: "always",
      }, signal),
    );
    runs.with.push(await engine.pipeline.complete({ ...input("with"), context }, signal));
    await project.indexer.reindex(absolute, sample.text);
    await project.indexer.vectorsDone();
  }
  return runs;
}

/** The runs of the same samples, in sample order. */
export interface Runs {
  /** As the product serves it: project context when the model is unsure without it. */
  with: Completion[];
  /** With the project's retrieval whenever it finds something. */
  always: Completion[];
  /** With only the definitions retrieval found, no similar chunks. */
  definitions: Completion[];
  /** With the file alone. */
  without: Completion[];
}

/** The identifier a text starts with. */
function leadingName(text: string): string {
  return /^[A-Za-z_$][\w$]*/.exec(text)?.[0] ?? "";
}

/** Whether a completion had project context in its prompt. */
function usedContext(result: Completion): boolean {
  return (result.context ?? []).length > 0;
}

/** Where selective retrieval's threshold could sit: the lowest token log-probabilities tried. */
const THRESHOLDS = [-0.25, -0.5, -1, -1.5, -2, -3, -4];

/** Scores of both runs side by side, and the samples where retrieval did not help. */
export function scoreRuns(samples: RepoSample[], runs: Runs) {
  const exact = (result: Completion, index: number) => result.text === samples[index].expected;
  const trivial = (result: Completion, index: number) =>
    emptyOrTrivial(result.text, samples[index]);
  const hit = (result: Completion, index: number) =>
    (result.context ?? []).some((chunk) => samples[index].definedIn.has(chunk.path));
  const share = (results: Completion[], test: (result: Completion, index: number) => boolean) => {
    const count = results.filter(test).length;
    return { count, rate: round(count / Math.max(1, results.length)) };
  };
  // The name the line goes on with, right: what retrieval can bring; the rest is the model's.
  const nameRight = (result: Completion, index: number) =>
    leadingName(result.text) === leadingName(samples[index].expected);
  const score = (results: Completion[]) => ({
    exactMatch: share(results, exact),
    nameRight: share(results, nameRight),
    editSimilarity: stats(
      results.map((result, index) => editSimilarity(result.text, samples[index].expected)),
    ),
    totalMs: stats(results.map((result) => result.timings.totalMs)),
    promptTokens: stats(results.map((result) => result.timings.promptTokens)),
    emptyOrTrivial: share(results, trivial),
  });
  const withRetrieval = score(runs.with);
  const alwaysRetrieval = score(runs.always);
  const withoutRetrieval = score(runs.without);
  const definitionsOnly = score(runs.definitions);
  // null when the file alone matched nothing: no ratio to speak of.
  const ratio = (other: typeof withoutRetrieval) =>
    withoutRetrieval.exactMatch.count === 0
      ? null
      : round(other.exactMatch.count / withoutRetrieval.exactMatch.count);
  const failure = (index: number) => {
    const sample = samples[index];
    return {
      path: sample.path,
      line: sample.line + 1,
      typed: sample.text.split("\n")[sample.line].slice(0, sample.cut).trimStart(),
      expected: sample.expected,
      with: runs.with[index].text,
      always: runs.always[index].text,
      definitions: runs.definitions[index].text,
      without: runs.without[index].text,
      contextHit: hit(runs.with[index], index),
    };
  };
  const failures = (test: (index: number) => boolean) => {
    const indexes = samples.map((_, index) => index).filter(test);
    return { count: indexes.length, first: indexes.slice(0, FAILURES_SHOWN).map(failure) };
  };
  return {
    withRetrieval: {
      ...withRetrieval,
      contextUsed: share(runs.with, usedContext),
      contextHits: share(runs.with, hit),
      // The arms of a sample share evaluated prompts, so this arm, which runs last, is
      // answered warm. Cold, it costs the file alone's completion, and when that was unsure,
      // the always arm's too: the same prompts, measured from scratch in those arms.
      coldMs: stats(
        runs.with.map((result, index) =>
          runs.without[index].timings.totalMs +
          (usedContext(result) ? runs.always[index].timings.totalMs : 0)
        ),
      ),
    },
    alwaysRetrieval: {
      ...alwaysRetrieval,
      contextHits: share(runs.always, hit),
      retrieveMs: stats(runs.always.map((result) => result.timings.retrieveMs)),
    },
    definitionsOnly,
    withoutRetrieval,
    exactMatchRatio: ratio(withRetrieval),
    alwaysRatio: ratio(alwaysRetrieval),
    definitionsOnlyRatio: ratio(definitionsOnly),
    // What selective retrieval would score at other thresholds: the file alone's completion
    // where its lowest token log-probability reached the threshold and the cursor did not
    // reach into a project module, the always arm's elsewhere. `surerExactMatch`: where the
    // file alone was unsure, whichever of the two answers the model was surer of on average
    // (a second pass that the context may lose to).
    thresholds: THRESHOLDS.map((threshold) => {
      const sure = runs.without.map((alone, index) =>
        alone.text.trim() !== "" && (alone.logprobs?.min ?? -Infinity) >= threshold &&
        !(runs.always[index].context ?? []).some((chunk) => chunk.kind === "members")
      );
      const chosen = runs.without.map((alone, index) => sure[index] ? alone : runs.always[index]);
      const surer = runs.without.map((alone, index) => {
        const withContext = runs.always[index];
        return sure[index] || withContext.text.trim() === "" ||
            alone.text.trim() !== "" &&
              (alone.logprobs?.mean ?? -Infinity) > (withContext.logprobs?.mean ?? -Infinity)
          ? alone
          : withContext;
      });
      return {
        threshold,
        exactMatch: share(chosen, exact),
        contextUsed: share(chosen, (_, index) => chosen[index] === runs.always[index]),
        surerExactMatch: share(surer, exact),
      };
    }),
    // Each sample's outcome per arm, to study other rules without running the model again.
    perSample: samples.map((_, index) => {
      const arm = (result: Completion) => ({
        exact: exact(result, index),
        ...(result.logprobs
          ? { min: round(result.logprobs.min), mean: round(result.logprobs.mean) }
          : {}),
      });
      return {
        with: arm(runs.with[index]),
        always: { ...arm(runs.always[index]), hit: hit(runs.always[index], index) },
        definitions: arm(runs.definitions[index]),
        without: arm(runs.without[index]),
      };
    }),
    failures: {
      // The file alone matched the line exactly, with retrieval it did not.
      lostToWithout: failures((index) =>
        exact(runs.without[index], index) && !exact(runs.with[index], index)
      ),
      lostToAlways: failures((index) =>
        exact(runs.always[index], index) && !exact(runs.with[index], index)
      ),
      emptyOrTrivialWith: failures((index) => trivial(runs.with[index], index)),
    },
  };
}

function perSecond(count: number, ms: number): number {
  return Math.round(count / (ms / 1000) * 10) / 10;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
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

/**
 * The `index` suite: how long until a project's context is usable
 * (definitions and lexical search: phase 1) and until its vectors are all
 * made (phase 2), the peak RSS meanwhile, and the cost of a save.
 */
export async function indexSuite(options: { dir?: string; files: number; log: Logger }) {
  const source = resolve(options.dir ?? await pythonStdlib());
  const root = await copyFirstFiles(source, options.files);
  const config = await benchConfig();
  const rss = rssPeak(100);
  const { engine, project, usableMs, indexMs } = await openIndexed(config, root, options.log);
  const peakRssMb = rss.stop();
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
  const reembedMs: number[] = [];
  const retrieveMs: number[] = [];
  const texts: string[] = [];
  for (let run = 0; run < 20; run++) {
    const path = pick();
    const text = await Deno.readTextFile(join(root, path));
    texts.push(text.slice(0, 1500));
    reindexMs.push(
      await timed(() => project.indexer.reindex(join(root, path), `${text}\n# edit ${run}\n`)),
    );
    reembedMs.push(await timed(() => project.indexer.vectorsDone()));
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
    // Side by side: usable context (definitions + lexical search), then every vector made.
    indexMs: { usable: Math.round(usableMs), vectors: Math.round(indexMs) },
    filesPerSecond: { usable: perSecond(files, usableMs), vectors: perSecond(files, indexMs) },
    chunksPerSecond: { usable: perSecond(chunks, usableMs), vectors: perSecond(chunks, indexMs) },
    peakRssMb,
    embedMsPerChunk: { single: stats(single), batchOf16: stats(batched) },
    // A save: stored and searchable lexically, then its chunks embedded.
    reindexAfterSaveMs: stats(reindexMs),
    vectorsAfterSaveMs: stats(reembedMs),
    retrieveMs: stats(retrieveMs),
  };
}
