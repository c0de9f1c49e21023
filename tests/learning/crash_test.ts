/**
 * The feedback log survives kill -9: a real process appending in a loop is
 * killed with SIGKILL, then the log is read and appended to again.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FeedbackLog, type LearningEvent } from "../../engine/learning/mod.ts";

const LOOP = new URL("./_append_loop.ts", import.meta.url).pathname;

/** Starts the loop, lets it append `count` events, kills it with SIGKILL; the ids it printed. */
async function appendThenKill(dir: string, first: number, count: number): Promise<number[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-sys=uid", LOOP, dir, String(first)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const acked: number[] = [];
  let pending = "";
  const decoder = new TextDecoder();
  let killed = false;
  // Read to the end: the ids printed before the kill that were still in the pipe count too.
  for await (const chunk of child.stdout) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop()!;
    acked.push(...lines.map(Number));
    if (!killed && acked.length >= count) {
      child.kill("SIGKILL");
      killed = true;
    }
  }
  const status = await child.status;
  assert.equal(status.signal, "SIGKILL", "the loop died by SIGKILL, not by an error");
  return acked;
}

function ids(events: LearningEvent[]): number[] {
  return events.map((event) => Number(event.id));
}

Deno.test("FeedbackLog survives kill -9 mid-write: whole events stay, at most one is lost", async () => {
  const dir = join(await Deno.makeTempDir({ prefix: "ast-complete-crash-" }), "p-1");
  let expected: number[] = [];
  // Each round starts a new process on the log the last one was killed writing, as a
  // restarted sidecar does.
  for (let round = 0; round < 3; round++) {
    const first = expected.length === 0 ? 0 : expected.at(-1)! + 1;
    const acked = await appendThenKill(dir, first, 40);
    assert.ok(acked.length >= 40);
    const read = ids(await new FeedbackLog(dir).readEvents());
    // Every acknowledged event is there, in order; the one in flight is there whole, or not at all.
    const last = acked.at(-1)!;
    const whole = [...expected, ...Array.from({ length: last - first + 1 }, (_, i) => first + i)];
    assert.ok(
      read.length === whole.length || read.length === whole.length + 1,
      `${read.length} events read after acknowledging ${whole.length}`,
    );
    assert.deepEqual(read.slice(0, whole.length), whole);
    if (read.length > whole.length) assert.equal(read.at(-1), last + 1);
    expected = read;
    if (round === 0) {
      // The kernel usually finishes a write of one line before the process dies; a kill inside
      // one leaves part of it, as here, and the next process must cut it before appending.
      const line = JSON.stringify({ kind: "shown", id: "torn", text: "x".repeat(20_000) });
      await Deno.writeTextFile(join(dir, "feedback.jsonl"), line.slice(0, 9000), { append: true });
    }
  }

  // Reopened here, appending goes on after whatever the last kill left.
  const log = new FeedbackLog(dir);
  const next = expected.at(-1)! + 1;
  await log.append({ ...(await log.readEvents())[0], id: String(next) });
  const text = await Deno.readTextFile(log.path);
  assert.ok(text.endsWith("\n"));
  const lines = text.slice(0, -1).split("\n");
  // No line is a torn event run into the next: every line on disk is a whole event.
  assert.deepEqual(lines.map((line) => Number(JSON.parse(line).id)), [...expected, next]);
  assert.equal((await log.status()).events.shown, expected.length + 1);
});
