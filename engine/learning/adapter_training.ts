/**
 * Training a project's LoRA adapter when the editor is idle: the samples
 * (adapter_data.ts) go to train_lora.py (PyTorch + PEFT) in a child process
 * at the lowest priority, one at a time per machine (a lock file in the
 * cache). The process is stopped (SIGSTOP) the moment a completion request
 * arrives and continued (SIGCONT) once the editor is idle again; a killed
 * job resumes from its last checkpoint. The candidate is kept only if it
 * lowers the held-out loss and the engine's own completions of held-out
 * lines are exactly right at least as often with it (adapter_store.ts);
 * those completions yield to the user's as training does.
 */
import { join } from "node:path";
import { createHash } from "node:crypto";
import { type AdapterConfig, makePrivateDir } from "../config/mod.ts";
import type {
  LearningAdapterCompletions,
  LearningAdapterStatus,
  LearningAdapterTraining,
} from "../protocol/mod.ts";
import { adapterData, type FimSample, type ProjectFile, unitHash } from "./adapter_data.ts";
import {
  type AdapterManifest,
  AdapterStore,
  type CandidateScores,
  type HeldoutScores,
  keepDecision,
  pairedCounts,
  type StoredAdapter,
} from "./adapter_store.ts";
import type { Suggestion } from "./join.ts";
import { pythonEnv, trainerScript } from "./python_env.ts";

/** The model the adapter is trained on and served with. */
export interface BaseModel {
  name: string;
  path: string;
  sha256: string;
  /** Its architecture (GGUF general.architecture); the converter writes qwen2 adapters. */
  architecture: string;
}

/** How and when to train (config.learning.adapter). */
export type AdapterTrainingOptions = Omit<AdapterConfig, "enabled">;

/** What training needs from the rest of the engine. */
export interface AdapterTrainingDeps {
  cacheDir: string;
  stateDir: string;
  /** The project's indexable files (never secrets, never outside it). */
  files: () => Promise<ProjectFile[]>;
  /** The project's settled suggestions, to weight accepted text up. */
  outcomes: () => Promise<Suggestion[]>;
  /** The generator's model, once it is loaded. */
  baseModel: () => Promise<BaseModel | undefined>;
  /**
   * The text the engine would show for a held-out sample's line, completed
   * as the user's are (its file alone, one line, no cache) with `adapter`, or
   * with the base model when it is undefined.
   */
  completeLine: (
    sample: FimSample,
    adapter: string | undefined,
    signal: AbortSignal,
  ) => Promise<string>;
  log: { info(message: string): void; warn(message: string): void };
  /** Hears every change of `status()`: a start, a pause, progress (at most every few seconds), an end. */
  onChange?: () => void;
}

/** Fewer training samples than this are not worth an adapter. */
const MIN_TRAIN_SAMPLES = 16;
/** The adapter's modules: attention, as the design card's rank-8 adapter. */
const TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj"];
/** The split and the sampling are the same on every run. */
export const SEED = 1;
/** Progress is told at most this often; starts, pauses and ends at once. */
const PROGRESS_EVERY_MS = 5_000;
/** Accepted completions since the last training that make it worth training again. */
const RETRAIN_AFTER_ACCEPTED = 25;
/** Lines of the trainer's stderr kept to explain a failure. */
const STDERR_LINES = 20;

/** What the trainer reports on stdout, one JSON object per line. */
type TrainerEvent =
  | { event: "loading" }
  | { event: "progress"; step: number; steps: number; loss?: number; elapsedS: number }
  | { event: "evaluated"; loss: HeldoutScores; exact: HeldoutScores }
  | {
    event: "done";
    trainSeconds: number;
    tokens: number;
    tokensPerSecond: number;
    peakRssBytes: number;
    loss: HeldoutScores;
    exact: HeldoutScores;
  };

/** One run of the trainer: a child process that can be paused, resumed and stopped. */
class TrainerProcess {
  #child: Deno.ChildProcess;
  #paused = false;
  #runningMs = 0;
  #since = performance.now();
  progress: { step: number; steps: number } = { step: 0, steps: 0 };
  done?: Extract<TrainerEvent, { event: "done" }>;
  readonly finished: Promise<void>;

