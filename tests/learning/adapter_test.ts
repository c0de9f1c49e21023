/**
 * The project's LoRA adapter end to end, on the real default model and the
 * real trainer (PyTorch + PEFT in the environment `deno task learn setup`
 * makes): samples cut from a project, a short training run that pauses when
 * a completion arrives and resumes when idle, the GGUF adapter loaded through
 * node-llama-cpp changing what the model writes, a worse candidate discarded,
 * and an adapter refused on another base model.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig, projectStateDir } from "../../engine/config/mod.ts";
import { createEngine } from "../../engine/engine.ts";
import {
  adapterData,
  type AdapterManifest,
  AdapterStore,
  fileSamples,
  isHeldOut,
  keepDecision,
  materialOf,
  MAX_CHANCE,
  type ProjectFile,
  retrainReason,
  type ShownEvent,
  signTestChance,
  type Suggestion,
} from "../../engine/learning/mod.ts";
import { createLogger } from "../../engine/log/mod.ts";

const log = createLogger("test", "error");
const windows = { maxPrefixChars: 1500, maxSuffixChars: 1000 };
const sampling = { seed: 1, heldoutShare: 0.2, perFile: 3, ...windows };

/** A project with a house style no model knows: every handler returns through `zorb_emit`. */
function zorbProject(files: number): ProjectFile[] {
  return Array.from({ length: files }, (_, index) => ({
    path: `handlers/handler_${index}.py`,
    text: [
      `from zorb import zorb_emit`,
      ``,
      ``,
      `def handle_${index}(request):`,
      `    payload = request.body.get("item_${index}")`,
      `    return zorb_emit(payload, channel="quux-${index % 5}", retries=3)`,
      ``,
      ``,
      `def describe_${index}(request):`,
      `    summary = request.body.get("summary_${index}")`,
      `    return zorb_emit(summary, channel="quux-${(index + 1) % 5}", retries=3)`,
      ``,
    ].join("\n"),
  }));
}

Deno.test("adapterData: held-out files only evaluate, accepted text trains weighted, rejected never", () => {
  const files = zorbProject(30);
  const shown = (path: string, text: string) => ({ path, text, prefix: "x = ", suffix: "\n" });
  const heldOutPath = files.find((file) => isHeldOut(file.path, sampling))!.path;
  const trainPath = files.find((file) => !isHeldOut(file.path, sampling))!.path;
  const outcomes = [
    { shown: shown(trainPath, "accepted_text()"), outcome: "accepted" },
    { shown: shown(trainPath, "partly_kept(x)"), outcome: "partial", acceptedText: "partly" },
    { shown: shown(trainPath, "rejected_text()"), outcome: "rejected" },
    { shown: shown(heldOutPath, "held_out_accepted()"), outcome: "accepted" },
  ] as unknown as Suggestion<ShownEvent>[];
  const data = adapterData(files, outcomes, { ...sampling, heldoutPerFile: 5 });
  assert.ok(data.heldoutFiles > 0 && data.trainFiles > data.heldoutFiles, JSON.stringify(data));
  assert.equal(data.trainFiles + data.heldoutFiles, 30);
  // Every held-out sample's line comes from a held-out file, and none of those train.
  const heldOutFiles = files.filter((file) => isHeldOut(file.path, sampling));
  // More lines are cut from a held-out file (5) than from one trained on (3): they measure a candidate.
  const heldOutSamples = heldOutFiles.flatMap((file) =>
    fileSamples(file, { ...sampling, perFile: 5 })
  );
  assert.deepEqual(data.heldout, heldOutSamples);
  assert.equal(data.heldout.length, data.heldoutFiles * 5);
  assert.equal(data.train.filter((sample) => sample.weight === 1).length, data.trainFiles * 3);
  const whole = (sample: { prefix: string; middle: string; suffix: string }) =>
    sample.prefix + sample.middle + sample.suffix;
  for (const sample of heldOutSamples) {
    assert.ok(!data.train.some((train) => whole(train) === whole(sample)));
  }
  const targets = data.train.filter((sample) => sample.weight > 1).map((sample) => sample.middle);
  assert.deepEqual(targets, ["accepted_text()", "partly"]);
  assert.equal(data.accepted, 2);
  // A sample is the rest of a line from a point in its first half, the file around it the prompt.
  for (const sample of data.train.filter((sample) => sample.weight === 1)) {
    assert.ok(!sample.middle.includes("\n") && sample.middle.trim() !== "");
    assert.ok(sample.suffix.startsWith("\n"), JSON.stringify(sample.suffix));
    const line = sample.prefix.slice(sample.prefix.lastIndexOf("\n") + 1) + sample.middle;
    assert.ok(files.some((file) => file.text.split("\n").includes(line)), line);
  }
});

