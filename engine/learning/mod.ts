/**
 * Learning from the user: for now, the feedback log it will learn from.
 *
 * @module
 */
export { type FeedbackEvent, FeedbackLog, projectStateDir } from "./feedback_log.ts";
