/**
 * Learning from the user: for now, the event store it will learn from (what
 * was shown, what became of it) and the join a learner reads it through.
 *
 * @module
 */
export {
  EVENT_FIELD_CAPS,
  type LearningEvent,
  type Outcome,
  type OutcomeEvent,
  type ShownEvent,
  shownEvent,
  type ShownInput,
  type TruncatableField,
} from "./events.ts";
export { FEEDBACK_LOG_MAX_BYTES, FeedbackLog } from "./feedback_log.ts";
export { IGNORED_AFTER_MS, joinOutcomes, type Suggestion } from "./join.ts";
