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

Deno.test("joinOutcomes() keeps the one of a quick suggestion and its full one that was on screen", () => {
  const at = (id: string, text: string, shortened?: true) =>
    shownEvent({
      id,
      // Long enough ago that one left unanswered would count as ignored.
      time: new Date(NOW - IGNORED_AFTER_MS).toISOString(),
      prefix: "x = ",
      text,
      shortened,
    });
  const joined = joinOutcomes([
    // The full one differs: the editor showed it in the quick one's place.
    at("q1", "1", true),
    at("f1", "compute(x)"),
    outcome("f1"),
    // The same text: the quick one stayed on screen.
    at("q2", "y", true),
    at("f2", "y"),
    outcome("q2", { outcome: "rejected" }),
    // Answered before its full one came: both are the user's.
    at("q3", "z", true),
    outcome("q3", { outcome: "rejected" }),
    at("f3", "zz"),
    outcome("f3", { outcome: "rejected" }),
  ], NOW);
  assert.deepEqual(joined.map((entry) => [entry.shown.id, entry.outcome]), [
    ["f1", "accepted"],
    ["q2", "rejected"],
    ["q3", "rejected"],
    ["f3", "rejected"],
  ]);
});
