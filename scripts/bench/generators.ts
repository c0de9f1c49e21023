/**
 * The `models` suite: the generators the engine chooses between (0.5B and
 * 1.5B, each one that is pulled) side by side on this machine, on the same
 * single-line samples, taken in turn. Each sample is completed cold (the
 * whole prompt evaluated: the first completion after the cursor moves), then
 * again with the next character typed (the evaluated prefix reused, no cache:
 * a keystroke the suggestion on screen no longer fits). The model's
 * generation speed comes from 48 tokens after a short prompt, its prompt
 * speed from the cold completions' model time less their generated tokens.
 * Times are wall and CPU time; with AST_COMPLETE_THREADS=1 the CPU time is
 * the time on one idle core even on a busy machine. Where the 1.5B's latency
 * meets what typing tolerates sets LARGE_GENERATOR_MIN_CORES
 * (engine/models/choose.ts).
 */
import { relative } from "node:path";
import process from "node:process";
import { loadConfig } from "../../engine/config/mod.ts";
import { languageOf } from "../../engine/documents/mod.ts";
import { createEngine } from "../../engine/engine.ts";
import type { Logger } from "../../engine/log/mod.ts";
import { LARGE_GENERATOR, pulledIn, SMALL_GENERATOR } from "../../engine/models/mod.ts";
import type { Generation, Generator } from "../../engine/inference/mod.ts";
import type { Completion } from "../../engine/pipeline.ts";
import { stats } from "./stats.ts";
import { DECODE_PROBE } from "./typing.ts";

/** A line of a real file cut at the cursor, and the rest of the line. */
export interface LineSample {
  path: string;
  text: string;
  position: { line: number; character: number };
  expected: string;
}

/** What an action returned, and the wall time and the process's CPU time it took. */
interface Timed<T> {
  value: T;
  wallMs: number;
  cpuMs: number;
}

async function timed<T>(action: () => Promise<T>): Promise<Timed<T>> {
  const [wall, cpu] = [performance.now(), process.cpuUsage()];
  const value = await action();
  const { user, system } = process.cpuUsage(cpu);
  return { value, wallMs: performance.now() - wall, cpuMs: (user + system) / 1000 };
}

/** One generator's engine and what it measured. */
interface Run {
  name: string;
  engine: ReturnType<typeof createEngine>;
  generator: Generator;
  cold: Timed<Completion>[];
  typing: Timed<Completion>[];
  generations: Timed<Generation>[];
}

/**
 * Runs the `models` suite. Both generators stay loaded and take each sample in
 * turn, so load from other processes on the machine falls on both alike.
 * Every time is given as wall time and as the process's CPU time: with
 * AST_COMPLETE_THREADS=1 the CPU time is what the completion takes on one
 * idle core, however busy the machine is.
 */
export async function generators(options: { samples: LineSample[]; log: Logger }) {
  const { samples, log } = options;
  const config = loadConfig();
  const isPulled = pulledIn(config.cacheDir, config.modelsLock);
  const never = new AbortController().signal;
  const result: Record<string, unknown> = {
    threads: config.generator.threads,
    loadAverageBefore: Deno.loadavg(),
  };
  const runs: Run[] = [];
  try {
    for (const name of [SMALL_GENERATOR, LARGE_GENERATOR]) {
      if (!(await isPulled(name))) {
        result[name] = `not pulled: deno task models pull ${name}`;
        continue;
      }
      const engine = createEngine(loadConfig({ model: name }), log);
      engine.models.start();
      const generator = await engine.models.ready(never, 300_000);
      runs.push({ name, engine, generator, cold: [], typing: [], generations: [] });
    }
    const complete = (run: Run, sample: LineSample, fresh: boolean) =>
      timed(() =>
        run.engine.pipeline.complete({
          uri: `file://${sample.path}`,
          path: relative(Deno.cwd(), sample.path),
          languageId: languageOf(sample.path),
          text: sample.text,
          position: sample.position,
          maxLines: 1,
          fresh,
          useCache: false,
        }, never)
      );
    // Warm-up: the first evaluation carries one-off costs.
    for (const run of runs) await complete(run, samples[0], true);
    for (const [index, sample] of samples.entries()) {
      for (const run of runs) {
        const cold = await complete(run, sample, true);
        const typing = await complete(run, typedOneMore(sample), false);
        run.cold.push(cold);
        run.typing.push(typing);
        console.error(
          `sample ${index + 1}/${samples.length} ${run.name}: ` +
            `cold ${Math.round(cold.wallMs)} ms (CPU ${Math.round(cold.cpuMs)} ms, ` +
            `${cold.value.timings.promptTokens} tokens), typing ${Math.round(typing.wallMs)} ms ` +
            `(CPU ${Math.round(typing.cpuMs)} ms)`,
        );
      }
    }
    // The model's own generation speed: 48 tokens from a short prompt.
    for (let repeat = 0; repeat < 2; repeat++) {
      for (const run of runs) {
        run.generations.push(
          await timed(() => run.generator.generate({ ...DECODE_PROBE, signal: never })),
        );
      }
    }
    const times = (results: Timed<Completion>[]) => ({
      wallMs: stats(results.map((result) => result.wallMs)),
      cpuMs: stats(results.map((result) => result.cpuMs)),
      // The model's part of the wall time; the rest is the pipeline around it.
      modelMs: stats(results.map(({ value }) => value.timings.generateMs)),
      evaluatedTokens: stats(
        results.map(({ value }) => value.timings.promptTokens - value.timings.reusedTokens),
      ),
      generatedTokens: stats(results.map(({ value }) => value.timings.generatedTokens)),
    });
    for (const run of runs) {
      const speeds = (clock: "wallMs" | "cpuMs") => {
        const generated = stats(
          run.generations.map((timing) => timing.value.generatedTokens / (timing[clock] / 1000)),
        ).median;
        // A cold completion is its prompt's evaluation, then its generated tokens.
        const prompt = stats(run.cold.map((timing) =>
          timing.value.timings.promptTokens /
          ((timing[clock] - (1000 * timing.value.timings.generatedTokens) / generated) / 1000)
        )).median;
        return { promptTokensPerSecond: prompt, generatedTokensPerSecond: generated };
      };
      result[run.name] = {
        wall: speeds("wallMs"),
        cpu: speeds("cpuMs"),
        cold: times(run.cold),
        typing: times(run.typing),
        coldExactMatch: run.cold
          .filter(({ value }, index) => value.text === samples[index].expected).length,
        samples: samples.length,
      };
    }
    result.loadAverageAfter = Deno.loadavg();
    return result;
  } finally {
    for (const run of runs) await run.engine.close();
  }
}

/** The sample with the first character of its expected rest typed. */
function typedOneMore(sample: LineSample): LineSample {
  const { line, character } = sample.position;
  const lines = sample.text.split("\n");
  lines[line] = lines[line].slice(0, character) + sample.expected.slice(0, 1) +
    lines[line].slice(character);
  return {
    ...sample,
    text: lines.join("\n"),
    position: { line, character: character + 1 },
    expected: sample.expected.slice(1),
  };
}
