/**
 * The `cold` suite: the first suggestion at a fresh place in the largest
 * files of a real project (indexed, with retrieval), as after opening a file
 * or jumping in it to write a line (the line's rest taken out), side by side:
 * - cold: asked at once, the prompt evaluated from scratch;
 * - prefetched in full: `document/prefetch` when the cursor arrives, made in
 *   full only, a pause of `--pause` ms (1 s by default), then the request at
 *   the same cursor;
 * - prefetched: the same with the engine's first-suggestion budget, so the
 *   request gets a quick completion from the prompt nearest the cursor when
 *   the full one is not ready;
 * - prefetched, then a key: the same pause, then one key typed before the
 *   request, so the prefetch is cancelled and only what it evaluated helps.
 * Each arm's first line is scored against the line's true rest (exact, and
 * edit similarity); the suite also reports the process's peak RSS over the
 * project's run.
 */
import { join } from "node:path";
import { languageOf } from "../../engine/documents/mod.ts";
import { readProjectFiles } from "../../engine/indexer/mod.ts";
import type { Logger } from "../../engine/log/mod.ts";
import type { Completion, CompletionInput } from "../../engine/pipeline.ts";
import { fetchProject, projectsNamed } from "./projects.ts";
import { benchConfig, openReady, proseLines } from "./repo.ts";
import { matchScores, rssPeak, seeded, stats } from "./stats.ts";

/** Files sampled: the largest of the project's language. */
const LARGEST_FILES = 12;

/** A place to complete at, the rest of its line, and the key typed there in the last arm. */
interface Place {
  path: string;
  text: string;
  line: number;
  character: number;
  rest: string;
  key: string;
}

/** Places in the largest files: a code line, cut after its first word or bracket. */
async function places(root: string, language: string, count: number): Promise<Place[]> {
  const files = await readProjectFiles(root, (path) => languageOf(path) === language);
  files.sort((a, b) => b.text.length - a.text.length || a.path.localeCompare(b.path));
  const random = seeded(23);
  const picked: Place[] = [];
  const largest = files.slice(0, LARGEST_FILES);
  for (let attempt = 0; picked.length < count && attempt < count * 50; attempt++) {
    const file = largest[attempt % largest.length];
    const lines = file.text.split("\n");
    const prose = proseLines(file.path, file.text);
    // The second half of a file: a long prefix, as where a cold start costs most.
    const line = Math.floor(lines.length / 2 + random() * lines.length / 2);
    const code = lines[line] ?? "";
    const cut = /^\s*\w+[\s.(]/.exec(code)?.[0].length;
    if (prose[line] || cut === undefined || cut >= code.trimEnd().length) continue;
    picked.push({
      path: file.path,
      text: file.text,
      line,
      character: cut,
      rest: code.slice(cut).trimEnd(),
      key: code[cut],
    });
  }
  return picked;
}

/** The `cold` suite on each named project. */
export async function cold(
  options: { projects: string[]; samples: number; pauseMs: number; log: Logger },
) {
  const reports: Record<string, unknown> = {};
  for (const project of projectsNamed(options.projects.length ? options.projects : ["all"])) {
    const root = await Deno.realPath(await fetchProject(project));
    const config = await benchConfig();
    const rss = rssPeak();
    const { engine, context } = await openReady(config, root, options.log);
    try {
      const never = new AbortController().signal;
      const results = {
        cold: [] as Completion[],
        prefetchedInFull: [] as Completion[],
        prefetched: [] as Completion[],
        key: [] as Completion[],
      };
      const picked = await places(root, project.language, options.samples);
      for (const [index, place] of picked.entries()) {
        const input = (arm: string, typed = ""): CompletionInput => {
          const lines = place.text.split("\n");
          const line = lines[place.line];
          // The rest of the line is what the user is about to write: it is not in the file.
          lines[place.line] = line.slice(0, place.character) + typed;
          return {
            uri: `file://${join(root, place.path)}?${arm}${index}`,
            path: place.path,
            languageId: languageOf(place.path),
            text: lines.join("\n"),
            position: { line: place.line, character: place.character + typed.length },
            context,
          };
        };
        results.cold.push(await engine.pipeline.complete({ ...input("cold"), fresh: true }, never));
        engine.pipeline.prefetch({ ...input("full"), fresh: true }, 0);
        await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
        results.prefetchedInFull.push(await engine.pipeline.complete(input("full"), never));
        engine.pipeline.prefetch({ ...input("prefetched"), fresh: true });
        await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
        results.prefetched.push(await engine.pipeline.complete(input("prefetched"), never));
        engine.pipeline.prefetch({ ...input("key"), fresh: true });
        await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
        results.key.push(await engine.pipeline.complete(input("key", place.key), never));
      }
      const latency = (list: Completion[]) => stats(list.map((result) => result.timings.totalMs));
      const ratio = (list: Completion[]) =>
        Math.round(latency(list).median / latency(results.cold).median * 1000) / 1000;
      const firstLine = (text: string) => text.split("\n")[0].trimEnd();
      // The key arm's suggestion follows the typed key: scored against the rest after it.
      const quality = (list: Completion[], typed = 0) =>
        matchScores(
          list.map((result) => firstLine(result.text)),
          picked.map((place) => place.rest.slice(typed)),
        );
      reports[project.name] = {
        samples: results.cold.length,
        pauseMs: options.pauseMs,
        coldMs: latency(results.cold),
        prefetchedInFullMs: latency(results.prefetchedInFull),
        prefetchedMs: latency(results.prefetched),
        prefetchedThenKeyMs: latency(results.key),
        prefetchedInFullRatio: ratio(results.prefetchedInFull),
        prefetchedRatio: ratio(results.prefetched),
        prefetchedThenKeyRatio: ratio(results.key),
        quality: {
          cold: quality(results.cold),
          prefetchedInFull: quality(results.prefetchedInFull),
          prefetched: quality(results.prefetched),
          prefetchedThenKey: quality(results.key, 1),
        },
        shortened: results.prefetched.filter((result) => result.timings.shortened).length,
        promptTokens: stats(results.cold.map((result) => result.timings.promptTokens)),
        shortenedPromptTokens: stats(
          results.prefetched.flatMap((result) =>
            result.timings.shortened ? [result.timings.promptTokens] : []
          ),
        ),
        reusedAfterKey: stats(
          results.key.map((result) =>
            result.timings.reusedTokens / Math.max(1, result.timings.promptTokens)
          ),
        ),
        sameAsCold: results.prefetched.filter((result, index) =>
          result.text === results.cold[index].text
        ).length,
        // The engine's whole life in this project: indexing, the model, every completion.
        peakRssMb: rss.stop(),
      };
      console.error(JSON.stringify({ project: project.name, ...reports[project.name] as object }));
    } finally {
      rss.stop();
      await engine.close();
      await Deno.remove(config.cacheDir, { recursive: true });
    }
  }
  return { projects: reports };
}
