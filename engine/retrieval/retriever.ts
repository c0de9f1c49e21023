/**
 * Hybrid search over the project index: lexical (FTS5 over identifier
 * sub-words) and semantic (MiniLM vectors), fused by reciprocal rank.
 */
import type { ImportedModule } from "../ast/mod.ts";
import type { Embedder } from "./embedder.ts";
import type { Hit, IndexStore, StoredChunk, StoredSymbol } from "./index_store.ts";
import { codeTerms } from "./terms.ts";

/** What retrieval looks for. */
export interface RetrievalQuery {
  /** The code around the cursor. */
  code: string;
  /** The cursor's line up to the cursor. */
  linePrefix: string;
  /** The import lines of the file being edited: the files they name are likely relevant. */
  imports: string;
  /** Those imports parsed, when the language has a grammar: they resolve to files exactly. */
  modules?: ImportedModule[];
}

/** The project files the current file imports, and the local names bound to each. */
interface ResolvedImports {
  files: string[];
  byName: Map<string, string[]>;
}

/** A retrieved chunk and its fused score. */
export interface ScoredChunk extends StoredChunk {
  score: number;
  kind: ContextKind;
}

/**
 * Why a chunk was retrieved. "members": the signatures of the project module
 * the cursor reaches into (`module.`), which the model cannot know from the
 * file; "definition": the signatures of names on the lines before the cursor;
 * "imports": the signatures of the names the file imports from the project;
 * "similar": code that resembles the cursor's surroundings. They earn their
 * tokens differently (see `deno task bench repo`).
 */
export type ContextKind = "members" | "definition" | "imports" | "similar";

/**
 * Finds project context for a query, as the completion pipeline asks for it;
 * `excludePath` is the file being edited.
 */
export type ContextSource = (query: RetrievalQuery, excludePath: string) => Promise<ScoredChunk[]>;

/** Definitions are what the cursor refers to: they rank above any search result. */
const DEFINITION_SCORE = 1;
/**
 * The signatures of the names a file imports from the project rank below the
 * definitions of what the cursor refers to and above any search result.
 */
const IMPORTED_SCORE = 0.5;
/** Signatures listed from a module the cursor reaches into (`module.`). */
const MODULE_SIGNATURES = 30;
/** A name reached through a module or object just before the cursor. */
const RECEIVER = /([A-Za-z_$][\w$]*)\.\s*$/;
const NAME = /[A-Za-z_$][\w$]{2,}/g;

/** The usual constant of reciprocal rank fusion. */
const RRF_K = 60;
/** The best fused score a chunk found by only one ranker can have: first place in one list. */
const SINGLE_RANKER_BEST = 1 / (RRF_K + 1);
/** Candidates taken from each index before fusion. */
const CANDIDATES = 24;

/** Fuses ranked lists: each list adds 1 / (k + rank) to an id's score. */
export function reciprocalRankFusion(lists: Hit[][]): Hit[] {
  const scores = new Map<number, number>();
  for (const list of lists) {
    list.forEach((hit, rank) =>
      scores.set(hit.id, (scores.get(hit.id) ?? 0) + 1 / (RRF_K + rank + 1))
    );
  }
  return [...scores].map(([id, score]) => ({ id, score })).sort((a, b) => b.score - a.score);
}

/**
 * A name the file imports means the imported definition, not a namesake
 * elsewhere; unless the imported file does not define it (it re-exports it).
 */
function preferImported(symbols: StoredSymbol[], byName: Map<string, string[]>): StoredSymbol[] {
  return symbols.filter((symbol) => {
    const files = byName.get(symbol.name);
    const definedThere = files &&
      symbols.some((other) => other.name === symbol.name && files.includes(other.path));
    return !definedThere || files.includes(symbol.path);
  });
}

/** Finds the chunks of the project most relevant to the code at the cursor. */
export class Retriever {
  #store: IndexStore;
  #embedder: Embedder;

  constructor(store: IndexStore, embedder: Embedder) {
    this.#store = store;
    this.#embedder = embedder;
  }

