/**
 * Learning from the user: for now, the feedback log it will learn from.
 *
 * @module
 */
export {
  FEEDBACK_FIELD_CAPS,
  FEEDBACK_LOG_MAX_BYTES,
  type FeedbackEvent,
  FeedbackLog,
  type TruncatableField,
} from "./feedback_log.ts";
