/** Events for the learning tests: a suggestion in src/add.py and its acceptance. */
import type { OutcomeEvent, ShownEvent } from "../../engine/learning/mod.ts";

/** A shown event, now, with `overrides`. */
export function shown(overrides: Partial<ShownEvent> = {}): ShownEvent {
  return {
    kind: "shown",
    time: new Date().toISOString(),
    id: "c1",
    languageId: "python",
    path: "src/add.py",
    prefix: "def add(a, b):\n    ",
    suffix: "\n",
    text: "return a + b",
    chars: 12,
    lines: 1,
    contextUsed: 0,
    latencyMs: 80,
    cached: false,
    ...overrides,
  };
}

/** An outcome event (accepted, 1.2 s after it was shown), with `overrides`. */
export function outcome(overrides: Partial<OutcomeEvent> = {}): OutcomeEvent {
  return {
    kind: "outcome",
    time: "2026-11-23T10:00:00.000Z",
    id: "c1",
    outcome: "accepted",
    msToOutcome: 1200,
    text: "return a + b",
    languageId: "python",
    path: "src/add.py",
    ...overrides,
  };
}
