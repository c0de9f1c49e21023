/**
 * Lexical terms of code: identifiers split into lowercase sub-words
 * (`parseHttpRequest`, `parse_http_request` → parse, http, request), so the
 * lexical index matches a name however it is cased.
 */

const IDENTIFIER = /[A-Za-z_$][A-Za-z0-9_$]*/g;
/** Words so common in code that they say nothing about relevance. */
const STOPWORDS = new Set(
  "if else for while do return const let var function def class import from export as in is not and or new this self true false null none undefined async await try catch except finally with pass break continue public private protected static void int str string number bool boolean type interface struct fn func go package use mod pub impl let mut"
    .split(" "),
);

/** Splits one identifier into its sub-words. */
export function subWords(identifier: string): string[] {
  return identifier
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[\s_$]+/)
    .map((word) => word.toLowerCase())
    .filter((word) => word.length > 1);
}

/**
 * The distinct terms of a text: each identifier whole (lowercased) and its
 * sub-words, without stopwords.
 */
export function codeTerms(text: string): string[] {
  const terms = new Set<string>();
  for (const [identifier] of text.matchAll(IDENTIFIER)) {
    const whole = identifier.toLowerCase();
    if (STOPWORDS.has(whole) || whole.length < 2) continue;
    terms.add(whole);
    for (const word of subWords(identifier)) if (!STOPWORDS.has(word)) terms.add(word);
  }
  return [...terms];
}
