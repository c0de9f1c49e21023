/**
 * Never closes a bracket the code does not have open: the completion is cut
 * at the first closing bracket that matches no opener before it (in the
 * completion or the prompt's prefix), or that closes what the text after the
 * cursor already closes.
 */
import type { CursorContext } from "./context.ts";

const PAIRS: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
const OPENERS = new Set(Object.values(PAIRS));

/** Cuts the text before its first closing bracket with nothing left to close. */
export function balanceBrackets(text: string, context: CursorContext): string {
  const open = new Scanner();
  for (const char of context.prefix) open.step(char);
  // The rest of the line closes some of them; the completion must leave those open.
  const rest = new Scanner(open.stack);
  for (const char of closersAtStart(context.lineSuffix)) {
    if (!rest.step(char)) break;
  }
  const completion = new Scanner(open.stack, open.stack.length - rest.stack.length);
  for (let index = 0; index < text.length; index++) {
    if (!completion.step(text[index])) return text.slice(0, index).trimEnd();
  }
  return text;
}

/** The leading closing brackets of the rest of the line, ignoring spaces and separators. */
function closersAtStart(lineSuffix: string): string {
  return (/^[\s)\]},;]*/.exec(lineSuffix)?.[0] ?? "").replace(/[^)\]}]/g, "");
}

/**
 * Follows brackets through code, skipping string literals and line comments
 * well enough for the few lines around a cursor.
 */
class Scanner {
  /** Open brackets, outermost first. */
  stack: string[];
  /** The stack may not shrink below this length. */
  #floor: number;
  #quote?: string;
  #escaped = false;
  #comment = false;
  #previous = "";

  constructor(stack: string[] = [], reserved = 0) {
    this.stack = [...stack];
    this.#floor = reserved;
  }

  /** Takes one character; false when it closes a bracket that is not open. */
  step(char: string): boolean {
    const previous = this.#previous;
    this.#previous = char;
    if (char === "\n") {
      this.#comment = false;
      if (this.#quote !== "`") this.#quote = undefined;
      return true;
    }
    if (this.#comment) return true;
    if (this.#quote) {
      if (this.#escaped) this.#escaped = false;
      else if (char === "\\") this.#escaped = true;
      else if (char === this.#quote) this.#quote = undefined;
      return true;
    }
    if (char === '"' || char === "'" || char === "`") this.#quote = char;
    else if ((char === "/" && previous === "/") || char === "#") this.#comment = true;
    else if (OPENERS.has(char)) this.stack.push(char);
    else if (char in PAIRS) {
      if (this.stack.length <= this.#floor || this.stack.at(-1) !== PAIRS[char]) return false;
      this.stack.pop();
    }
    return true;
  }
}