  /**
   * The signatures of what the cursor refers to: definitions of the names on
   * the last lines before it, and, after `module.`, everything the files that
   * match that module define. One chunk per file, listing signatures.
   */
  definitions(query: RetrievalQuery, excludePath: string): ScoredChunk[] {
    const imported = this.#resolve(query.modules ?? []);
    const names = [...new Set(query.code.split("\n").slice(-3).join("\n").match(NAME) ?? [])];
    const named = preferImported(this.#store.symbolsNamed(names), imported.byName);
    const members: StoredSymbol[] = [];
    const receiver = RECEIVER.exec(query.linePrefix)?.[1];
    if (receiver) {
      const modulePaths = imported.byName.get(receiver) ??
        this.#store.pathsMatching(codeTerms(receiver), 2);
      for (const path of modulePaths) {
        members.push(...this.#store.symbolsIn(path).slice(0, MODULE_SIGNATURES));
      }
    }
    const memberPaths = new Set(members.map((symbol) => symbol.path));
    const referred = signatureChunks(
      [...named, ...members],
      excludePath,
      (path) =>
        memberPaths.has(path)
          ? { kind: "members", score: DEFINITION_SCORE }
          : { kind: "definition", score: DEFINITION_SCORE },
    );
    const seen = new Set(referred.map((chunk) => chunk.path));
    // What the file imports: the prefix window often no longer shows its import lines.
    const importedNames = [...imported.byName.keys()];
    const imports = signatureChunks(
      preferImported(this.#store.symbolsNamed(importedNames), imported.byName)
        .filter((symbol) => !seen.has(symbol.path)),
      excludePath,
      () => ({ kind: "imports", score: IMPORTED_SCORE }),
    );
    return [...referred, ...imports];
  }

  /**
   * Searches by the code around the cursor (its identifiers and its meaning)
   * and by the files the current file imports.
   *
   * @param excludePath Chunks of this file are left out: the prompt has it already.
   */
  async search(
    query: RetrievalQuery,
    options: { excludePath: string; limit: number },
  ): Promise<ScoredChunk[]> {
    const [vector] = await this.#embedder.embed([query.code]);
    const terms = codeTerms(query.code);
    const imported = this.#resolve(query.modules ?? []).files;
    const fused = reciprocalRankFusion([
      this.#store.lexicalSearch(terms, CANDIDATES),
      this.#store.vectorSearch(vector, CANDIDATES),
      // What the file imports, matched by the code at the cursor; by path words when unresolved.
      imported.length > 0
        ? this.#store.lexicalSearch(terms, CANDIDATES, imported)
        : this.#store.pathSearch(codeTerms(query.imports), CANDIDATES),
    ]);
    // Found by one ranker alone was more often noise than help: the model is small. A chunk not
    // embedded yet (indexing's phase 2 is behind) cannot be found by the vector ranker: another's
    // hit is enough for it, so a file just saved or indexed is found at once.
    const waiting = this.#store.withoutVectors(
      fused.filter((hit) => hit.score <= SINGLE_RANKER_BEST).map((hit) => hit.id),
    );
    const agreed = fused.filter((hit) => hit.score > SINGLE_RANKER_BEST || waiting.has(hit.id));
    const scores = new Map(agreed.map((hit) => [hit.id, hit.score]));
    return this.#store.chunks(agreed.map((hit) => hit.id))
      .filter((chunk) => chunk.path !== options.excludePath)
      .slice(0, options.limit)
      .map((chunk) => ({ ...chunk, score: scores.get(chunk.id)!, kind: "similar" as const }));
  }

  /** The imported modules that are files of this project. */
  #resolve(modules: ImportedModule[]): ResolvedImports {
    const files = new Set<string>();
    const byName = new Map<string, string[]>();
    for (const module of modules) {
      const found = this.#store.filesFor(module.paths, module.suffixes);
      if (found.length === 0) continue;
      for (const file of found) files.add(file);
      for (const name of module.names) byName.set(name, found);
    }
    return { files: [...files], byName };
  }
}

/** One chunk per file listing the symbols' signatures in file order, the excluded file left out. */
function signatureChunks(
  symbols: StoredSymbol[],
  excludePath: string,
  rank: (path: string) => { kind: ContextKind; score: number },
): ScoredChunk[] {
  const byPath = new Map<string, StoredSymbol[]>();
  for (const symbol of symbols) {
    if (symbol.path === excludePath) continue;
    const list = byPath.get(symbol.path) ?? [];
    if (!list.some((known) => known.line === symbol.line)) list.push(symbol);
    byPath.set(symbol.path, list);
  }
  return [...byPath].map(([path, list]) => {
    list.sort((a, b) => a.line - b.line);
    return {
      id: -1,
      path,
      startLine: list[0].line,
      endLine: list.at(-1)!.line,
      text: list.map((symbol) => symbol.signature).join("\n"),
      ...rank(path),
    };
  });
}
