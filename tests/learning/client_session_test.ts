/**
 * A session records what learning needs: a shown event for each suggestion
 * it returns, an outcome event for each `feedback`, and answers
 * `learning/status` and `learning/reset`. The engine behind it is a fake
 * whose pipeline answers at once: no model is loaded.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig, projectStateDir } from "../../engine/config/mod.ts";
import {
  FEATURE_NAMES,
  FeedbackLog,
  MIN_UPDATES_TO_HIDE,
  type OutcomeEvent,
  type ShownEvent,
} from "../../engine/learning/mod.ts";
import { createLogger } from "../../engine/log/mod.ts";
import type { Completion, CompletionInput } from "../../engine/pipeline.ts";
import { ErrorCode } from "../../engine/protocol/mod.ts";
import { EngineError } from "../../engine/protocol/errors.ts";
import { ClientSession, type Engine } from "../../engine/session/mod.ts";
import { shown as expectedShown } from "./_events.ts";

const TEXT = "def add(a, b):\n    \n";
const POSITION = { line: 1, character: 4 };

/**
 * A session on a fresh workspace and cache, whose pipeline answers `answers`
 * in turn; `filter`, when given, is the project's saved filter state.
 */
async function sessionWith(
  answers: string[],
  filter?: { threshold: number; on: boolean },
  adapter?: unknown,
) {
  const root = await Deno.makeTempDir({ prefix: "ast-complete-session-" });
  const workspace = join(root, "project");
  const config = loadConfig({ cacheDir: join(root, "cache") });
  if (filter) {
    const dir = projectStateDir(config.cacheDir, workspace);
    await Deno.mkdir(dir, { recursive: true });
    const weights = new Array(FEATURE_NAMES.length).fill(0);
    await Deno.writeTextFile(
      join(dir, "filter.json"),
      JSON.stringify({ weights, threshold: filter.threshold, updates: MIN_UPDATES_TO_HIDE }),
    );
    config.learning.filter = filter.on;
  }
  const inputs: CompletionInput[] = [];
  const engine = {
    config,
    log: createLogger("test", "error"),
    projects: { get: () => undefined },
    pipeline: {
      complete: (input: CompletionInput): Promise<Completion> => {
        inputs.push(input);
        return Promise.resolve({
          text: answers.shift() ?? "",
          timings: {
            astMs: 1,
            retrieveMs: 2,
            promptMs: 3,
            generateMs: 30,
            totalMs: 36,
            promptTokens: 100,
            reusedTokens: 0,
            generatedTokens: 5,
            cached: false,
          },
          context: [{ path: "util.py", startLine: 1, endLine: 3, score: 0.5, kind: "similar" }],
        });
      },
    },
    defaultWorkspace: workspace,
    // Adapters off unless a test brings one: most are about the log and the filter.
    adapters: () => adapter,
    status: () => ({}),
  } as unknown as Engine;
  const log = new FeedbackLog(projectStateDir(config.cacheDir, workspace));
  return { session: new ClientSession(engine), log, workspace, inputs };
}

Deno.test("ClientSession records a shown event per suggestion and joins the outcome", async () => {
  const { session, log, workspace } = await sessionWith(["return a + b", "pass"]);
  const uri = `file://${workspace}/src/add.py`;
  const first = await session.complete(
    { uri, text: TEXT, position: POSITION },
    new AbortController().signal,
  );
  await new Promise((resolve) => setTimeout(resolve, 25));
  await session.feedback({ id: first.id, outcome: "partial", acceptedText: "return" });
  const second = await session.complete(
    { uri, text: TEXT, position: POSITION },
    new AbortController().signal,
  );

  const status = await session.learningStatus();
  assert.deepEqual(status.events, { shown: 2, accepted: 0, partial: 1, rejected: 0, ignored: 0 });
  assert.deepEqual(session.status().learning, { events: status.events, filter: status.filter });

  const [shown, outcome, next] = await log.readEvents() as [ShownEvent, OutcomeEvent, ShownEvent];
  assert.deepEqual(
    shown,
    expectedShown({ time: shown.time, id: first.id, contextUsed: 1, latencyMs: 36 }),
  );
  assert.equal(outcome.kind, "outcome");
  assert.deepEqual([outcome.id, outcome.outcome, outcome.acceptedText, outcome.text], [
    first.id,
    "partial",
    "return",
    "return a + b",
  ]);
  assert.ok(outcome.msToOutcome >= 25, `${outcome.msToOutcome} ms from shown to outcome`);
  assert.equal(next.id, second.id);
  assert.equal(next.previousOutcome?.outcome, "partial");
  assert.ok(next.previousOutcome!.msBefore >= 0);
  assert.ok(Date.parse(next.time) - Date.parse(outcome.time) === next.previousOutcome!.msBefore);
});