  constructor(python: string, jobPath: string, onEvent: (event: TrainerEvent) => void) {
    const child = new Deno.Command(python, {
      args: [trainerScript(), jobPath],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { PYTHONUNBUFFERED: "1", TOKENIZERS_PARALLELISM: "false", HF_HUB_OFFLINE: "1" },
    }).spawn();
    this.#child = child;
    const stderr = readLines(child.stderr, () => {});
    const events = readLines(child.stdout, (line) => {
      if (!line.startsWith("{")) return;
      let event: TrainerEvent;
      try {
        event = JSON.parse(line);
      } catch {
        return; // The trainer's own log lines are not ours to read.
      }
      if (event.event === "progress") this.progress = { step: event.step, steps: event.steps };
      if (event.event === "done") this.done = event;
      onEvent(event);
    });
    this.finished = (async () => {
      const [status, errors] = await Promise.all([child.status, stderr, events]);
      if (!status.success) {
        const why = status.signal ? `stopped by ${status.signal}` : `exit code ${status.code}`;
        throw new Error(`The trainer failed (${why}):\n${errors.slice(-STDERR_LINES).join("\n")}`);
      }
    })();
  }

  get pid(): number {
    return this.#child.pid;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Stops the process where it is (it keeps its memory, loses nothing). */
  pause(): void {
    if (this.#paused) return;
    this.#signal("SIGSTOP");
    this.#runningMs += performance.now() - this.#since;
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#signal("SIGCONT");
    this.#since = performance.now();
    this.#paused = false;
  }

  /** Ends the process; its last checkpoint stays for the next run. */
  stop(): void {
    this.#signal("SIGCONT");
    this.#signal("SIGTERM");
  }

  /** Seconds left at the pace of the steps so far. */
  etaSeconds(): number | undefined {
    const { step, steps } = this.progress;
    const running = this.#runningMs + (this.#paused ? 0 : performance.now() - this.#since);
    return etaSeconds(running, step, steps);
  }

  #signal(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch {
      // Already exited: nothing to signal.
    }
  }
}

/** Seconds left of `steps` at the pace of the `step` done in `spentMs`; none before the first. */
function etaSeconds(spentMs: number, step: number, steps: number): number | undefined {
  return step === 0 ? undefined : Math.round(spentMs / step * (steps - step) / 1000);
}

/** Reads a stream line by line; returns the lines (the last STDERR_LINES kept). */
async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<string[]> {
  const kept: string[] = [];
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (pending + chunk).split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      onLine(line);
      kept.push(line);
      if (kept.length > STDERR_LINES) kept.shift();
    }
  }
  if (pending) onLine(pending), kept.push(pending);
  return kept;
}

/** The engine completing held-out lines for a candidate: where it is, and what waits for idle. */
interface Evaluation {
  step: number;
  steps: number;
  /** Milliseconds the lines done so far took. */
  lineMs: number;
  paused: boolean;
  stopped: boolean;
  /** The line under way, aborted when a completion request arrives. */
  controller?: AbortController;
  /** Resolves the paused line's wait when the editor is idle again (or the evaluation is stopped). */
  wake?: () => void;
}

/** A seeded choice of at most `count` samples. */
function pick(samples: FimSample[], count: number): FimSample[] {
  if (samples.length <= count) return samples;
  const rank = (sample: FimSample) =>
    unitHash(`${SEED}:${sample.prefix.slice(-200)}${sample.middle}`);
  return samples.map((sample) => ({ sample, rank: rank(sample) }))
    .sort((a, b) => a.rank - b.rank).slice(0, count).map(({ sample }) => sample);
}

/** What an adapter was trained from, to tell when there is enough new. */
export interface Material {
  /** A short hash of each file's text, by path. */
  files: Record<string, string>;
  accepted: number;
}

/** The material of `files` and `outcomes`: a short hash per file, and the accepted completions. */
export function materialOf(files: ProjectFile[], outcomes: Suggestion[]): Material {
  const hashes: Record<string, string> = {};
  for (const file of files) {
    hashes[file.path] = createHash("sha256").update(file.text).digest("hex").slice(0, 8);
  }
  const accepted = outcomes
    .filter(({ outcome }) => outcome === "accepted" || outcome === "partial").length;
  return { files: hashes, accepted };
}

