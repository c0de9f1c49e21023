/**
 * Appends shown events to the feedback log in a state folder, numbered from
 * a first id, forever, printing each id once its append has returned: the
 * process the kill -9 test kills mid-write.
 *
 *   deno run --allow-read --allow-write --allow-sys=uid _append_loop.ts STATE_DIR FIRST_ID
 */
import { FeedbackLog } from "../../engine/learning/mod.ts";

const [dir, first] = Deno.args;
const log = new FeedbackLog(dir);
// Lines of several pages, so that a kill can land inside the write of one.
const text = "x".repeat(16 * 1024);
const prefix = "p".repeat(1000);
for (let id = Number(first);; id++) {
  await log.append({
    kind: "shown",
    time: new Date().toISOString(),
    id: String(id),
    languageId: "python",
    path: "src/app.py",
    prefix,
    suffix: "",
    text,
    chars: text.length,
    lines: 1,
    contextUsed: 0,
    latencyMs: 1,
    cached: false,
  });
  console.log(id);
}