Deno.test("ClientSession records nothing for an empty completion", async () => {
  const { session, workspace } = await sessionWith([""]);
  const result = await session.complete(
    { uri: `file://${workspace}/a.py`, text: TEXT, position: POSITION },
    new AbortController().signal,
  );
  assert.deepEqual(result.items, []);
  assert.equal((await session.learningStatus()).events.shown, 0);
  await assert.rejects(
    session.feedback({ id: result.id, outcome: "rejected" }),
    (error: Error) => error instanceof EngineError && error.code === ErrorCode.InvalidParams,
  );
});

Deno.test("ClientSession.resetLearning() erases the events and forgets the suggestions shown", async () => {
  const { session, log, workspace } = await sessionWith(["return a + b"]);
  const result = await session.complete(
    { uri: `file://${workspace}/a.py`, text: TEXT, position: POSITION },
    new AbortController().signal,
  );
  await session.feedback({ id: result.id, outcome: "accepted" });
  assert.equal((await session.learningStatus()).filter.updates, 1, "the filter learned from it");
  const erased = await session.resetLearning();
  assert.deepEqual(erased.files, ["feedback.jsonl", "filter.json"]);
  assert.equal((await session.learningStatus()).filter.updates, 0, "and forgot it");
  assert.deepEqual(erased.events, { shown: 1, accepted: 1, partial: 0, rejected: 0, ignored: 0 });
  assert.deepEqual(await log.readEvents(), []);
  // Its outcome cannot be recorded after the reset: the suggestion is forgotten.
  await assert.rejects(
    session.feedback({ id: result.id, outcome: "accepted" }),
    (error: Error) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.code, ErrorCode.InvalidParams);
      assert.match(error.message, /unknown completion id/);
      return true;
    },
  );
  assert.deepEqual(await log.readEvents(), []);
});

Deno.test("ClientSession hides what the filter judges unlikely to be kept, and says why", async () => {
  // A neutral filter gives every suggestion 50%; a threshold of 0.9 hides it.
  const { session, log, workspace } = await sessionWith(["return a + b", "pass"], {
    threshold: 0.9,
    on: true,
  });
  const uri = `file://${workspace}/a.py`;
  const result = await session.complete(
    { uri, text: TEXT, position: POSITION },
    new AbortController().signal,
  );
  assert.deepEqual(result.items, []);
  assert.deepEqual(result.filtered, {
    probability: 0.5,
    reason: "filtered: 50% likely to be kept",
  });
  assert.deepEqual(await log.readEvents(), [], "a hidden suggestion was never shown");
  const status = await session.learningStatus();
  assert.deepEqual([status.filter.state, status.filter.hidden, status.filter.shown], ["on", 1, 0]);

  // Off, the same filter lets everything through.
  const off = await sessionWith(["return a + b"], { threshold: 0.9, on: false });
  const shown = await off.session.complete(
    { uri: `file://${off.workspace}/a.py`, text: TEXT, position: POSITION },
    new AbortController().signal,
  );
  assert.equal(shown.items[0].text, "return a + b");
  assert.equal(shown.filtered, undefined);
  assert.equal((await off.session.learningStatus()).filter.state, "off");
});

Deno.test("ClientSession: with adapters off, learning/train says so and status says why", async () => {
  const { session } = await sessionWith([]);
  assert.deepEqual(session.trainAdapter(), {
    started: false,
    reason: "adapters are off (AST_COMPLETE_ADAPTER=off)",
  });
  const status = await session.learningStatus();
  assert.deepEqual(status.adapter, {
    state: "off",
    reason: "adapters are off (AST_COMPLETE_ADAPTER=off)",
  });
});

Deno.test("ClientSession: a completion pauses the adapter's training and is made with its adapter", async () => {
  const calls: string[] = [];
  const adapter = {
    activity: () => calls.push("activity"),
    get adapterPath() {
      calls.push("adapterPath");
      return "/state/adapters/v2/adapter.gguf";
    },
  };
  const { session, workspace, inputs } = await sessionWith(["return a + b"], undefined, adapter);
  const uri = `file://${workspace}/src/add.py`;
  await session.complete({ uri, text: TEXT, position: POSITION }, new AbortController().signal);
  // Training stops before the request is served, and the request names the adapter.
  assert.deepEqual(calls, ["activity", "adapterPath"]);
  assert.equal(inputs[0].adapter, "/state/adapters/v2/adapter.gguf");
});
