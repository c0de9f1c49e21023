/**
 * What tree-sitter tells about a file and the cursor in it: the scopes that
 * enclose the cursor, the file's imports, its definitions and the syntax
 * blocks retrieval chunks it by. Languages without a grammar get nothing,
 * never an error. An edited document is re-parsed incrementally from its
 * previous tree.
 */
import { type Edit, Language, type Node, Parser, type Point, type Tree } from "web-tree-sitter";
import { type GrammarEntry, grammarPath, readGrammarManifest } from "./grammars.ts";
import { type ImportedModule, importedModules } from "./imports.ts";

/** The syntax around a cursor. */
export interface CursorSyntax {
  /** Signatures of the enclosing definitions, outermost first (their first line). */
  scopes: string[];
  /** The file's import statements, as written. */
  imports: string[];
  /** What those statements import: modules, the names they bind, where their files may be. */
  modules: ImportedModule[];
  /** The cursor is inside a string or a comment: prose, not code, follows. */
  inLiteral: boolean;
}

/** A named definition in a file: what another file can refer to. */
export interface Definition {
  name: string;
  /** 1-based line of the definition. */
  line: number;
  /** Its first line, e.g. `def compute_invoice_total(items, tax_rate):`. */
  signature: string;
}

/** A file's shape: what it defines and where its syntax blocks start. */
export interface FileOutline {
  definitions: Definition[];
  /**
   * 0-based lines where a top-level statement or definition starts (with the
   * comments just above it), and where the definitions inside a long one start:
   * the boundaries a chunk should not cross.
   */
  blockStarts: number[];
}

/** A definition longer than this many lines is cut at the definitions inside it. */
const LONG_BLOCK_LINES = 60;
/** Parsed documents kept for incremental re-parsing. */
const KEPT_TREES = 16;

/** Node types that define a scope: functions, methods, classes and their kin. */
const SCOPE =
  /^(?:class|method|module|arrow_function|function_definition|function_declaration|function_item|method_definition|method_declaration|class_definition|class_declaration|class_specifier|impl_item|trait_item|struct_item|interface_declaration|namespace_definition|singleton_method|constructor_declaration)$/;
/** Node types of strings and comments. */
const LITERAL = /string|comment|heredoc/;
/** Top-level node types that import: `import`, `from … import`, `use`, `#include`, `using`. */
const IMPORT =
  /^(?:import_statement|import_from_statement|import_declaration|use_declaration|preproc_include|using_directive|namespace_use_declaration|package_clause)$/;

/** A parsed document, kept so its next version parses incrementally. */
interface KeptTree {
  language: Language;
  text: string;
  tree: Tree;
}

/** Parses documents with the shipped grammars, loading each grammar once. */
export class SyntaxService {
  #byLanguage: Map<string, GrammarEntry>;
  #loaded = new Map<string, Promise<Language>>();
  #parser: Parser;
  /** Document key → its last tree, least recently used first. */
  #trees = new Map<string, KeptTree>();

  private constructor(entries: GrammarEntry[], parser: Parser) {
    this.#byLanguage = new Map(
      entries.flatMap((entry) => entry.languageIds.map((id) => [id, entry])),
    );
    this.#parser = parser;
  }

  /** Initialises tree-sitter and reads the grammar manifest; grammars load on first use. */
  static async create(): Promise<SyntaxService> {
    await Parser.init();
    return new SyntaxService(await readGrammarManifest(), new Parser());
  }

  /** Language ids with a grammar. */
  get languages(): string[] {
    return [...this.#byLanguage.keys()];
  }

  /** The grammar for a language id, loaded once; undefined when there is none. */
  language(languageId: string): Promise<Language> | undefined {
    const entry = this.#byLanguage.get(languageId);
    if (!entry) return undefined;
    let loading = this.#loaded.get(entry.file);
    if (!loading) {
      loading = Language.load(grammarPath(entry));
      this.#loaded.set(entry.file, loading);
    }
    return loading;
  }

  /**
   * A file's definitions (functions, classes, methods...) and syntax blocks;
   * undefined without a grammar.
   */
  async outline(languageId: string, text: string): Promise<FileOutline | undefined> {
    const language = await this.language(languageId);
    if (!language) return undefined;
    this.#parser.setLanguage(language);
    const tree = this.#parser.parse(text);
    if (!tree) return undefined;
    try {
      const definitions: Definition[] = [];
      const visit = (node: Node) => {
        if (SCOPE.test(node.type)) {
          const name = node.childForFieldName("name")?.text;
          if (name) {
            definitions.push({
              name,
              line: node.startPosition.row + 1,
              signature: node.text.split("\n", 1)[0].trim(),
            });
          }
        }
        for (const child of node.namedChildren) if (child) visit(child);
      };
      visit(tree.rootNode);
      return { definitions, blockStarts: blockStarts(tree.rootNode) };
    } finally {
      tree.delete();
    }
  }

  /**
   * The enclosing scopes and imports at `offset`; undefined for a language
   * without a grammar.
   *
   * @param document `key` names the document (its URI) so that its next
   *   version re-parses only what changed; `path` (project-relative) resolves
   *   relative imports.
   */
  async cursorSyntax(
    languageId: string,
    text: string,
    offset: number,
    document: { key?: string; path?: string } = {},
  ): Promise<CursorSyntax | undefined> {
    const language = await this.language(languageId);
    if (!language) return undefined;
    const documentKey = document.key;
    const tree = this.#parse(language, text, documentKey);
    if (!tree) return undefined;
    try {
      const scopes: string[] = [];
      // The last character typed: whitespace after a statement belongs to no statement.
      let at = Math.min(offset, text.length) - 1;
      while (at > 0 && /\s/.test(text[at])) at--;
      for (
        let node: Node | null = tree.rootNode.descendantForIndex(Math.max(0, at));
        node?.parent;
        node = node.parent
      ) {
        if (SCOPE.test(node.type)) scopes.unshift(node.text.split("\n", 1)[0].trim());
      }
      const imports = tree.rootNode.children
        .filter((node): node is Node => node !== null && isImport(node))
        .map((node) => node.text);
      return {
        scopes,
        imports,
        modules: importedModules(languageId, imports, document.path),
        inLiteral: insideLiteral(tree.rootNode.descendantForIndex(Math.max(0, offset - 1)), offset),
      };
    } finally {
      if (!documentKey) tree.delete();
    }
  }

  /** Forgets a document's tree, e.g. when it is closed. */
  forget(documentKey: string): void {
    this.#trees.get(documentKey)?.tree.delete();
    this.#trees.delete(documentKey);
  }

  /** Parses a text, from the document's previous tree when there is one in the same language. */
  #parse(language: Language, text: string, documentKey?: string): Tree | null {
    this.#parser.setLanguage(language);
    if (!documentKey) return this.#parser.parse(text);
    const kept = this.#trees.get(documentKey);
    let previous: Tree | null = null;
    if (kept && kept.language === language) {
      if (kept.text === text) {
        this.#trees.delete(documentKey);
        this.#trees.set(documentKey, kept);
        return kept.tree;
      }
      kept.tree.edit(textEdit(kept.text, text));
      previous = kept.tree;
    }
    const tree = this.#parser.parse(text, previous);
    this.forget(documentKey);
    if (!tree) return null;
    this.#trees.set(documentKey, { language, text, tree });
    for (const [key] of this.#trees) {
      if (this.#trees.size <= KEPT_TREES) break;
      this.forget(key);
    }
    return tree;
  }
}

