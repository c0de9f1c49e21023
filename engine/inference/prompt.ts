/**
 * The prompt layouts, both in one place: FIM infill with the model's own
 * tokens (repository-level when the model has those tokens too), and chat.
 */
import type { Token } from "node-llama-cpp";

/** How a model is prompted, read from the model itself. */
export type PromptFormat = "fim" | "chat";

/** What the prompt is built from. */
export interface PromptInput {
  /** Text before the cursor, already cut to the budget. */
  prefix: string;
  /** Text after the cursor, already cut to the budget. */
  suffix: string;
  /** Path of the file, relative to the workspace when possible. */
  path: string;
  /** Language id, e.g. "python". */
  languageId: string;
  /** Whether the completion may span several lines. */
  multiline: boolean;
  /** Code from other files of the project, in the order to show it. */
  context: ContextSnippet[];
  /** The project's name, for the repository-level prompt. */
  repoName: string;
}

/** A piece of another file put into the prompt. */
export interface ContextSnippet {
  path: string;
  text: string;
}

/** Marks the cursor in the chat prompt; removed from answers that echo it. */
export const CURSOR_MARKER = "<CURSOR>";

/** The system prompt of the chat format. */
export const CHAT_SYSTEM_PROMPT =
  "You complete code in an editor. Reply with code in one code block, nothing else.";

/**
 * The user message of the chat format: the file in a code block with the
 * cursor marked. Small chat models fill in a whole line far more reliably
 * than they write a fragment, so they are asked for the line; the
 * post-processing keeps only what is new.
 *
 * @returns The message text.
 */
export function chatUserMessage(input: PromptInput): string {
  const task = input.multiline
    ? `Write the code that belongs at ${CURSOR_MARKER}.`
    : `Write the complete line that contains ${CURSOR_MARKER}, with ${CURSOR_MARKER} replaced by the missing code.`;
  const related = input.context.map((snippet) =>
    `${snippet.path}:\n\`\`\`\n${snippet.text}\n\`\`\`\n`
  )
    .join("");
  return (related ? `Related code from the project:\n${related}\n` : "") +
    `\`\`\`${input.languageId}\n${input.prefix}${CURSOR_MARKER}${input.suffix}\n\`\`\`\n` +
    `File: ${input.path}. ${task}`;
}

/** A FIM model's special tokens, read from its vocabulary. */
export interface FimTokens {
  prefix: Token;
  suffix: Token;
  middle: Token;
  /** `<|repo_name|>` and `<|file_sep|>`, when the model has both (Qwen2.5-Coder). */
  repo?: { name: Token; fileSeparator: Token };
}

/**
 * Where the typed part of the cursor's line goes in a FIM prompt.
 * "prefix": at the end of the prefix, before the suffix and the middle
 * token, so every keystroke changes the prompt before the suffix.
 * "middle": after the middle token, as the start of the middle, so a
 * keystroke only appends to the prompt; its last token is left out and
 * the first generated token must start with its text ("token healing"),
 * since the model would rarely have split the line where the cursor did.
 */
export type PromptLayout = "prefix" | "middle";

/**
 * A cut prompt leaves the typed line room in steps of this many tokens, so the
 * cut stays where it was while the line is typed and the model reuses what it
 * evaluated of the prompt at the previous key.
 */
const TYPED_ROOM_STEP = 16;

/** A FIM prompt's tokens, and the text its first generated token must start with. */
export interface FimPrompt {
  tokens: Token[];
  /** The typed token left out of a "middle" prompt, for the generator to heal. */
  healed?: Token;
}

/**
 * Prefix-suffix-middle with the model's own FIM tokens. When the model also
 * knows repository tokens, the project context goes first as files of the
 * repository, so it stays a stable prefix between keystrokes.
 *
 * The prompt never holds more than `maxTokens` (characters are bounded
 * before, but one character may be several tokens): past it, the project
 * context goes first, then the prefix keeps its tail (the text nearest the
 * cursor) and the suffix its head: a quarter of what is left, or more when
 * the prefix is shorter than the rest. The typed line's room is counted in
 * steps (see TYPED_ROOM_STEP), so a cut prompt may hold a few tokens less.
 *
 * @returns The prompt's tokens.
 */
export function fimPrompt(
  input: PromptInput,
  tokens: FimTokens,
  tokenize: (text: string) => Token[],
  layout: PromptLayout,
  maxTokens: number,
): FimPrompt {
  const header: Token[] = [];
  if (tokens.repo && input.context.length > 0) {
    header.push(tokens.repo.name, ...tokenize(`${input.repoName}\n`));
    for (const snippet of input.context) {
      header.push(tokens.repo.fileSeparator, ...tokenize(`${snippet.path}\n${snippet.text}\n`));
    }
    header.push(tokens.repo.fileSeparator, ...tokenize(`${input.path}\n`));
  }
  const lineStart = layout === "middle" ? input.prefix.lastIndexOf("\n") + 1 : input.prefix.length;
  let typed = tokenize(input.prefix.slice(lineStart));
  let before = tokenize(input.prefix.slice(0, lineStart));
  let after = tokenize(input.suffix);
  // The three FIM tokens; `typed` still holds the token to heal, which may go back in.
  const fixed = 3;
  const fits = (head: Token[]) =>
    head.length + fixed + typed.length + before.length + after.length <= maxTokens;
  const kept = fits(header) ? header : [];
  if (!fits(kept)) {
    typed = typed.slice(-Math.max(1, maxTokens - fixed));
    const typedRoom = Math.ceil(typed.length / TYPED_ROOM_STEP) * TYPED_ROOM_STEP;
    const room = Math.max(0, maxTokens - fixed - typedRoom);
    const suffixShare = Math.min(after.length, Math.floor(room / 4));
    before = before.slice(Math.max(0, before.length - (room - suffixShare)));
    after = after.slice(0, room - before.length);
  }
  const healed = typed.pop();
  return {
    tokens: [...kept, tokens.prefix, ...before, tokens.suffix, ...after, tokens.middle, ...typed],
    ...(healed === undefined ? {} : { healed }),
  };
}