/** A manifest as the trainer would leave it, with the given held-out losses and exact shares. */
function manifest(
  version: number,
  heldoutLoss: AdapterManifest["heldoutLoss"],
  heldoutExact: AdapterManifest["heldoutExact"],
  sha256 = "a".repeat(64),
): AdapterManifest {
  return {
    version,
    baseModel: { name: "base", sha256 },
    createdAt: new Date().toISOString(),
    rank: 8,
    alpha: 16,
    steps: 1,
    learningRate: 1e-3,
    data: { trainFiles: 1, heldoutFiles: 1, trainSamples: 1, heldoutSamples: 1, accepted: 0 },
    training: { seconds: 1, tokens: 1, tokensPerSecond: 1, peakRssBytes: 1 },
    heldoutLoss,
    heldoutExact,
    bytes: 1,
  };
}

Deno.test("retrainReason: a tenth of the files changed or 25 more accepted completions train again", () => {
  const files = zorbProject(40);
  const accepted = (count: number) =>
    Array.from({ length: count }, () => ({ outcome: "accepted" }) as Suggestion);
  const tried = materialOf(files, accepted(10));
  assert.equal(retrainReason(tried, materialOf(files, accepted(10))), undefined);
  // 3 of 40 files edited: not yet a tenth.
  const edited = (count: number) =>
    files.map((file, index) => index < count ? { ...file, text: `${file.text}# edited\n` } : file);
  assert.equal(retrainReason(tried, materialOf(edited(3), accepted(10))), undefined);
  assert.equal(
    retrainReason(tried, materialOf(edited(4), accepted(10))),
    "4 files changed since the last training",
  );
  // Files removed and added count as changed too.
  const moved = [
    ...files.slice(2),
    ...edited(2).slice(0, 2).map((file) => ({
      ...file,
      path: `moved/${file.path}`,
    })),
  ];
  assert.equal(
    retrainReason(tried, materialOf(moved, accepted(10))),
    "4 files changed since the last training",
  );
  // Accepted completions: 24 more wait, 25 more train; rejected ones never count.
  const rejected = Array.from({ length: 40 }, () => ({ outcome: "rejected" }) as Suggestion);
  assert.equal(retrainReason(tried, materialOf(files, [...accepted(34), ...rejected])), undefined);
  assert.equal(
    retrainReason(tried, materialOf(files, accepted(35))),
    "25 more accepted completions since the last training",
  );
});

Deno.test("signTestChance: how often an even coin wins as many of the lines that differ", () => {
  assert.equal(signTestChance(0, 0), 1);
  assert.equal(signTestChance(1, 0), 0.5);
  assert.equal(signTestChance(3, 0), 0.125);
  assert.equal(signTestChance(4, 0), 0.0625);
  assert.equal(signTestChance(5, 1), 7 / 64);
  assert.equal(signTestChance(2, 2), 11 / 16);
  assert.ok(signTestChance(8, 1) <= MAX_CHANCE && signTestChance(5, 1) > MAX_CHANCE);
});

