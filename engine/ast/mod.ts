/**
 * AST: tree-sitter over the grammars in grammars/, for what is in scope at
 * the cursor.
 *
 * @module
 */
export { type GrammarEntry, grammarPath, readGrammarManifest } from "./grammars.ts";
export { type CursorSyntax, type Definition, SyntaxService } from "./syntax.ts";
