/** The grammars shipped in grammars/, as listed in its manifest. */

/** One grammar file and what it parses. */
export interface GrammarEntry {
  file: string;
  languageIds: string[];
  extensions: string[];
  package: string;
  version: string;
  sha256: string;
}

const GRAMMARS_DIR = new URL("../../grammars/", import.meta.url);

/** Reads grammars/manifest.json. */
export async function readGrammarManifest(): Promise<GrammarEntry[]> {
  const manifest = JSON.parse(await Deno.readTextFile(new URL("manifest.json", GRAMMARS_DIR)));
  return manifest.grammars as GrammarEntry[];
}

/** The path of a grammar file. */
export function grammarPath(entry: GrammarEntry): string {
  return new URL(entry.file, GRAMMARS_DIR).pathname;
}
