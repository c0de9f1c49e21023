/** The join a learner reads the log through: each shown suggestion with what became of it. */
import assert from "node:assert/strict";
import {
  IGNORED_AFTER_MS,
  joinOutcomes,
  type OutcomeEvent,
  type ShownEvent,
} from "../../engine/learning/mod.ts";
import { outcome as outcomeEvent, shown as shownEvent } from "./_events.ts";

const NOW = Date.parse("2026-11-23T10:00:00.000Z");

function shown(id: string, msAgo: number): ShownEvent {
  return shownEvent({ id, time: new Date(NOW - msAgo).toISOString(), prefix: "func main() {\n\t" });
}

function outcome(id: string, overrides: Partial<OutcomeEvent> = {}): OutcomeEvent {
  return outcomeEvent({ id, time: new Date(NOW).toISOString(), msToOutcome: 900, ...overrides });
}

Deno.test("joinOutcomes() pairs each suggestion with its outcome, in the order shown", () => {
  const joined = joinOutcomes([
    shown("a", 5000),
    shown("p", 4000),
    shown("r", 3000),
    outcome("r", { outcome: "rejected", msToOutcome: 2500 }),
    outcome("a", { msToOutcome: 700 }),
    outcome("p", { outcome: "partial", acceptedText: "fmt.", msToOutcome: 1500 }),
  ], NOW);
  assert.deepEqual(
    joined.map(({ shown, ...rest }) => ({ id: shown.id, ...rest })),
    [
      { id: "a", outcome: "accepted", msToOutcome: 700 },
      { id: "p", outcome: "partial", acceptedText: "fmt.", msToOutcome: 1500 },
      { id: "r", outcome: "rejected", msToOutcome: 2500 },
    ],
  );
  assert.equal(joined[0].shown.prefix, "func main() {\n\t", "the whole shown event comes along");
});

Deno.test("joinOutcomes() counts a suggestion unanswered past the bound as ignored, not before", () => {
  const joined = joinOutcomes([
    shown("stale", IGNORED_AFTER_MS),
    shown("open", IGNORED_AFTER_MS - 1),
  ], NOW);
  assert.deepEqual(joined.map((entry) => [entry.shown.id, entry.outcome, entry.msToOutcome]), [
    ["stale", "ignored", undefined],
  ]);
});

Deno.test("joinOutcomes() keeps the first outcome and drops outcomes without a shown event", () => {
  const joined = joinOutcomes([
    outcome("early"), // Reported before its shown event: its suggestion is not known yet.
    shown("early", 1000),
    shown("a", 1000),
    outcome("a", { outcome: "rejected" }),
    outcome("a", { outcome: "accepted" }),
    outcome("rotated-away"),
  ], NOW);
  assert.deepEqual(joined.map((entry) => [entry.shown.id, entry.outcome]), [["a", "rejected"]]);
});
