/**
 * Inference: the generator model, its lifecycle, prompts and post-processing.
 *
 * @module
 */
export {
  type Generation,
  Generator,
  type GeneratorOptions,
  loadLlama,
  type PrefixReuse,
} from "./generator.ts";
export { ModelHost } from "./model_host.ts";
export type { ContextSnippet, PromptFormat, PromptLayout } from "./prompt.ts";
export {
  completionMode,
  type CursorContext,
  isFinished,
  lineMayGrow,
  postprocess,
} from "./postprocess/mod.ts";
