/** Cuts the completion at the first special token or chat markup. */
import type { CursorContext } from "./context.ts";

/** Qwen/ChatML-style `<|...|>`, StarCoder-style `<fim_prefix>` and friends, `</s>`. */
const SPECIAL_TOKEN =
  /<\|[A-Za-z0-9_]+\|>|<(?:fim_prefix|fim_suffix|fim_middle|fim_pad|file_sep|repo_name|filename|gh_stars|issue_start|jupyter_start|empty_output|eos|bos|s|\/s|start_of_turn|end_of_turn)>|\[(?:INST|\/INST)\]|<(?:PRE|SUF|MID|EOT)>/;

/** Text after a special token is not code the user typed: drop it. */
export function cutAtSpecialTokens(text: string, _context: CursorContext): string {
  const match = SPECIAL_TOKEN.exec(text);
  return match ? text.slice(0, match.index) : text;
}
