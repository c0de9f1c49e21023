/**
 * The feedback log on disk: torn lines from a crash, bounded fields and
 * size, private modes, a typed error when it cannot be written, and the
 * counts, reads and erasure learning goes through.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  EVENT_FIELD_CAPS,
  FEEDBACK_LOG_MAX_BYTES,
  FeedbackLog,
  IGNORED_AFTER_MS,
  type LearningEvent,
  type OutcomeEvent,
  type ShownEvent,
} from "../../engine/learning/mod.ts";
import { outcome as event, shown } from "./_events.ts";
import { ErrorCode } from "../../engine/protocol/mod.ts";
import { EngineError } from "../../engine/protocol/errors.ts";

async function stateDir(): Promise<string> {
  return join(await Deno.makeTempDir({ prefix: "ast-complete-feedback-" }), "projects", "p-1");
}

async function lines(path: string): Promise<LearningEvent[]> {
  const text = await Deno.readTextFile(path);
  assert.ok(text.endsWith("\n"), "the log ends with a whole line");
  return text.slice(0, -1).split("\n").map((line) => JSON.parse(line));
}

Deno.test("FeedbackLog.append() cuts a line torn by a crash before appending", async () => {
  const dir = await stateDir();
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, "feedback.jsonl");
  // One whole event, then part of the next, as a SIGKILL mid-append leaves them.
  const whole = JSON.stringify(event({ id: "before" }));
  await Deno.writeTextFile(path, `${whole}\n${whole.slice(0, 40)}`);
  await new FeedbackLog(dir).append(event({ id: "after" }));
  assert.deepEqual((await lines(path)).map((line) => line.id), ["before", "after"]);
});

Deno.test("FeedbackLog.append() starts its own line after one another process left torn", async () => {
  const log = new FeedbackLog(await stateDir());
  await log.append(event({ id: "before" }));
  // Another sidecar on the project, killed mid-write after this one opened the log.
  await Deno.writeTextFile(log.path, JSON.stringify(event({ id: "torn" })).slice(0, 40), {
    append: true,
  });
  await log.append(event({ id: "after" }));
  assert.deepEqual((await log.readEvents()).map((line) => line.id), ["before", "after"]);
  assert.ok(
    (await Deno.readTextFile(log.path)).endsWith(`${JSON.stringify(event({ id: "after" }))}\n`),
  );
});

Deno.test("FeedbackLog.append() cuts a torn first line longer than its read window", async () => {
  const dir = await stateDir();
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, "feedback.jsonl");
  await Deno.writeTextFile(path, `{"id":"torn","text":"${"x".repeat(200_000)}`);
  await new FeedbackLog(dir).append(event({ id: "after" }));
  assert.deepEqual((await lines(path)).map((line) => line.id), ["after"]);
});

Deno.test("FeedbackLog.append() cuts oversized fields at their caps and marks them", async () => {
  const dir = await stateDir();
  const log = new FeedbackLog(dir);
  await log.append(event({
    outcome: "partial",
    text: "t".repeat(1_000_000),
    acceptedText: "a".repeat(10_000_000),
    path: "p/".repeat(100_000),
    languageId: "l".repeat(10_000),
  }));
  await log.append(event({ id: "small" }));
  const [big, small] = await lines(log.path) as OutcomeEvent[];
  assert.equal(big.text, "t".repeat(EVENT_FIELD_CAPS.text));
  assert.equal(big.acceptedText, "a".repeat(EVENT_FIELD_CAPS.acceptedText));
  assert.equal(big.path.length, EVENT_FIELD_CAPS.path);
  assert.equal(big.languageId.length, EVENT_FIELD_CAPS.languageId);
  assert.deepEqual(big.truncated, ["text", "acceptedText", "languageId", "path"]);
  assert.equal(small.truncated, undefined, "an event within the caps is not marked");
  assert.ok((await Deno.stat(log.path)).size < 64 * 1024, "an 11 MB event takes under 64 KB");
});

Deno.test("FeedbackLog.append() keeps the end of an oversized prefix, the start of a suffix", async () => {
  const log = new FeedbackLog(await stateDir());
  await log.append(shown({ prefix: `${"a".repeat(5000)}END`, suffix: `START${"z".repeat(5000)}` }));
  const [line] = await lines(log.path) as ShownEvent[];
  assert.equal(line.prefix.length, EVENT_FIELD_CAPS.prefix);
  assert.ok(line.prefix.endsWith("aEND"), "the text nearest the cursor is kept");
  assert.equal(line.suffix, `START${"z".repeat(EVENT_FIELD_CAPS.suffix - 5)}`);
  assert.deepEqual(line.truncated, ["prefix", "suffix"]);
});

Deno.test("FeedbackLog.append() never cuts a surrogate pair in half", async () => {
  const dir = await stateDir();
  const log = new FeedbackLog(dir);
  // "😀" is two UTF-16 units; the cap falls between them.
  await log.append(event({ text: `${"x".repeat(EVENT_FIELD_CAPS.text - 1)}😀😀` }));
  const [line] = await lines(log.path);
  assert.equal(line.text, "x".repeat(EVENT_FIELD_CAPS.text - 1));
});

Deno.test("FeedbackLog.append() rotates the log at its size cap, keeping one old generation", async () => {
  const dir = await stateDir();
  const log = new FeedbackLog(dir);
  const text = "y".repeat(EVENT_FIELD_CAPS.text);
  // Ids of one width, so every line has the same length.
  const id = (index: number) => `e${String(index).padStart(5, "0")}`;
  // One time for all, so every line has the same length.
  const time = new Date().toISOString();
  const lineBytes = JSON.stringify(shown({ id: id(0), text, time })).length + 1;
  const perFile = Math.floor(FEEDBACK_LOG_MAX_BYTES / lineBytes);
  // Two and a half files' worth: the first generation must be gone.
  const total = perFile * 2 + Math.floor(perFile / 2);
  for (let index = 0; index < total; index++) {
    await log.append(shown({ id: id(index), text, time }));
  }
  const current = await lines(log.path);
  const rotated = await lines(log.rotatedPath);
  assert.equal(rotated.length, perFile);
  assert.equal(rotated[0].id, id(perFile), "the first generation went");
  assert.deepEqual(
    current.map((line) => line.id),
    Array.from({ length: total - 2 * perFile }, (_, index) => id(2 * perFile + index)),
  );
  assert.ok((await Deno.stat(log.rotatedPath)).size <= FEEDBACK_LOG_MAX_BYTES);
  assert.deepEqual(
    (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name).sort(),
    ["feedback.1.jsonl", "feedback.jsonl"],
  );
  assert.equal(log.counts()?.shown, rotated.length + current.length, "counts what is on disk");
});

Deno.test("FeedbackLog.append() keeps events of concurrent appends whole and in order", async () => {
  const dir = await stateDir();
  const logs = [new FeedbackLog(dir), new FeedbackLog(dir)];
  await Promise.all(
    Array.from({ length: 40 }, (_, index) => logs[index % 2].append(event({ id: `e${index}` }))),
  );
  assert.deepEqual(
    (await lines(logs[0].path)).map((line) => line.id),
    Array.from({ length: 40 }, (_, index) => `e${index}`),
  );
});

Deno.test("FeedbackLog.append() makes the folder 0700 and the file 0600", async () => {
  const dir = await stateDir();
  const log = new FeedbackLog(dir);
  await log.append(event());
  assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
  assert.equal((await Deno.stat(log.path)).mode! & 0o777, 0o600);
});

Deno.test("FeedbackLog.append() makes an existing 0644 file and 0755 folder private", async () => {
  const dir = await stateDir();
  await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
  await Deno.chmod(dir, 0o755);
  const path = join(dir, "feedback.jsonl");
  await Deno.writeTextFile(path, `${JSON.stringify(event({ id: "old" }))}\n`, { mode: 0o644 });
  await Deno.chmod(path, 0o644);
  const log = new FeedbackLog(dir);
  await log.append(event());
  assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.equal((await lines(path)).length, 2);
});

Deno.test("FeedbackLog.append() fails with StateUnwritable naming the file and the reason", async () => {
  const root = await Deno.makeTempDir({ prefix: "ast-complete-feedback-" });
  // Root ignores permission bits, so as root the state folder goes under a plain file (a
  // failure no permission can overcome); otherwise the cache is a read-only folder.
  let dir: string, reason: RegExp;
  if (Deno.uid() === 0) {
    await Deno.writeTextFile(join(root, "cache"), "a file, not a folder");
    dir = join(root, "cache", "projects", "p-1");
    reason = /: not a directory$/;
  } else {
    await Deno.mkdir(join(root, "cache"), { mode: 0o500 });
    await Deno.chmod(join(root, "cache"), 0o500);
    dir = join(root, "cache", "projects", "p-1");
    reason = /: permission denied$/;
  }
  const log = new FeedbackLog(dir);
  const before = log.lastError;
  assert.equal(before, undefined);
  await assert.rejects(log.append(event()), (error: Error) => {
    assert.ok(error instanceof EngineError);
    assert.equal(error.code, ErrorCode.StateUnwritable);
    assert.ok(error.message.startsWith(`Cannot write the feedback log ${log.path}: `));
    assert.match(error.message, reason);
    return true;
  });
  assert.equal(log.lastError?.code, ErrorCode.StateUnwritable);
  assert.match(log.lastError?.message ?? "", reason);
});

Deno.test("FeedbackLog.lastError clears once an append succeeds again", async () => {
  const dir = await stateDir();
  const log = new FeedbackLog(dir);
  // The log's own path taken by a folder: the append fails whoever runs the test.
  await Deno.mkdir(log.path, { recursive: true });
  await assert.rejects(log.append(event()), (error: EngineError) => {
    assert.ok(error instanceof EngineError);
    assert.equal(error.code, ErrorCode.StateUnwritable);
    return true;
  });
  assert.match(log.lastError?.message ?? "", /feedback\.jsonl: is a directory$/);
  await Deno.remove(log.path);
  await log.append(event());
  assert.equal(log.lastError, undefined);
  assert.equal((await lines(log.path)).length, 1);
});

Deno.test("FeedbackLog.status() counts shown suggestions by their first outcome", async () => {
  const log = new FeedbackLog(await stateDir());
  const old = new Date(Date.now() - IGNORED_AFTER_MS - 1000).toISOString();
  await log.append(shown({ id: "a" }));
  await log.append(shown({ id: "p" }));
  await log.append(shown({ id: "r" }));
  await log.append(shown({ id: "open" }));
  await log.append(shown({ id: "stale", time: old }));
  await log.append(event({ id: "a", outcome: "accepted" }));
  await log.append(event({ id: "a", outcome: "rejected" })); // A second report does not count.
  await log.append(event({ id: "p", outcome: "partial", acceptedText: "return" }));
  await log.append(event({ id: "r", outcome: "rejected" }));
  await log.append(event({ id: "gone", outcome: "accepted" })); // Its shown event rotated away.
  const status = await log.status();
  assert.deepEqual(status.events, { shown: 5, accepted: 1, partial: 1, rejected: 1, ignored: 1 });
  assert.equal(status.bytes, (await Deno.stat(log.path)).size);
  assert.deepEqual(log.counts(), status.events, "status reads what counts() reports");
});

Deno.test("FeedbackLog.counts() follows appends by another process and a reset by another", async () => {
  const dir = await stateDir();
  const log = new FeedbackLog(dir);
  assert.equal(log.counts(), undefined, "nothing is known before the log is read");
  await log.append(shown({ id: "mine" }));
  assert.equal(log.counts()?.shown, 1);
  // Another process appends (no queue or tally of this one knows), with a line it is still
  // writing: the whole line counts, the part waits.
  const theirs = `${JSON.stringify(shown({ id: "theirs" }))}\n`;
  const partial = JSON.stringify(event({ id: "theirs" }));
  await Deno.writeTextFile(log.path, theirs + partial.slice(0, 30), { append: true });
  await log.refresh();
  assert.deepEqual([log.counts()?.shown, log.counts()?.accepted], [2, 0]);
  await Deno.writeTextFile(log.path, `${partial.slice(30)}\n`, { append: true });
  await log.refresh();
  assert.deepEqual([log.counts()?.shown, log.counts()?.accepted], [2, 1]);
  // `learn reset` from the command line, then a new file: counted afresh, not from the old offset.
  await Deno.remove(log.path);
  await Deno.writeTextFile(log.path, `${JSON.stringify(shown({ id: "new" }))}\n`);
  await log.refresh();
  assert.deepEqual([log.counts()?.shown, log.counts()?.accepted], [1, 0]);
});

Deno.test("FeedbackLog.readEvents() reads both generations in order and skips damaged lines", async () => {
  const dir = await stateDir();
  const log = new FeedbackLog(dir);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    log.rotatedPath,
    `${JSON.stringify(shown({ id: "older" }))}\nnot json\n`,
  );
  await Deno.writeTextFile(
    log.path,
    [
      JSON.stringify({ kind: "mystery", id: "x", time: "2026-01-01T00:00:00Z" }),
      JSON.stringify(event({ id: "older" })),
      JSON.stringify(shown({ id: "torn" })).slice(0, 50),
    ].join("\n"),
  );
  const events = await log.readEvents();
  assert.deepEqual(events.map((event) => [event.kind, event.id]), [
    ["shown", "older"],
    ["outcome", "older"],
  ]);
});

Deno.test("FeedbackLog.reset() erases both generations and says what they held", async () => {
  const dir = await stateDir();
  const log = new FeedbackLog(dir);
  // An older generation from an earlier run, then this run's events.
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(log.rotatedPath, `${JSON.stringify(shown({ id: "b" }))}\n`);
  await log.append(shown({ id: "a" }));
  await log.append(event({ id: "a" }));
  const bytes = (await Deno.stat(log.path)).size + (await Deno.stat(log.rotatedPath)).size;
  await Deno.writeTextFile(join(dir, "index.sqlite"), "the project's index stays");

  const erased = await log.reset();
  assert.deepEqual(erased, {
    files: ["feedback.jsonl", "feedback.1.jsonl"],
    bytes,
    events: { shown: 2, accepted: 1, partial: 0, rejected: 0, ignored: 0 },
  });
  assert.deepEqual(
    (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name),
    ["index.sqlite"],
  );
  assert.deepEqual(await log.readEvents(), []);
  assert.equal((await log.status()).bytes, 0);
  assert.deepEqual(await log.reset(), {
    files: [],
    bytes: 0,
    events: { shown: 0, accepted: 0, partial: 0, rejected: 0, ignored: 0 },
  });
  // Appending goes on, into a private file again.
  await log.append(shown({ id: "after" }));
  assert.equal((await Deno.stat(log.path)).mode! & 0o777, 0o600);
  assert.deepEqual((await log.readEvents()).map((event) => event.id), ["after"]);
});

for (const [method, action] of [["status", "read"], ["reset", "erase"]] as const) {
  Deno.test(`FeedbackLog.${method}() fails with StateUnwritable naming the file and the reason`, async () => {
    const log = new FeedbackLog(await stateDir());
    // A folder where the log should be: it can be neither read nor removed, whoever runs the test.
    await Deno.mkdir(join(log.path, "inside"), { recursive: true });
    await assert.rejects(log[method](), (error: Error) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.code, ErrorCode.StateUnwritable);
      assert.match(
        error.message,
        new RegExp(`^Cannot ${action} the feedback log .*feedback\\.jsonl: `),
      );
      return true;
    });
  });
}
