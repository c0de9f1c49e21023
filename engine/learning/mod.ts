/**
 * Learning from the user: the event store (what was shown, what became of
 * it), the join a learner reads it through, the learned show/hide filter,
 * composed per project in ProjectLearning, and the project's LoRA adapter,
 * trained when the editor is idle (AdapterTraining).
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
export {
  chooseThreshold,
  FEATURE_NAMES,
  filterFeatures,
  type FilterInput,
  type FilterState,
  fitWeights,
  keptShare,
  MIN_UPDATES_TO_HIDE,
  PRIOR,
  SuggestionFilter,
} from "./filter.ts";
export { type Judged, ProjectLearning } from "./project_learning.ts";
export {
  adapterData,
  fileSamples,
  type FimSample,
  isHeldOut,
  type ProjectFile,
} from "./adapter_data.ts";
export {
  type AdapterManifest,
  AdapterStore,
  keepDecision,
  MAX_CHANCE,
  MIN_LOSS_GAIN,
  pairedCounts,
  signTestChance,
  type StoredAdapter,
} from "./adapter_store.ts";
export {
  AdapterTraining,
  type AdapterTrainingDeps,
  type BaseModel,
  type Material,
  materialOf,
  retrainReason,
  SEED as ADAPTER_SEED,
  type TrainingOutcome,
} from "./adapter_training.ts";
export { pythonEnv, setUpPythonEnv } from "./python_env.ts";