/**
 * Whether `offset` lies inside a string or comment around `node`: strictly
 * inside, or at the end of a line comment, which runs to the end of its line.
 */
function insideLiteral(node: Node | null, offset: number): boolean {
  for (let at = node; at; at = at.parent) {
    if (!LITERAL.test(at.type) || at.startIndex >= offset) continue;
    const lineComment = at.type.includes("comment") && !at.text.endsWith("*/");
    if (offset < at.endIndex || (lineComment && offset === at.endIndex)) return true;
  }
  return false;
}

/**
 * Where chunks may start: each top-level statement (pulling up the comments
 * just above it), and inside a long definition the definitions it holds.
 */
function blockStarts(root: Node): number[] {
  const starts: number[] = [];
  const collect = (parent: Node) => {
    let commentStart: number | undefined;
    let previousEnd = -2;
    for (const child of parent.namedChildren) {
      if (!child) continue;
      const row = child.startPosition.row;
      if (child.type.includes("comment")) {
        if (commentStart === undefined || row > previousEnd + 1) commentStart = row;
        previousEnd = child.endPosition.row;
        continue;
      }
      const attached = commentStart !== undefined && row <= previousEnd + 1;
      starts.push(attached ? commentStart! : row);
      commentStart = undefined;
      previousEnd = child.endPosition.row;
      if (child.endPosition.row - row + 1 > LONG_BLOCK_LINES) {
        for (const inner of child.descendantsOfType([...NESTED_BLOCKS])) {
          if (inner && inner.startPosition.row > row) starts.push(inner.startPosition.row);
        }
      }
    }
  };
  collect(root);
  return [...new Set(starts)].sort((a, b) => a - b);
}

/** Node types a long definition is cut at: the definitions it holds. */
const NESTED_BLOCKS = [
  "function_definition",
  "function_declaration",
  "function_item",
  "method_definition",
  "method_declaration",
  "method",
  "singleton_method",
  "constructor_declaration",
  "class_definition",
  "class_declaration",
  "decorated_definition",
];

/** The edit that turns `before` into `after`: the span between their common prefix and suffix. */
function textEdit(before: string, after: string): Edit {
  const limit = Math.min(before.length, after.length);
  let start = 0;
  while (start < limit && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  let tail = 0;
  while (
    tail < limit - start &&
    before.charCodeAt(before.length - 1 - tail) === after.charCodeAt(after.length - 1 - tail)
  ) tail++;
  return {
    startIndex: start,
    oldEndIndex: before.length - tail,
    newEndIndex: after.length - tail,
    startPosition: pointAt(before, start),
    oldEndPosition: pointAt(before, before.length - tail),
    newEndPosition: pointAt(after, after.length - tail),
  };
}

/** Row and column (UTF-16 units, as web-tree-sitter counts them) of an offset. */
function pointAt(text: string, offset: number): Point {
  let row = 0, lineStart = 0;
  for (let at = text.indexOf("\n"); at !== -1 && at < offset; at = text.indexOf("\n", at + 1)) {
    row++;
    lineStart = at + 1;
  }
  return { row, column: offset - lineStart };
}

/** An import statement, or code that requires a module (CommonJS, Ruby). */
function isImport(node: Node): boolean {
  if (IMPORT.test(node.type)) return true;
  if (/^(?:lexical_declaration|variable_declaration|expression_statement)$/.test(node.type)) {
    return /\brequire\(/.test(node.text);
  }
  return node.type === "call" && /^require(?:_relative)?\b/.test(node.text);
}