/**
 * Why to train again on `now` after a try on `tried`, if there is enough new:
 * a tenth of the files added, changed or removed, or
 * {@link RETRAIN_AFTER_ACCEPTED} more accepted completions.
 */
export function retrainReason(tried: Material, now: Material): string | undefined {
  const changed = Object.keys({ ...now.files, ...tried.files })
    .filter((path) => now.files[path] !== tried.files[path]).length;
  if (changed >= Math.max(1, Object.keys(now.files).length / 10)) {
    return `${changed} files changed since the last training`;
  }
  if (now.accepted - tried.accepted >= RETRAIN_AFTER_ACCEPTED) {
    return `${now.accepted - tried.accepted} more accepted completions since the last training`;
  }
  return undefined;
}

/** Why the converter writes no adapter for this model, if it does not (it writes qwen2's). */
function unsupportedModel(base: BaseModel): string | undefined {
  return base.architecture === "qwen2"
    ? undefined
    : `adapters are trained for qwen2 models; ${base.name} is ${base.architecture}`;
}

/** The outcome of one training run. */
export type TrainingOutcome =
  | { trained: true; manifest: AdapterManifest; kept: boolean; reason: string }
  | { trained: false; reason: string };

/** A project's adapter: the one in use, and training the next when idle. */
export class AdapterTraining {
  readonly store: AdapterStore;
  #deps: AdapterTrainingDeps;
  #options: AdapterTrainingOptions;
  #process?: TrainerProcess;
  #evaluation?: Evaluation;
  #running?: Promise<TrainingOutcome>;
  #idleTimer?: ReturnType<typeof setTimeout>;
  /** The adapter to serve, as last looked up (see refresh). */
  #loadable?: StoredAdapter;
  #status: LearningAdapterStatus = { state: "none", reason: "not looked up yet" };
  #closed = false;

  constructor(deps: AdapterTrainingDeps, options: AdapterTrainingOptions) {
    this.#deps = deps;
    this.#options = options;
    this.store = new AdapterStore(deps.stateDir);
  }

  /** The adapter.gguf completions should load, as last looked up. */
  get adapterPath(): string | undefined {
    return this.#loadable?.gguf;
  }

  /** The adapter's state as last looked up, with training progress now. */
  status(): LearningAdapterStatus {
    const process = this.#process, evaluation = this.#evaluation;
    let training: Omit<LearningAdapterTraining, "etaSeconds">, eta: number | undefined;
    if (process) {
      training = {
        state: process.paused ? "paused" : "running",
        phase: "training",
        ...process.progress,
      };
      eta = process.etaSeconds();
    } else if (evaluation) {
      const { step, steps, lineMs } = evaluation;
      training = {
        state: evaluation.paused ? "paused" : "running",
        phase: "evaluating",
        step,
        steps,
      };
      eta = etaSeconds(lineMs, step, steps);
    } else {
      return this.#status;
    }
    return {
      ...this.#status,
      training: { ...training, ...(eta !== undefined ? { etaSeconds: eta } : {}) },
    };
  }

