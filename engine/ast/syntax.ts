/**
 * What tree-sitter tells about the cursor: the scopes that enclose it and the
 * file's imports. Languages without a grammar get nothing, never an error.
 */
import { Language, type Node, Parser } from "web-tree-sitter";
import { type GrammarEntry, grammarPath, readGrammarManifest } from "./grammars.ts";

/** The syntax around a cursor. */
export interface CursorSyntax {
  /** Signatures of the enclosing definitions, outermost first (their first line). */
  scopes: string[];
  /** The file's import statements, as written. */
  imports: string[];
}

/** A named definition in a file: what another file can refer to. */
export interface Definition {
  name: string;
  /** 1-based line of the definition. */
  line: number;
  /** Its first line, e.g. `def compute_invoice_total(items, tax_rate):`. */
  signature: string;
}

/** Node types that define a scope: functions, methods, classes and their kin. */
const SCOPE =
  /^(?:class|method|module|arrow_function|function_definition|function_declaration|function_item|method_definition|method_declaration|class_definition|class_declaration|class_specifier|impl_item|trait_item|struct_item|interface_declaration|namespace_definition|singleton_method|constructor_declaration)$/;
/** Top-level node types that import: `import`, `from … import`, `use`, `#include`, `using`. */
const IMPORT =
  /^(?:import_statement|import_from_statement|import_declaration|use_declaration|preproc_include|using_directive|namespace_use_declaration|package_clause)$/;

/** Parses documents with the shipped grammars, loading each grammar once. */
export class SyntaxService {
  #byLanguage: Map<string, GrammarEntry>;
  #loaded = new Map<string, Promise<Language>>();
  #parser: Parser;

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

  /** The named definitions (functions, classes, methods...) of a file; [] without a grammar. */
  async definitions(languageId: string, text: string): Promise<Definition[]> {
    const language = await this.language(languageId);
    if (!language) return [];
    this.#parser.setLanguage(language);
    const tree = this.#parser.parse(text);
    if (!tree) return [];
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
      return definitions;
    } finally {
      tree.delete();
    }
  }

  /**
   * The enclosing scopes and imports at `offset`; undefined for a language
   * without a grammar.
   */
  async cursorSyntax(
    languageId: string,
    text: string,
    offset: number,
  ): Promise<CursorSyntax | undefined> {
    const language = await this.language(languageId);
    if (!language) return undefined;
    this.#parser.setLanguage(language);
    const tree = this.#parser.parse(text);
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
      return { scopes, imports };
    } finally {
      tree.delete();
    }
  }
}

/** An import statement, or code that requires a module (CommonJS, Ruby). */
function isImport(node: Node): boolean {
  if (IMPORT.test(node.type)) return true;
  if (/^(?:lexical_declaration|variable_declaration|expression_statement)$/.test(node.type)) {
    return /\brequire\(/.test(node.text);
  }
  return node.type === "call" && /^require(?:_relative)?\b/.test(node.text);
}
