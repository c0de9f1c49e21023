/**
 * The feedback log on disk: torn lines from a crash, bounded fields and
 * size, private modes, and a typed error when it cannot be written.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  FEEDBACK_FIELD_CAPS,
  FEEDBACK_LOG_MAX_BYTES,
  type FeedbackEvent,
  FeedbackLog,
} from "../../engine/learning/mod.ts";
import { ErrorCode } from "../../engine/protocol/mod.ts";
import { EngineError } from "../../engine/protocol/errors.ts";

function event(overrides: Partial<FeedbackEvent> = {}): FeedbackEvent {
  return {
    time: "2026-11-23T10:00:00.000Z",
    id: "c1",
    outcome: "accepted",
    text: "return a + b",
    languageId: "python",
    path: "src/add.py",
    ...overrides,
  };
}

async function stateDir(): Promise<string> {
  return join(await Deno.makeTempDir({ prefix: "ast-complete-feedback-" }), "projects", "p-1");
}

async function lines(path: string): Promise<FeedbackEvent[]> {
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
  const [big, small] = await lines(log.path);
  assert.equal(big.text, "t".repeat(FEEDBACK_FIELD_CAPS.text));
  assert.equal(big.acceptedText, "a".repeat(FEEDBACK_FIELD_CAPS.acceptedText));
  assert.equal(big.path.length, FEEDBACK_FIELD_CAPS.path);
  assert.equal(big.languageId.length, FEEDBACK_FIELD_CAPS.languageId);
  assert.deepEqual(big.truncated, ["text", "acceptedText", "languageId", "path"]);
  assert.equal(small.truncated, undefined, "an event within the caps is not marked");
  assert.ok((await Deno.stat(log.path)).size < 64 * 1024, "an 11 MB event takes under 64 KB");
});

Deno.test("FeedbackLog.append() never cuts a surrogate pair in half", async () => {
  const dir = await stateDir();
  const log = new FeedbackLog(dir);
  // "😀" is two UTF-16 units; the cap falls between them.
  await log.append(event({ text: `${"x".repeat(FEEDBACK_FIELD_CAPS.text - 1)}😀😀` }));
  const [line] = await lines(log.path);
  assert.equal(line.text, "x".repeat(FEEDBACK_FIELD_CAPS.text - 1));
});

Deno.test("FeedbackLog.append() rotates the log at its size cap, keeping one old generation", async () => {
  const dir = await stateDir();
  const log = new FeedbackLog(dir);
  const text = "y".repeat(FEEDBACK_FIELD_CAPS.text);
  // Ids of one width, so every line has the same length.
  const id = (index: number) => `e${String(index).padStart(5, "0")}`;
  const lineBytes = JSON.stringify(event({ id: id(0), text })).length + 1;
  const perFile = Math.floor(FEEDBACK_LOG_MAX_BYTES / lineBytes);
  // Two and a half files' worth: the first generation must be gone.
  const total = perFile * 2 + Math.floor(perFile / 2);
  for (let index = 0; index < total; index++) await log.append(event({ id: id(index), text }));
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
