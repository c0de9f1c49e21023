/**
 * Which generator to load when the user names none: the 1.5B where the
 * hardware answers a keystroke with it in the time typing tolerates, else the
 * 0.5B, which does on 2 CPU cores. The rules are a pure function of what the
 * engine finds at start (the GPU node-llama-cpp uses, the cores generation
 * runs on, the models pulled), so they are tested without hardware.
 */
import { readModelsLock } from "./lock.ts";
import { modelPath } from "./store.ts";

/** The generator any machine runs fast enough: the default on CPU. */
export const SMALL_GENERATOR = "qwen2.5-coder-0.5b-instruct-q4_k_m-tied";

/** The better generator, pulled on request, for a GPU or enough CPU cores. */
export const LARGE_GENERATOR = "qwen2.5-coder-1.5b-instruct-q4_k_m";

/**
 * CPU cores from which the 1.5B is chosen without a GPU. Measured on a 2-core
 * machine on one thread (`AST_COMPLETE_THREADS=1 deno task bench models
 * --samples 5`, in CPU time, which other load on the machine does not
 * inflate): a single-line completion while typing (101 prompt tokens
 * evaluated, 4 generated: medians) takes the 1.5B 1.9 s (p95 3.9 s) and the
 * 0.5B 1.3 s (p95 2.5 s); a cold one (254 tokens) 4.1 s and 2.6 s. Prompt
 * evaluation runs at 81 and 118 tokens/s, generation at 8.1 and 17 tokens/s.
 * Taking each core added to give 0.8 of one more (assumed: other benchmarks
 * kept both cores busy, and two threads then wait on each other), a keystroke
 * takes the 1.5B 1.2 s on 2 cores and 0.6 s (p95 1.2 s) on 4, about what the
 * 0.5B takes on 2 (0.8 s, p95 1.5 s). A suggestion is taken to be useful
 * within about 1 s of a pause in typing: from 4 cores the 1.5B is, with room
 * for slower cores or poorer scaling.
 */
export const LARGE_GENERATOR_MIN_CORES = 4;

/** What the choice is made from. */
export interface GeneratorChoiceInput {
  /**
   * A generator the user named, by name in models.lock or path of a .gguf
   * file, and how (`--model`, which the VS Code setting `astComplete.model`
   * passes, or AST_COMPLETE_MODEL). It always wins.
   */
  named?: { name: string; by: string };
  /** The GPU node-llama-cpp uses (its Llama's `gpu`: "cuda", "vulkan", "metal"), false for none. */
  gpu: string | false;
  /** CPU cores generation runs on. */
  cores: number;
  /** Whether a model pinned in models.lock is in the cache. */
  isPulled: (name: string) => Promise<boolean>;
}

/** The generator to load, and why, as `status` reports it. */
export interface GeneratorChoice {
  /** A name in models.lock, or the path of a .gguf file. */
  name: string;
  /** Why this one, in a sentence a person can act on. */
  reason: string;
}

/** Chooses the generator (see the module's rules). */
export async function chooseGenerator(input: GeneratorChoiceInput): Promise<GeneratorChoice> {
  if (input.named) return { name: input.named.name, reason: `named by ${input.named.by}` };
  const cores = `${input.cores} CPU core${input.cores === 1 ? "" : "s"}`;
  const hardware = input.gpu !== false
    ? `node-llama-cpp uses a GPU (${input.gpu})`
    : input.cores >= LARGE_GENERATOR_MIN_CORES
    ? `no GPU but ${cores} (the 1.5B needs ${LARGE_GENERATOR_MIN_CORES})`
    : undefined;
  if (hardware === undefined) {
    return {
      name: SMALL_GENERATOR,
      reason: `no GPU and ${cores}: the 1.5B needs a GPU or ${LARGE_GENERATOR_MIN_CORES} ` +
        "cores to answer while you type",
    };
  }
  if (await input.isPulled(LARGE_GENERATOR)) {
    return { name: LARGE_GENERATOR, reason: `${hardware}: the 1.5B answers while you type` };
  }
  return {
    name: SMALL_GENERATOR,
    reason: `${hardware}: the 1.5B would answer while you type, but it is not pulled: ` +
      `\`deno task models pull ${LARGE_GENERATOR}\`, then restart`,
  };
}

/**
 * Whether a model is pinned in the lock and in the cache at its pinned size:
 * cheap enough for every start. The full check, with its sha256, comes when
 * the chosen model loads (see resolveModel).
 */
export function pulledIn(
  cacheDir: string,
  lockPath: string,
): (name: string) => Promise<boolean> {
  return async (name) => {
    const model = (await readModelsLock(lockPath)).models.find((model) => model.name === name);
    if (!model) return false;
    const size = await Deno.stat(modelPath(cacheDir, model)).then((stat) => stat.size, () => -1);
    return size === model.size;
  };
}