Deno.test("AdapterStore keeps a better candidate, discards a worse one, refuses another base", async () => {
  const stateDir = await Deno.makeTempDir();
  try {
    const store = new AdapterStore(stateDir);
    assert.equal(await store.current(), undefined);
    const first = await store.nextVersion();
    await Deno.writeTextFile(join(first.dir, "adapter.gguf"), "stand-in");
    const better = manifest(first.version, { base: 2, candidate: 1.5 }, {
      base: 0.2,
      candidate: 0.25,
    });
    const keep = keepDecision({ loss: better.heldoutLoss, exact: better.heldoutExact });
    assert.equal(keep.kept, true, keep.reason);
    await store.settle(better, keep);
    // A lower loss is not enough: fewer lines written exactly is not kept.
    const lowerLossFewerExact = keepDecision({
      loss: { base: 2, candidate: 1 },
      exact: { base: 0.2, candidate: 0.15 },
    });
    assert.equal(lowerLossFewerExact.kept, false);
    assert.match(lowerLossFewerExact.reason, /base model.*fewer lines exactly right/);
    // Better by the trainer's measures, but the engine completes fewer held-out lines exactly.
    const trainerOnly = { loss: { base: 2, candidate: 1 }, exact: { base: 0.2, candidate: 0.3 } };
    const completed = (before: number, candidate: number, gained: number, lost: number) =>
      keepDecision({
        ...trainerOnly,
        completions: { lines: 100, before, candidate, gained, lost },
      });
    const fewerCompletions = completed(20, 19, 2, 3);
    assert.equal(fewerCompletions.kept, false);
    assert.match(
      fewerCompletions.reason,
      /completions exactly right 19 of 100 against 20 \(2 gained, 3 lost\): no more completions/,
    );
    assert.equal(completed(20, 20, 4, 4).kept, false, "as many is not better");
    // One line more, or a few gained against one lost, is what chance does often.
    const oneMore = completed(20, 21, 1, 0);
    assert.equal(oneMore.kept, false);
    assert.match(oneMore.reason, /chance alone gives 50\.0% of the time \(at most 10\.0%\)/);
    assert.equal(completed(20, 24, 5, 1).kept, false);
    const clearly = completed(20, 27, 8, 1);
    assert.equal(clearly.kept, true, clearly.reason);
    assert.equal((await store.current())?.manifest.version, 1);

    // A version a killed run left unsettled is removed; numbers are not reused.
    const stray = await store.nextVersion();
    assert.equal(stray.version, 2);
    const second = await store.nextVersion();
    assert.equal(second.version, 3);
    await assert.rejects(Deno.stat(stray.dir), Deno.errors.NotFound);
    await Deno.writeTextFile(join(second.dir, "adapter.gguf"), "stand-in");
    // Better than the base model, worse than the adapter it would replace.
    const worse = manifest(second.version, { base: 2, current: 1.5, candidate: 1.6 }, {
      base: 0.2,
      current: 0.25,
      candidate: 0.25,
    });
    const decision = keepDecision({ loss: worse.heldoutLoss, exact: worse.heldoutExact });
    assert.equal(decision.kept, false);
    assert.match(decision.reason, /current adapter.*the loss fell less than 1\.0%/);
    const evaluation = await store.settle(worse, decision);
    assert.equal(evaluation.kept, false);
    assert.equal((await store.current())?.manifest.version, 1);
    await assert.rejects(Deno.stat(second.dir), Deno.errors.NotFound);
    assert.equal(await Deno.readTextFile(join(store.discardedDir, "adapter.gguf")), "stand-in");
    assert.deepEqual((await store.lastEvaluation())?.heldoutLoss, worse.heldoutLoss);

    const ours = await store.forBase("a".repeat(64));
    assert.ok(ours && "manifest" in ours && ours.manifest.version === 1);
    assert.equal((await store.nextVersion()).version, 4);
    const other = await store.forBase("b".repeat(64));
    assert.ok(other && "refused" in other, JSON.stringify(other));
    assert.match(other.refused, /trained on base/);
    assert.equal((await store.reset()).removed, true);
    assert.equal(await store.current(), undefined);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

/**
 * The state letter of a process (R running, S sleeping, T stopped), as ps reports it, once it is
 * `wanted` or `withinMs` have passed: a signal takes effect when the process next leaves the
 * kernel, so one read right after SIGSTOP may still see it in a system call.
 */
async function processState(pid: number, wanted: string, withinMs: number): Promise<string> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const { stdout } = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)] })
      .output();
    const state = new TextDecoder().decode(stdout).trim()[0];
    if (state === wanted || Date.now() > deadline) return state;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

