/**
 * The VS Code extension's client, outside VS Code: handshake parsing, connect
 * retry, restart backoff, the feedback state machine, and the supervisor
 * against the real sidecar started from this repository with the real model
 * (completion, feedback on disk, restart after a kill, no orphan at stop).
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../engine/config/mod.ts";
import type { StatusRequest } from "../../engine/protocol/mod.ts";
import { createServer } from "node:net";
import { join } from "node:path";
import { FeedbackTracker } from "../../adapters/vscode/src/feedback.ts";
import {
  connectWithRetry,
  parseHandshakeLine,
  RestartBackoff,
  sidecarCommand,
  startSidecar,
} from "../../adapters/vscode/src/launch.ts";
import {
  adapterLine,
  forgottenMessage,
  learningLine,
  statusView,
  trainMessage,
} from "../../adapters/vscode/src/status_view.ts";
import { SidecarSupervisor, type SupervisorState } from "../../adapters/vscode/src/supervisor.ts";
import { tempCacheDir } from "../_helpers/sidecar.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("the handshake line must be a socket path", () => {
  assert.equal(
    parseHandshakeLine("/run/user/0/ast-complete-0/sidecar-12.sock\r"),
    "/run/user/0/ast-complete-0/sidecar-12.sock",
  );
  assert.equal(parseHandshakeLine("\\\\.\\pipe\\ast-complete-12"), "\\\\.\\pipe\\ast-complete-12");
  assert.throws(() => parseHandshakeLine(""), /printed "" where its socket path belongs/);
  assert.throws(() => parseHandshakeLine("Loading model..."), /Loading model/);
  assert.throws(() => parseHandshakeLine("relative/sidecar.sock"), /socket path belongs/);
});

Deno.test("the sidecar command: configured path, bundled binary, then a repository checkout", () => {
  const settings = {
    sidecarPath: "",
    repositoryPath: ROOT,
    denoPath: "/opt/deno",
    model: "tiny",
    workspaceRoot: "/work/project",
    extensionDir: "/ext",
  };
  const repository = sidecarCommand(settings);
  assert.equal(repository.source, "repository");
  assert.equal(repository.command, "/opt/deno");
  assert.equal(repository.cwd, ROOT);
  assert.deepEqual(repository.args.slice(-7), [
    "main.ts",
    "serve",
    "--exit-with-stdin",
    "--workspace",
    "/work/project",
    "--model",
    "tiny",
  ]);
  assert.ok(repository.args.includes("--allow-ffi"), "the start task's own flags");

  const bundled = sidecarCommand(
    settings,
    (path) => path === "/ext/bin/ast-complete" || path.endsWith("deno.json"),
  );
  assert.deepEqual([bundled.source, bundled.command], ["bundled", "/ext/bin/ast-complete"]);

  const configured = sidecarCommand(
    { ...settings, sidecarPath: "/usr/local/bin/ast-complete" },
    () => true,
  );
  assert.deepEqual([configured.source, configured.args[0]], ["configured", "serve"]);
  assert.throws(
    () => sidecarCommand({ ...settings, sidecarPath: "/nowhere/ast-complete" }),
    /astComplete.sidecarPath is \/nowhere\/ast-complete, which does not exist/,
  );
  assert.throws(
    () => sidecarCommand({ ...settings, repositoryPath: "" }, () => false),
    /No sidecar found/,
  );
});

Deno.test("connectWithRetry waits for a socket that appears late, and gives up on a dead sidecar", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "late.sock");
  const server = createServer((socket) => socket.end());
  setTimeout(() => server.listen(path), 300);
  const { socket, attempts } = await connectWithRetry(path, { timeoutMs: 5000, firstDelayMs: 20 });
  socket.destroy();
  server.close();
  assert.ok(attempts > 1, `retried (${attempts} attempts)`);

  await assert.rejects(
    connectWithRetry(join(dir, "never.sock"), { timeoutMs: 5000, alive: () => false }),
    /exited before .*never.sock accepted a connection/,
  );
  const started = Date.now();
  await assert.rejects(
    connectWithRetry(join(dir, "never.sock"), { timeoutMs: 300, firstDelayMs: 20 }),
    /Cannot connect to .*never.sock after \d+ attempts/,
  );
  assert.ok(Date.now() - started < 2000, "gives up near its timeout");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restart backoff doubles to 30 s and starts over after a long run", () => {
  const backoff = new RestartBackoff();
  const delays = [1, 2, 3, 4, 5, 6, 7].map(() => backoff.next(500));
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  assert.equal(backoff.next(120_000), 1000);
});

Deno.test("feedback: accepted, partial, rejected, each suggestion settled once", async (t) => {
  const uri = "file:///p/a.py";
  await t.step("accepted through the item's command, after VS Code inserted it", () => {
    const tracker = new FeedbackTracker();
    assert.deepEqual(tracker.shown("c1", uri, 10, "foo(bar)"), []);
    assert.deepEqual(tracker.edited(uri, 10, 0, "foo(bar)"), []);
    assert.deepEqual(tracker.cursorAt(uri, 18), [], "the cursor after the insertion keeps it open");
    assert.deepEqual(tracker.accepted("c1"), [{ id: "c1", outcome: "accepted" }]);
    assert.deepEqual(tracker.accepted("c1"), [], "only once");
    assert.deepEqual(tracker.dismissed(), []);
  });
  await t.step("partial: a word accepted, then the user types something else", () => {
    const tracker = new FeedbackTracker();
    tracker.shown("c2", uri, 0, "total = price * count");
    assert.deepEqual(tracker.edited(uri, 0, 0, "total "), []);
    assert.deepEqual(tracker.edited(uri, 6, 0, "+"), [
      { id: "c2", outcome: "partial", acceptedText: "total " },
    ]);
  });
  await t.step("rejected: typed over, dismissed, moved away, or replaced", () => {
    const tracker = new FeedbackTracker();
    tracker.shown("c3", uri, 5, "return x");
    assert.deepEqual(tracker.edited(uri, 5, 0, "y"), [{ id: "c3", outcome: "rejected" }]);
    tracker.shown("c4", uri, 5, "return x");
    assert.deepEqual(tracker.dismissed(), [{ id: "c4", outcome: "rejected" }]);
    tracker.shown("c5", uri, 5, "return x");
    assert.deepEqual(tracker.cursorAt(uri, 40), [{ id: "c5", outcome: "rejected" }]);
    tracker.shown("c6", uri, 5, "return x");
    assert.deepEqual(tracker.shown("c7", uri, 5, "return y"), [{ id: "c6", outcome: "rejected" }]);
    assert.deepEqual(
      tracker.shown("c7", uri, 5, "return y"),
      [],
      "the same suggestion shown again",
    );
    assert.deepEqual(
      tracker.edited("file:///p/other.py", 0, 0, "z"),
      [],
      "other documents do not count",
    );
  });
  await t.step("a quick suggestion replaced in place by its full one gets no outcome", () => {
    const tracker = new FeedbackTracker();
    tracker.shown("q1", uri, 5, "return");
    assert.deepEqual(tracker.shown("f1", uri, 5, "return x * 2", "q1"), []);
    assert.deepEqual(tracker.accepted("f1"), [{ id: "f1", outcome: "accepted" }]);
    // Not in place (the cursor moved) or not the one it replaces: settled as any other.
    tracker.shown("q2", uri, 5, "return");
    assert.deepEqual(tracker.shown("f2", uri, 9, "x * 2", "q2"), [
      { id: "q2", outcome: "rejected" },
    ]);
    assert.deepEqual(tracker.shown("f3", uri, 9, "y", "q2"), [{ id: "f2", outcome: "rejected" }]);
    // Part of it typed through: kept, so the user's outcome is reported.
    tracker.shown("q3", uri, 0, "items");
    tracker.edited(uri, 0, 0, "it");
    assert.deepEqual(tracker.shown("f4", uri, 0, "items.append(x)", "q3"), [
      { id: "q3", outcome: "partial", acceptedText: "it" },
    ]);
  });
  await t.step(
    "typing through keeps what was typed, then the rest arrives as a new suggestion",
    () => {
      const tracker = new FeedbackTracker();
      tracker.shown("c8", uri, 0, "items.append(x)");
      for (const [offset, key] of [[0, "i"], [1, "t"], [2, "e"]] as const) {
        assert.deepEqual(tracker.edited(uri, offset, 0, key), []);
      }
      assert.deepEqual(tracker.shown("c9", uri, 3, "ms.append(x)"), [
        { id: "c8", outcome: "partial", acceptedText: "ite" },
      ]);
    },
  );
});

Deno.test("status bar words for each state", () => {
  const status = (
    state: "loading" | "ready",
    index: "idle" | "indexing",
    files = 40,
    pending = 60,
  ) => ({
    phase: "running" as const,
    status: {
      state,
      models: [{ role: "generator", name: "qwen", loaded: state === "ready" }],
      index: {
        files,
        chunks: 100,
        pending,
        vectorsPending: 0,
        state: index,
        watching: "events" as const,
      },
      documents: { documents: 1, chars: 100 },
      connections: 1,
      limits: { ...loadConfig().limits, maxDocumentBytes: 1 << 20, maxIndexedFileBytes: 1 << 19 },
    },
  });
  assert.equal(
    statusView(status("loading", "idle"), true, undefined).label,
    "ast-complete: loading model",
  );
  assert.equal(
    statusView(status("ready", "indexing"), true, undefined).label,
    "ast-complete: indexing 40%",
  );
  const ready = statusView(status("ready", "idle"), true, "file too large");
  assert.equal(ready.label, "ast-complete: ready");
  assert.equal(ready.text, "$(sparkle) ast-complete");
  assert.match(ready.detail, /Last suggestion not shown: file too large\./);
  assert.equal(
    statusView({ phase: "restarting", inMs: 2000, reason: "x" }, true, undefined).label,
    "ast-complete: restarting",
  );
  assert.equal(statusView(status("ready", "idle"), false, undefined).label, "ast-complete: off");
});

Deno.test("the status bar's detail says what the project learned, when the sidecar says", () => {
  const events = { shown: 120, accepted: 30, partial: 8, rejected: 60, ignored: 22 };
  const filter = { state: "on" as const, updates: 98, threshold: 0.2345, shown: 76, hidden: 14 };
  const running = (learning?: StatusRequest.Result["learning"]): SupervisorState => ({
    phase: "running",
    status: {
      state: "ready",
      models: [{ role: "generator", name: "qwen", loaded: true }],
      index: {
        files: 40,
        chunks: 100,
        pending: 0,
        vectorsPending: 0,
        state: "idle",
        watching: "events",
      },
      documents: { documents: 1, chars: 100 },
      connections: 1,
      limits: { ...loadConfig().limits, maxDocumentBytes: 1 << 20, maxIndexedFileBytes: 1 << 19 },
      ...(learning ? { learning } : {}),
    },
  });
  const line = "Learning: 120 shown, 30 accepted, 8 partial, 60 rejected; filter on: 14 hidden " +
    "of 90 judged (hides below 23%), learned from 98 outcomes.";
  const on = statusView(running({ events, filter }), true, "file too large").detail;
  assert.ok(on.includes(`\n${line}\n`), on);
  assert.match(on, /Last suggestion not shown: file too large\.$/);
  assert.equal(
    learningLine({ events, filter: { ...filter, state: "off", updates: 1 } }),
    "Learning: 120 shown, 30 accepted, 8 partial, 60 rejected; filter off (learning only), " +
      "learned from 1 outcome.",
  );
  assert.equal(
    learningLine({ events }),
    "Learning: 120 shown, 30 accepted, 8 partial, 60 rejected.",
  );
  const absent = statusView(running(), true, undefined).detail;
  assert.equal(absent, "ast-complete: ready (generator qwen); 40 files indexed, 0 pending.");
  // Turned off: the detail says so and nothing else.
  assert.doesNotMatch(statusView(running({ events }), false, undefined).detail, /Learning/);
  // The adapter's line follows the filter's, which stays as it was.
  const adapter = { state: "ready" as const, version: 3 };
  const both = statusView(running({ events, filter, adapter }), true, "file too large").detail;
  assert.ok(both.includes(`\n${line}\nAdapter: v3 in use.\nLast suggestion`), both);
  assert.doesNotMatch(statusView(running({ events, adapter }), false, undefined).detail, /Adapter/);
});

Deno.test("the status bar's detail says what the project's adapter is doing", () => {
  assert.equal(adapterLine({ state: "ready", version: 3 }), "Adapter: v3 in use.");
  assert.equal(
    adapterLine({
      state: "none",
      reason: "no adapter kept yet",
      training: { state: "paused", phase: "training", step: 12, steps: 80, etaSeconds: 290 },
    }),
    "Adapter: training 12/80 (paused), ~5 min left.",
  );
  assert.equal(
    adapterLine({
      state: "ready",
      version: 3,
      training: { state: "running", phase: "training", step: 0, steps: 80 },
    }),
    "Adapter: v3 in use; training 0/80.",
  );
  assert.equal(
    adapterLine({
      state: "none",
      training: { state: "running", phase: "training", step: 79, steps: 80, etaSeconds: 20 },
    }),
    "Adapter: training 79/80, under a minute left.",
  );
  assert.equal(
    adapterLine({
      state: "none",
      training: { state: "running", phase: "training", step: 1, steps: 80, etaSeconds: 5_000 },
    }),
    "Adapter: training 1/80, ~1 h 23 min left.",
  );
  // After its steps, the candidate's held-out lines are completed through the engine.
  assert.equal(
    adapterLine({
      state: "ready",
      version: 3,
      training: { state: "paused", phase: "evaluating", step: 30, steps: 120, etaSeconds: 130 },
    }),
    "Adapter: v3 in use; evaluating the candidate 30/120 (paused), ~2 min left.",
  );
  assert.equal(
    adapterLine({ state: "none", reason: "no adapter kept yet" }),
    "Adapter: none yet (no adapter kept yet).",
  );
  const setup = "the trainer's Python environment is not set up: run `deno task learn setup`";
  assert.equal(adapterLine({ state: "off", reason: setup }), `Adapter: off (${setup}).`);
  const evaluation = {
    at: "2025-01-01T00:00:00.000Z",
    version: 4,
    heldoutLoss: { base: 2, current: 1.8, candidate: 1.79 },
    heldoutExact: { base: 0.2, current: 0.25, candidate: 0.25 },
  };
  assert.equal(
    adapterLine({
      state: "ready",
      version: 3,
      lastEvaluation: {
        ...evaluation,
        kept: false,
        reason: "held-out loss 0.6% below the current adapter, exact 25.0% against 25.0%: " +
          "the loss fell less than 1.0%",
      },
    }),
    "Adapter: v3 in use; last candidate (v4) discarded: held-out loss 0.6% below the current " +
      "adapter, exact 25.0% against 25.0%: the loss fell less than 1.0%.",
  );
  // A kept candidate is the adapter in use: nothing more to say.
  assert.equal(
    adapterLine({
      state: "ready",
      version: 4,
      lastEvaluation: { ...evaluation, kept: true, reason: "held-out loss 10.5% below the base" },
    }),
    "Adapter: v4 in use.",
  );
});

Deno.test("training on request says whether it started, or why not", () => {
  assert.match(trainMessage({ started: true }), /^Training this project's adapter\./);
  assert.equal(
    trainMessage({ started: false, reason: "training is under way already" }),
    "Not training: training is under way already.",
  );
});

Deno.test("forgetting says what was erased", () => {
  const events = { shown: 120, accepted: 30, partial: 8, rejected: 60, ignored: 22 };
  assert.equal(
    forgottenMessage({ files: ["feedback.jsonl", "filter.json"], bytes: 49_152, events }),
    "Forgot 120 suggestions and their outcomes (48 KB).",
  );
  assert.equal(
    forgottenMessage({ files: ["feedback.jsonl"], bytes: 300, events: { ...events, shown: 1 } }),
    "Forgot 1 suggestion and their outcomes (300 bytes).",
  );
  assert.match(forgottenMessage({ files: [], bytes: 0, events }), /^Nothing to forget/);
});

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

Deno.test("the supervisor runs the real sidecar: completion, feedback, restart after a kill, clean stop", async () => {
  const cacheDir = await tempCacheDir();
  const runtimeDir = await Deno.makeTempDir({ prefix: "ast-complete-run-" });
  const workspace = await Deno.makeTempDir({ prefix: "ast-complete-ws-" });
  await Deno.writeTextFile(
    join(workspace, "prices.py"),
    "def total(prices):\n    return sum(prices)\n",
  );
  const states: SupervisorState[] = [];
  const waitFor = async (test: (state: SupervisorState) => boolean, what: string) => {
    for (let i = 0; i < 1800 && !test(states.at(-1) ?? { phase: "starting" }); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(test(states.at(-1)!), `${what}: ${JSON.stringify(states.at(-1))}`);
  };
  const ready = (state: SupervisorState) =>
    state.phase === "running" && state.status.state === "ready";
  const supervisorCommand = () =>
    sidecarCommand({
      sidecarPath: "",
      repositoryPath: ROOT,
      denoPath: Deno.execPath(),
      model: "",
      workspaceRoot: workspace,
      extensionDir: "/nonexistent",
    });
  const env = {
    ...Deno.env.toObject(),
    XDG_RUNTIME_DIR: runtimeDir,
    AST_COMPLETE_CACHE_DIR: cacheDir,
    NO_COLOR: "1",
  };
  const supervisor = new SidecarSupervisor({
    command: supervisorCommand,
    workspaceRoot: workspace,
    client: { name: "test" },
    env,
    log: () => undefined,
    onState: (state) => states.push(state),
  });
  try {
    await supervisor.start();
    await waitFor(ready, "ready");
    const uri = `file://${workspace}/main.py`;
    const text = "from prices import total\n\n\ndef checkout(cart):\n    amount = \n";
    const complete = async () => {
      supervisor.client!.sync({ uri, languageId: "python", version: 1, getText: () => text });
      return await supervisor.client!.complete({
        uri,
        position: { line: 4, character: 13 },
        maxLines: 1,
      });
    };
    const first = await complete();
    assert.ok(first.items[0]?.text.trim(), "a real completion");
    await supervisor.client!.feedback({ id: first.id, outcome: "accepted" });
    const projects = join(cacheDir, "projects");
    const [project] = await Array.fromAsync(Deno.readDir(projects));
    const log = await Deno.readTextFile(join(projects, project.name, "feedback.jsonl"));
    const event = JSON.parse(log.trim().split("\n").at(-1)!);
    assert.deepEqual([event.id, event.outcome, event.text], [
      first.id,
      "accepted",
      first.items[0].text,
    ]);

    const killed = supervisor.pid!;
    Deno.kill(killed, "SIGKILL");
    await waitFor((state) => state.phase === "restarting", "restarting after the kill");
    await waitFor((state) => ready(state) && supervisor.pid !== killed, "ready again");
    const again = await complete();
    assert.ok(again.items[0]?.text.trim(), "completions come back after the restart");

    // An editor that crashes never shuts the sidecar down; its closed stdin does.
    const orphan = await startSidecar(supervisorCommand(), { env, onLog: () => undefined });
    const exited = new Promise((resolve) => orphan.child.once("exit", resolve));
    orphan.socket.destroy();
    orphan.child.stdin!.destroy();
    const code = await Promise.race([
      exited,
      new Promise((resolve) => setTimeout(() => resolve("alive"), 20_000)),
    ]);
    assert.equal(code, 0, "the sidecar exits when its stdin closes");
  } finally {
    const pid = supervisor.pid;
    await supervisor.stop();
    assert.equal(states.at(-1)?.phase, "stopped");
    if (pid) assert.ok(!alive(pid), "no orphan sidecar after stop");
    for (const dir of [cacheDir, runtimeDir, workspace]) {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
