/**
 * Reads prefix and suffix back out of the FIM prompts editors send to an
 * OpenAI-style `/v1/completions` endpoint. The layouts are those Zed's
 * edit-prediction providers build (crates/edit_prediction/src/fim.rs).
 */

/** One prompt layout: its markers, in the order they appear. */
interface FimLayout {
  name: string;
  /** Markers around the two parts; `suffixFirst` layouts put the suffix before the prefix. */
  open: string;
  middle: string;
  close: string;
  suffixFirst?: boolean;
}

const LAYOUTS: FimLayout[] = [
  { name: "qwen", open: "<|fim_prefix|>", middle: "<|fim_suffix|>", close: "<|fim_middle|>" },
  { name: "star_coder", open: "<fim_prefix>", middle: "<fim_suffix>", close: "<fim_middle>" },
  { name: "code_llama", open: "<PRE> ", middle: " <SUF>", close: " <MID>" },
  {
    name: "deepseek_coder",
    open: "<｜fim▁begin｜>",
    middle: "<｜fim▁hole｜>",
    close: "<｜fim▁end｜>",
  },
  { name: "glm", open: "<|code_prefix|>", middle: "<|code_suffix|>", close: "<|code_middle|>" },
  { name: "codestral", open: "[SUFFIX]", middle: "[PREFIX]", close: "", suffixFirst: true },
];

/** The parts of a FIM prompt; `format` is "plain" for a prompt without FIM markers. */
export interface FimParts {
  format: string;
  prefix: string;
  suffix: string;
}

/**
 * Splits a FIM prompt into prefix and suffix. Anything before the opening
 * marker (a repository header, other files) is dropped: the engine builds
 * its own context. A prompt without markers is all prefix.
 */
export function parseFimPrompt(prompt: string): FimParts {
  for (const layout of LAYOUTS) {
    const open = prompt.indexOf(layout.open);
    if (open === -1) continue;
    const start = open + layout.open.length;
    const middle = prompt.indexOf(layout.middle, start);
    if (middle === -1) continue;
    const end = layout.close ? prompt.lastIndexOf(layout.close) : prompt.length;
    if (end < middle + layout.middle.length) continue;
    const first = prompt.slice(start, middle);
    const second = prompt.slice(middle + layout.middle.length, end);
    return layout.suffixFirst
      ? { format: layout.name, prefix: second, suffix: first }
      : { format: layout.name, prefix: first, suffix: second };
  }
  return { format: "plain", prefix: prompt, suffix: "" };
}