  #changed(): void {
    this.#deps.onChange?.();
  }

  /** Looks up the adapter to serve and why; call when the model or the store changed. */
  async refresh(): Promise<LearningAdapterStatus> {
    const [python, base, lastEvaluation] = await Promise.all([
      pythonEnv(this.#deps.cacheDir),
      this.#deps.baseModel(),
      this.store.lastEvaluation(),
    ]);
    const last = lastEvaluation ? { lastEvaluation } : {};
    const found = base ? await this.store.forBase(base.sha256) : undefined;
    this.#loadable = found && "manifest" in found ? found : undefined;
    const off = python.state === "absent" ? python.reason : base && unsupportedModel(base);
    if (this.#loadable) {
      this.#status = { state: "ready", version: this.#loadable.manifest.version, ...last };
    } else if (off) {
      this.#status = { state: "off", reason: off, ...last };
    } else {
      const reason = found && "refused" in found
        ? found.refused
        : base
        ? "no adapter kept yet"
        : "the model is not loaded yet";
      this.#status = { state: "none", reason, ...last };
    }
    return this.#status;
  }

  /**
   * A completion request arrived: training stops where it is, and the idle
   * wait starts again.
   */
  activity(): void {
    if (this.#process && !this.#process.paused) {
      this.#process.pause();
      this.#changed();
    }
    const evaluation = this.#evaluation;
    if (evaluation && !evaluation.paused) {
      evaluation.paused = true;
      evaluation.controller?.abort();
      this.#changed();
    }
    clearTimeout(this.#idleTimer);
    if (this.#closed) return;
    const timer = setTimeout(() => this.#onIdle(), this.#options.idleMs);
    // A paused evaluation waits on this timer alone (a paused trainer on its process).
    if (!this.#evaluation) Deno.unrefTimer(timer);
    this.#idleTimer = timer;
  }

  #onIdle(): void {
    if (this.#process) {
      this.#process.resume();
      this.#changed();
      return;
    }
    if (this.#evaluation) {
      this.#resumeEvaluation();
      this.#changed();
      return;
    }
    this.#needsTraining().then((why) => {
      if (why && !this.#closed && !this.#running) {
        this.#deps.log.info(`Training the project's adapter: ${why}`);
        this.train().catch(() => {});
      }
    }).catch((error) => this.#deps.log.warn(`Cannot plan training: ${error.message}`));
  }

  /**
   * Why to train now, when it is worth it: no adapter tried yet on this base
   * model, or enough new since the last try (retrainReason).
   */
  async #needsTraining(): Promise<string | undefined> {
    const status = await this.refresh();
    const base = await this.#deps.baseModel();
    if (status.state === "off" || !base) return undefined;
    const tried = await this.#readTried();
    if (!tried || tried.base !== base.sha256) {
      return status.state === "ready" ? undefined : status.reason;
    }
    return retrainReason(tried, materialOf(await this.#deps.files(), await this.#deps.outcomes()));
  }

  /** Records what this try trained from, so the next waits for enough new. */
  async #markTried(base: BaseModel, material: Material): Promise<void> {
    await Deno.writeTextFile(
      join(this.store.dir, "tried.json"),
      JSON.stringify({ base: base.sha256, ...material }),
      { mode: 0o600 },
    );
  }

  async #readTried(): Promise<(Material & { base: string }) | undefined> {
    try {
      return JSON.parse(await Deno.readTextFile(join(this.store.dir, "tried.json")));
    } catch {
      return undefined;
    }
  }

  /**
   * Trains now (waiting for another project's training on this machine to
   * finish first), then keeps or discards the candidate. Pauses with
   * `activity()` as idle training does. One run at a time per project.
   *
   * @param overrides Options for this run only (a bench's or a test's).
   */
  train(overrides: Partial<AdapterTrainingOptions> = {}): Promise<TrainingOutcome> {
    if (!this.#running) {
      this.#running = this.#train({ ...this.#options, ...overrides })
        .finally(() => this.#running = undefined);
    }
    return this.#running;
  }

  /** Whether training is under way (or waiting for the machine). */
  get training(): boolean {
    return this.#running !== undefined;
  }

  async #train(runOptions: AdapterTrainingOptions): Promise<TrainingOutcome> {
    const [python, base] = await Promise.all([
      pythonEnv(this.#deps.cacheDir),
      this.#deps.baseModel(),
    ]);
    if (python.state === "absent") return { trained: false, reason: python.reason };
    if (!base) return { trained: false, reason: "the model is not loaded yet" };
    const unsupported = unsupportedModel(base);
    if (unsupported) return { trained: false, reason: unsupported };
    const options = { ...runOptions, seed: SEED };
    const [files, outcomes] = await Promise.all([this.#deps.files(), this.#deps.outcomes()]);
    // What is trained on is read once: the samples and the record of this try come from it.
    const material = materialOf(files, outcomes);
    const data = adapterData(files, outcomes, options);
    const train = pick(data.train, options.maxTrainSamples);
    const heldout = pick(data.heldout, options.maxHeldoutSamples);
    if (train.length < MIN_TRAIN_SAMPLES || heldout.length === 0) {
      return {
        trained: false,
        reason:
          `too little to learn from: ${train.length} training and ${heldout.length} held-out samples`,
      };
    }
    const lockDir = join(this.#deps.cacheDir, "python");
    await makePrivateDir(lockDir);
    using lock = await Deno.open(join(lockDir, "train.lock"), {
      create: true,
      write: true,
      mode: 0o600,
    });
    await lock.lock(true);
    const current = await this.store.forBase(base.sha256);
    const { version, dir } = await this.store.nextVersion();
    const jobDir = join(this.store.dir, "job");
    await makePrivateDir(join(jobDir, "checkpoints"));
    const steps = Math.max(
      1,
      Math.ceil(train.reduce((sum, sample) => sum + sample.weight, 0) / options.accumulate) *
        options.epochs,
    );
    const job = {
      baseModel: base.path,
      train: join(jobDir, "train.jsonl"),
      heldout: join(jobDir, "heldout.jsonl"),
      out: dir,
      checkpoints: join(jobDir, "checkpoints"),
      threads: options.threads,
      seed: SEED,
      rank: options.rank,
      alpha: options.rank * 2,
      targetModules: TARGET_MODULES,
      steps,
      accumulate: options.accumulate,
      learningRate: options.learningRate,
      checkpointEvery: Math.max(5, Math.ceil(steps / 10)),
      ...(current && "dir" in current ? { current: current.dir } : {}),
    };
    await this.#prepareJob(jobDir, job, train, heldout, base);
    const started = Date.now();
    this.#deps.log.info(
      `Training adapter v${version}: ${train.length} samples, ${steps} steps, ${heldout.length} held out`,
    );
    let toldAt = 0;
    const process = new TrainerProcess(python.python, join(jobDir, "job.json"), (event) => {
      if (event.event !== "progress" || performance.now() - toldAt < PROGRESS_EVERY_MS) return;
      toldAt = performance.now();
      this.#changed();
    });
    this.#process = process;
    this.#changed();
    try {
      await process.finished;
    } catch (error) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      this.#deps.log.warn((error as Error).message);
      // A failed run is not retried on the same material at every idle moment.
      await this.#markTried(base, material).catch(() => {});
      return { trained: false, reason: (error as Error).message };
    } finally {
      this.#process = undefined;
      this.#changed();
    }
    const done = process.done;
    if (!done) return { trained: false, reason: "the trainer ended without its results" };
    const manifest: AdapterManifest = {
      version,
      baseModel: { name: base.name, sha256: base.sha256 },
      createdAt: new Date(started).toISOString(),
      rank: job.rank,
      alpha: job.alpha,
      steps,
      learningRate: job.learningRate,
      data: {
        trainFiles: data.trainFiles,
        heldoutFiles: data.heldoutFiles,
        trainSamples: train.length,
        heldoutSamples: heldout.length,
        accepted: data.accepted,
      },
      training: {
        seconds: done.trainSeconds,
        tokens: done.tokens,
        tokensPerSecond: done.tokensPerSecond,
        peakRssBytes: done.peakRssBytes,
      },
      heldoutLoss: done.loss,
      heldoutExact: done.exact,
      bytes: (await Deno.stat(join(dir, "adapter.gguf"))).size,
    };
    await Deno.remove(join(dir, "README.md")).catch(() => {});
    let scores: CandidateScores = { loss: done.loss, exact: done.exact };
    // The engine's measure takes minutes: only a candidate the trainer's measures keep needs it.
    if (keepDecision(scores).kept) {
      const before = current && "gguf" in current ? current.gguf : undefined;
      scores = {
        ...scores,
        completions: await this.#completeHeldout(heldout, before, join(dir, "adapter.gguf")),
      };
      manifest.completions = scores.completions;
    }
    const decision = keepDecision(scores);
    await this.store.settle(manifest, decision);
    await this.#markTried(base, material);
    await Deno.remove(jobDir, { recursive: true });
    this.#deps.log.info(
      `Adapter v${version} ${decision.kept ? "kept" : "discarded"}: ${decision.reason}`,
    );
    await this.refresh();
    return { trained: true, manifest, ...decision };
  }

  /**
   * How many held-out lines the engine completes exactly right before (with
   * `before`, the adapter in use, else the base model) and with the
   * candidate, and how many only one of them gets right: one arm after the
   * other, since changing adapters makes the model's context again. A completion request aborts the line under way;
   * it is done again once the editor is idle.
   */
  async #completeHeldout(
    samples: FimSample[],
    before: string | undefined,
    candidate: string,
  ): Promise<LearningAdapterCompletions> {
    const evaluation: Evaluation = {
      step: 0,
      steps: samples.length * 2,
      lineMs: 0,
      paused: false,
      stopped: false,
    };
    this.#evaluation = evaluation;
    this.#changed();
    let toldAt = performance.now();
    // Whether each line comes out exactly right.
    const exactlyRight = async (adapter: string | undefined) => {
      const right: boolean[] = [];
      for (const sample of samples) {
        right.push(await this.#completeLine(evaluation, sample, adapter) === sample.middle);
        evaluation.step++;
        if (performance.now() - toldAt >= PROGRESS_EVERY_MS) {
          toldAt = performance.now();
          this.#changed();
        }
      }
      return right;
    };
    try {
      const beforeRight = await exactlyRight(before);
      const candidateRight = await exactlyRight(candidate);
      return pairedCounts(beforeRight, candidateRight);
    } finally {
      this.#evaluation = undefined;
      this.#changed();
    }
  }

  /** One held-out line's completion, done again until no completion request interrupts it. */
  async #completeLine(
    evaluation: Evaluation,
    sample: FimSample,
    adapter: string | undefined,
  ): Promise<string> {
    for (;;) {
      while (evaluation.paused && !evaluation.stopped) {
        await new Promise<void>((resolve) => {
          evaluation.wake = resolve;
        });
      }
      if (evaluation.stopped) throw new Error("The adapter's evaluation was stopped");
      const controller = new AbortController();
      evaluation.controller = controller;
      const started = performance.now();
      try {
        const text = await this.#deps.completeLine(sample, adapter, controller.signal);
        if (!controller.signal.aborted) {
          evaluation.lineMs += performance.now() - started;
          return text;
        }
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
    }
  }

  /** The editor is idle again: the evaluation goes on. */
  #resumeEvaluation(): void {
    const evaluation = this.#evaluation;
    if (!evaluation) return;
    evaluation.paused = false;
    evaluation.wake?.();
    evaluation.wake = undefined;
  }

  /** Ends the evaluation under way, if any: its training run ends without a decision. */
  #stopEvaluation(): void {
    const evaluation = this.#evaluation;
    if (!evaluation) return;
    evaluation.stopped = true;
    evaluation.controller?.abort();
    this.#resumeEvaluation();
  }

  /**
   * Writes the job's files; checkpoints of an earlier run stay only if it
   * trained on exactly this job (a killed run resumes, a changed one starts over).
   */
  async #prepareJob(
    jobDir: string,
    job: Record<string, unknown>,
    train: FimSample[],
    heldout: FimSample[],
    base: BaseModel,
  ): Promise<void> {
    const lines = (samples: FimSample[]) => samples.map((s) => JSON.stringify(s)).join("\n") + "\n";
    const trainText = lines(train);
    const fingerprint = createHash("sha256")
      .update(JSON.stringify({ ...job, out: undefined, current: undefined }))
      .update(base.sha256).update(trainText).digest("hex");
    const previous = await Deno.readTextFile(join(jobDir, "fingerprint")).catch(() => "");
    if (previous !== fingerprint) {
      await Deno.remove(join(jobDir, "checkpoints"), { recursive: true });
      await makePrivateDir(join(jobDir, "checkpoints"));
    }
    const write = (name: string, text: string) =>
      Deno.writeTextFile(join(jobDir, name), text, { mode: 0o600 });
    await write("train.jsonl", trainText);
    await write("heldout.jsonl", lines(heldout));
    await write("job.json", JSON.stringify(job));
    await write("fingerprint", fingerprint);
  }

  /** Stops the idle wait and any training (its checkpoint stays). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    this.#process?.stop();
    this.#stopEvaluation();
    await this.#running?.catch(() => {});
  }

  /** Removes every adapter and the job in progress. */
  async reset(): Promise<{ removed: boolean; bytes: number }> {
    this.#process?.stop();
    this.#stopEvaluation();
    await this.#running?.catch(() => {});
    const removed = await this.store.reset();
    await this.refresh();
    return removed;
  }

  /** The trainer process, for tests that watch it pause. */
  get processId(): number | undefined {
    return this.#process?.pid;
  }
}
