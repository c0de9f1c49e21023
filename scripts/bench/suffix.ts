/**
 * The `suffix` suite (issue 14 item 3): how much text after the cursor the
 * prompt should hold while typing mid-line. The peer suite's lines (one per
 * file of a pinned project, seeded) are typed key by key through the engine
 * once per suffix window (`--suffix-chars`, characters, a list) and prompt
 * layout (`--layouts prefix,middle`: where the typed part of the line goes),
 * side by side in one process on one loaded model: first identifier right,
 * exact rest of the line, per-key latency and prompt tokens reused.
 */
import { join } from "node:path";
import { languageOf } from "../../engine/documents/mod.ts";
import { readProjectFiles } from "../../engine/indexer/mod.ts";
import type { PromptLayout } from "../../engine/inference/mod.ts";
import type { Logger } from "../../engine/log/mod.ts";
import { firstIdentifier, keysOf, landing, pickPlaces } from "./peer.ts";
import { fetchProject, isSourceFile, projectsNamed } from "./projects.ts";
import { benchConfig, openReady } from "./repo.ts";
import { seeded, stats } from "./stats.ts";

/** The lines the peer suite allows, as it does (`ADAPTER_MAX_LINES` there). */
const MAX_LINES = 8;

/** The `suffix` suite on each named project (trpc-server by default). */
export async function suffix(
  options: {
    projects: string[];
    lines: number;
    suffixChars: number[];
    layouts: PromptLayout[];
    log: Logger;
  },
) {
  const reports: Record<string, unknown> = {};
  const names = options.projects.length ? options.projects : ["trpc-server"];
  for (const project of projectsNamed(names)) {
    const root = await Deno.realPath(await fetchProject(project));
    const files = await readProjectFiles(root, (path) => isSourceFile(project, path));
    const places = pickPlaces(files, options.lines, seeded(31));
    const config = await benchConfig();
    const { engine, context } = await openReady(config, root, options.log);
    try {
      const never = new AbortController().signal;
      const arms: Record<string, unknown> = {};
      const pairs = options.suffixChars.flatMap((suffixChars) =>
        options.layouts.map((layout) => ({ suffixChars, layout }))
      );
      for (const { suffixChars, layout } of pairs) {
        const arm = `suffix${suffixChars}_${layout}`;
        // The pipeline reads its limits from this config at every request.
        config.completion.maxSuffixChars = suffixChars;
        let scored = 0, matched = 0, exact = 0, prompt = 0, reused = 0;
        const latencies: number[] = [];
        for (const place of places) {
          const input = (doc: string[], cursor: { line: number; character: number }) => ({
            // A document per arm, so none starts from another's line context.
            uri: `file://${join(root, place.path)}?${arm}`,
            path: place.path,
            languageId: languageOf(place.path),
            text: doc.join("\n"),
            position: cursor,
            maxLines: MAX_LINES,
            context,
            layout,
          });
          const land = landing(place);
          await engine.pipeline.complete(input(land.doc, land.cursor), never);
          for (const key of keysOf(place)) {
            const result = await engine.pipeline.complete(
              { ...input(key.doc, key.cursor), useCache: false },
              never,
            );
            const expected = firstIdentifier(key.expected);
            if (expected !== undefined) {
              scored++;
              if (firstIdentifier(result.text) === expected) matched++;
            }
            if (result.text !== "" && result.text.trimEnd() === key.expected.trimEnd()) exact++;
            latencies.push(result.timings.totalMs);
            prompt += result.timings.promptTokens;
            reused += result.timings.reusedTokens;
          }
        }
        arms[arm] = {
          keys: latencies.length,
          firstIdentifierMatch: { count: matched, of: scored },
          exactRestOfLine: { count: exact, of: latencies.length },
          requestMs: stats(latencies),
          reusedShare: prompt === 0 ? 0 : Math.round(reused / prompt * 1000) / 1000,
        };
      }
      reports[project.name] = { lines: places.length, arms };
      console.error(JSON.stringify({ project: project.name, ...reports[project.name] as object }));
    } finally {
      await engine.close();
      await Deno.remove(config.cacheDir, { recursive: true });
    }
  }
  return { projects: reports };
}