Deno.test({
  name:
    "a LoRA adapter trained on the project pauses for completions, loads and changes the output",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const root = await Deno.realPath(await Deno.makeTempDir());
    for (const file of zorbProject(40)) {
      await Deno.mkdir(join(root, "handlers"), { recursive: true });
      await Deno.writeTextFile(join(root, file.path), file.text);
    }
    const base = loadConfig();
    const config = {
      ...base,
      learning: {
        ...base.learning,
        adapter: {
          ...base.learning.adapter,
          idleMs: 1500,
          perFile: 2,
          heldoutPerFile: 2,
          maxTrainSamples: 24,
          maxHeldoutSamples: 12,
          accumulate: 1,
        },
      },
    };
    const engine = createEngine(config, log, { allowedRoots: [root] });
    const training = engine.adapters(root)!;
    try {
      engine.models.start();
      const generator = await engine.models.ready(new AbortController().signal, 60_000);
      const trained = training.train();
      // A completion request arrives mid-training: the trainer stops where it is.
      const stepAtPause = await waitFor(
        "the first training step",
        () =>
          (training.status().training?.step ?? 0) >= 1
            ? training.status().training!.step
            : undefined,
        240_000,
      );
      training.activity();
      const pid = training.processId!;
      assert.equal(training.status().training?.state, "paused");
      assert.equal(await processState(pid, "T", 2000), "T");
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.ok(training.status().training!.step <= stepAtPause + 1);
      // Idle again for idleMs: it goes on. Then the engine completes the held-out
      // lines before and with the candidate, and a request pauses that too.
      await waitFor(
        "the candidate's evaluation",
        () => training.status().training?.phase === "evaluating" || undefined,
        600_000,
      );
      training.activity();
      assert.equal(training.status().training?.state, "paused");
      const lineAtPause = training.status().training!.step;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.equal(training.status().training!.step, lineAtPause);
      const outcome = await trained;
      assert.ok(outcome.trained, JSON.stringify(outcome));
      assert.equal(outcome.kept, true, outcome.reason);
      const { heldoutLoss, heldoutExact } = outcome.manifest;
      assert.ok(heldoutLoss.candidate < heldoutLoss.base, JSON.stringify(heldoutLoss));
      assert.ok(heldoutExact.candidate >= heldoutExact.base, JSON.stringify(heldoutExact));
      const { completions } = outcome.manifest;
      assert.equal(completions?.lines, 12, JSON.stringify(completions));
      assert.ok(completions && completions.gained > completions.lost);
      assert.deepEqual((await training.store.lastEvaluation())?.completions, completions);
      const status = await training.refresh();
      assert.equal(status.state, "ready");
      assert.equal(status.version, outcome.manifest.version);

      const stored = (await training.store.current())!;
      for (const name of ["adapter.gguf", "adapter_model.safetensors", "manifest.json"]) {
        const { mode } = await Deno.stat(join(stored.dir, name));
        assert.equal(mode! & 0o077, 0, `${name} is private`);
      }

      // Through node-llama-cpp, the adapter changes what the model writes on a held-out file.
      const heldOut = zorbProject(40).find((file) => isHeldOut(file.path, sampling))!;
      const cut = heldOut.text.indexOf("return ") + "return ".length;
      const request = {
        prefix: heldOut.text.slice(0, cut),
        suffix: heldOut.text.slice(heldOut.text.indexOf("\n", cut)),
        path: heldOut.path,
        languageId: "python",
        multiline: false,
        context: [],
        repoName: "",
        maxTokens: 16,
        shouldStop: (text: string) => text.includes("\n"),
        signal: new AbortController().signal,
      };
      const without = await generator.generate(request);
      const withAdapter = await generator.generate({ ...request, adapter: training.adapterPath });
      assert.notEqual(withAdapter.text, without.text);
      assert.match(withAdapter.text, /^zorb_emit\(/, withAdapter.text);

      // A candidate that learns nothing is worse than the adapter in use: not kept.
      const again = await training.train({ learningRate: 1e-9 });
      assert.ok(again.trained, JSON.stringify(again));
      assert.equal(again.kept, false, again.reason);
      assert.ok(again.manifest.heldoutLoss.current! < again.manifest.heldoutLoss.candidate);
      // The trainer's measures refused it: the engine's minutes of completions were not spent.
      assert.equal(again.manifest.completions, undefined);
      assert.equal((await training.store.current())!.manifest.version, outcome.manifest.version);
      assert.equal((await training.store.lastEvaluation())!.kept, false);

      // On another base model, the adapter is refused.
      const refused = await training.store.forBase("0".repeat(64));
      assert.ok(refused && "refused" in refused);
    } finally {
      await engine.close();
      await Deno.remove(projectStateDir(config.cacheDir, root), { recursive: true }).catch(
        () => {},
      );
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "training waits for another project's on the machine, and a killed run resumes from its checkpoint",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const roots: string[] = [];
    for (let project = 0; project < 2; project++) {
      const root = await Deno.realPath(await Deno.makeTempDir());
      await Deno.mkdir(join(root, "handlers"));
      for (const file of zorbProject(40)) {
        await Deno.writeTextFile(join(root, file.path), file.text);
      }
      roots.push(root);
    }
    const base = loadConfig();
    const adapter = {
      ...base.learning.adapter,
      idleMs: 60_000,
      perFile: 2,
      maxTrainSamples: 24,
      maxHeldoutSamples: 4,
      accumulate: 1,
    };
    const config = { ...base, learning: { ...base.learning, adapter } };
    const engine = createEngine(config, log, { allowedRoots: roots });
    const [first, second] = roots.map((root) => engine.adapters(root)!);
    // The trainer's step (after its steps the candidate's evaluation counts lines).
    const step = (training: typeof first) => {
      const progress = training.status().training;
      return progress?.phase === "training" ? progress.step : 0;
    };
    try {
      engine.models.start();
      await engine.models.ready(new AbortController().signal, 60_000);
      // 24 steps, a checkpoint every 5: past step 5 the first is on disk.
      const killed = first.train();
      await waitFor("step 6", () => step(first) >= 6 || undefined, 300_000);
      const waiting = second.train();
      await new Promise((resolve) => setTimeout(resolve, 2000));
      assert.ok(second.training, "the second project's training is under way");
      assert.equal(second.processId, undefined, "but its trainer waits for the first's");
      Deno.kill(first.processId!, "SIGKILL");
      const outcome = await killed;
      assert.equal(outcome.trained, false);
      assert.match(outcome.reason, /stopped by SIGKILL/);
      // The machine is free: the second starts now. It is stopped too, to keep the test short.
      const secondPid = await waitFor("the second trainer", () => second.processId, 30_000);
      Deno.kill(secondPid, "SIGKILL");
      assert.equal((await waiting).trained, false);

      // Run again on the same material: it goes on from checkpoint 5, never back to step 1.
      const resumed = first.train();
      const steps: number[] = [];
      const watch = setInterval(() => step(first) > 0 && steps.push(step(first)), 50);
      const done = await resumed.finally(() => clearInterval(watch));
      assert.ok(done.trained, JSON.stringify(done));
      assert.ok(steps.length > 0 && Math.min(...steps) > 5, `steps seen: ${steps.join(",")}`);
    } finally {
      await engine.close();
      for (const root of roots) {
        await Deno.remove(projectStateDir(config.cacheDir, root), { recursive: true }).catch(
          () => {},
        );
        await Deno.remove(root, { recursive: true });
      }
    }
  },
});
