/**
 * Models often start over and type again what the line already holds: after
 * `total = ` they answer `total = sum(prices)`, or with another target,
 * `total_price = sum(prices)`, which would make `total = total_price = ...`.
 * What restates the typed text is cut, so the rest completes the line.
 */
import type { CursorContext } from "./context.ts";

/** An assignment the typed line ends with: its target, and no `==`, `<=`, `>=` or `!=`. */
const TYPED_ASSIGNMENT = /(\w+)\s*(?<![=!<>])=\s*$/;
/** An assignment the suggestion starts with. */
const SUGGESTED_ASSIGNMENT = /^\s*(\w+)\s*=(?!=)\s*/;

/** Drops the start of `text` that repeats the cursor's line. */
export function trimRestatedPrefix(text: string, context: CursorContext): string {
  const typed = context.linePrefix.trim();
  if (typed === "") return text;
  // The whole typed line again (`total = ` → `total = sum(prices)`).
  const again = text.trimStart();
  // Not a longer word that starts alike: after `return `, `returned` is new code.
  const wordGoesOn = /\w$/.test(typed) && /^\w/.test(again.slice(typed.length));
  if (typed.length >= 3 && again.startsWith(typed) && !wordGoesOn) {
    return again.slice(typed.length).trimStart();
  }
  // A second assignment target after the typed one (`cheapest = ` → `cheapest_item = min(...)`).
  const target = TYPED_ASSIGNMENT.exec(context.linePrefix)?.[1];
  const suggested = SUGGESTED_ASSIGNMENT.exec(text);
  if (target && suggested) {
    const name = suggested[1];
    if (name.startsWith(target) || target.startsWith(name)) return text.slice(suggested[0].length);
  }
  return text;
}
