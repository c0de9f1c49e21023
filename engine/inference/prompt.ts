/** Prompt text for the two formats a model can take: FIM infill and chat. */

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
}

/** Marks the cursor in the chat prompt; removed from answers that echo it. */
export const CURSOR_MARKER = "<CURSOR>";

/** The system prompt of the chat format. */
export const CHAT_SYSTEM_PROMPT =
  "You are a code completion engine inside an editor. You are shown a file with the cursor marked " +
  `${CURSOR_MARKER}. Reply with only the code to insert at the cursor: no explanation, ` +
  "no markdown, and do not repeat the code before or after the cursor.";

/**
 * The user message of the chat format: the file with the cursor marked.
 *
 * @returns The message text.
 */
export function chatUserMessage(input: PromptInput): string {
  return `File ${input.path} (${input.languageId}):\n` +
    `${input.prefix}${CURSOR_MARKER}${input.suffix}\n\n` +
    `Complete the code at ${CURSOR_MARKER}.`;
}
