/**
 * `deno task grammars`: copies the tree-sitter grammars the engine ships from
 * the pinned npm package into grammars/ and writes grammars/manifest.json with
 * each file's language ids, extensions, source package and sha256.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;
const PACKAGE = "@vscode/tree-sitter-wasm";
const VERSION = "0.3.1";
const SOURCE = join(
  ROOT,
  "node_modules/.deno/@vscode+tree-sitter-wasm@0.3.1/node_modules",
  PACKAGE,
  "wasm",
);

/** Grammar file → the editor language ids and file extensions it parses. */
const GRAMMARS: Record<string, { languageIds: string[]; extensions: string[] }> = {
  "tree-sitter-bash.wasm": { languageIds: ["shellscript"], extensions: [".sh", ".bash"] },
  "tree-sitter-c-sharp.wasm": { languageIds: ["csharp"], extensions: [".cs"] },
  // No C grammar in the package; C parses as the C subset of C++.
  "tree-sitter-cpp.wasm": {
    languageIds: ["cpp", "c"],
    extensions: [".cc", ".cpp", ".hpp", ".c", ".h"],
  },
  "tree-sitter-css.wasm": { languageIds: ["css"], extensions: [".css"] },
  "tree-sitter-go.wasm": { languageIds: ["go"], extensions: [".go"] },
  "tree-sitter-java.wasm": { languageIds: ["java"], extensions: [".java"] },
  "tree-sitter-javascript.wasm": {
    languageIds: ["javascript", "javascriptreact"],
    extensions: [".js", ".mjs", ".cjs", ".jsx"],
  },
  "tree-sitter-php.wasm": { languageIds: ["php"], extensions: [".php"] },
  "tree-sitter-python.wasm": { languageIds: ["python"], extensions: [".py"] },
  "tree-sitter-ruby.wasm": { languageIds: ["ruby"], extensions: [".rb"] },
  "tree-sitter-rust.wasm": { languageIds: ["rust"], extensions: [".rs"] },
  "tree-sitter-tsx.wasm": { languageIds: ["typescriptreact"], extensions: [".tsx"] },
  "tree-sitter-typescript.wasm": {
    languageIds: ["typescript"],
    extensions: [".ts", ".mts", ".cts"],
  },
};

const manifest = [];
for (const [file, languages] of Object.entries(GRAMMARS)) {
  const bytes = await Deno.readFile(join(SOURCE, file));
  await Deno.writeFile(join(ROOT, "grammars", file), bytes);
  manifest.push({
    file,
    ...languages,
    package: PACKAGE,
    version: VERSION,
    sha256: createHash("sha256").update(bytes).digest("hex"),
  });
}
await Deno.writeTextFile(
  join(ROOT, "grammars", "manifest.json"),
  `${JSON.stringify({ runtime: "web-tree-sitter@0.25.10", grammars: manifest }, null, 2)}\n`,
);
console.error(`Wrote ${manifest.length} grammars to grammars/`);
