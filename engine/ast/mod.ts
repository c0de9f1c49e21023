/**
 * AST: tree-sitter over the grammars in grammars/, for what is in scope at
 * the cursor, what a file defines and imports, and where its blocks start.
 *
 * @module
 */
export { type GrammarEntry, grammarPath, readGrammarManifest } from "./grammars.ts";
export { type ImportedModule, importedModules } from "./imports.ts";
export { type CursorSyntax, type Definition, type FileOutline, SyntaxService } from "./syntax.ts";
