/**
 * What an import statement brings in: the module, the local names it binds,
 * and the project files that module can be, worked out from the language's
 * import syntax and the importing file's path. Whether one of those files
 * exists is for the index to say.
 */
import { posix } from "node:path";

/** One imported module. */
export interface ImportedModule {
  /** The module as written: `./session`, `billing.invoice`, `crate::cart`. */
  specifier: string;
  /** Local names the statement binds to the module or to things in it. */
  names: string[];
  /** Project-relative paths the module's file may have, most likely first. */
  paths: string[];
  /** Path endings that name the module's file when the project root is not where it starts. */
  suffixes: string[];
}

/** Extensions a relative JavaScript or TypeScript specifier may leave out. */
const SCRIPT_EXTENSIONS = [".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs"];

/**
 * Parses import statements (as tree-sitter found them) of a file in `languageId`.
 *
 * @param fromPath The importing file's project-relative path, for relative imports.
 */
export function importedModules(
  languageId: string,
  statements: string[],
  fromPath = "",
): ImportedModule[] {
  const parse = PARSERS[languageId];
  if (!parse) return [];
  const directory = posix.dirname(fromPath);
  return statements.flatMap((statement) => parse(statement, directory));
}

type StatementParser = (statement: string, directory: string) => ImportedModule[];

const scripts: StatementParser = (statement, directory) => {
  const specifier = /(?:\bfrom\s*|\brequire\s*\(\s*|^import\s*)["']([^"']+)["']/.exec(statement)
    ?.[1];
  if (!specifier) return [];
  const names = bindings(statement.replace(/\bfrom\s*["'][^"']*["'][\s\S]*$/, ""));
  if (!specifier.startsWith(".")) return [{ specifier, names, paths: [], suffixes: [] }];
  const base = posix.normalize(posix.join(directory, specifier));
  // TypeScript imports `./x.js` for `./x.ts`.
  const stem = base.replace(/\.[cm]?[jt]sx?$/, "");
  const paths = [
    ...(stem !== base ? [base] : []),
    ...SCRIPT_EXTENSIONS.map((extension) => stem + extension),
    ...SCRIPT_EXTENSIONS.map((extension) => `${stem}/index${extension}`),
  ];
  return [{ specifier, names, paths, suffixes: [] }];
};

const python: StatementParser = (statement, directory) => {
  const text = statement.replace(/[()\\\n]/g, " ");
  const from = /^\s*from\s+(\.*)([\w.]*)\s+import\s+(.+)$/.exec(text);
  if (from) {
    const [, dots, dotted, list] = from;
    const imported = list.split(",").map((part) => part.trim().split(/\s+as\s+/))
      .filter(([name]) => /^\w+$/.test(name));
    const module = pythonModule(dots, dotted, directory);
    // `from package import module` imports a module as often as a name.
    const submodules = imported.map(([name]) => pythonModule(dots, `${dotted}.${name}`, directory));
    return [{
      specifier: dots + dotted,
      names: imported.map((binding) => binding.at(-1)!),
      ...merge([module, ...submodules]),
    }];
  }
  const plain = /^\s*import\s+(.+)$/.exec(text);
  if (!plain) return [];
  return plain[1].split(",").map((part) => {
    const [dotted, alias] = part.trim().split(/\s+as\s+/);
    return {
      specifier: dotted,
      names: [alias ?? dotted.split(".")[0]],
      ...pythonModule("", dotted, directory),
    };
  });
};

/** `a.b` → a/b.py or a/b/__init__.py; leading dots climb from the importing file's package. */
function pythonModule(
  dots: string,
  dotted: string,
  directory: string,
): Pick<ImportedModule, "paths" | "suffixes"> {
  const path = dotted.split(".").filter(Boolean).join("/");
  const files = path ? [`${path}.py`, `${path}/__init__.py`] : ["__init__.py"];
  if (!dots) return { paths: files, suffixes: files.filter(() => path !== "") };
  let base = directory;
  for (let level = 1; level < dots.length; level++) base = posix.dirname(base);
  return { paths: files.map((file) => posix.normalize(posix.join(base, file))), suffixes: [] };
}

const rust: StatementParser = (statement, directory) => {
  const path = /^\s*(?:pub\s+)?use\s+([\w:]+)/.exec(statement)?.[1];
  if (!path) return [];
  const segments = path.split("::").filter(Boolean);
  const names = bindings(statement.slice(statement.indexOf(path) + path.length));
  if (names.length === 0 && segments.length > 0) names.push(segments.at(-1)!);
  const root = segments[0];
  let base: string[];
  if (root === "crate") base = ["src"];
  else if (root === "self") base = [directory];
  else if (root === "super") base = [posix.dirname(directory)];
  else return [{ specifier: path, names, paths: [], suffixes: [] }];
  const modules = segments.slice(1);
  const candidates: string[] = [];
  // `use crate::a::b::C`: C may be an item of a/b.rs or a module file itself.
  for (let length = modules.length; length >= 1; length--) {
    const module = posix.join(...base, ...modules.slice(0, length));
    candidates.push(`${module}.rs`, `${module}/mod.rs`);
  }
  return [{
    specifier: path,
    names,
    paths: candidates.map((candidate) => posix.normalize(candidate)),
    suffixes: [],
  }];
};

const go: StatementParser = (statement) =>
  [...statement.replace(/^\s*import\b/, "").matchAll(/(?:(\w+)\s+)?"([^"]+)"/g)].map(
    ([, alias, specifier]) => {
      const name = alias ?? specifier.split("/").at(-1)!;
      // A Go package is a directory: the import path ends with it.
      const directory = specifier.split("/").slice(-2).join("/");
      return { specifier, names: [name], paths: [], suffixes: [`${directory}/`] };
    },
  );

const java: StatementParser = (statement) => {
  const dotted = /^\s*import\s+(?:static\s+)?([\w.]+)/.exec(statement)?.[1];
  if (!dotted) return [];
  const segments = dotted.split(".");
  return [{
    specifier: dotted,
    names: [segments.at(-1)!],
    paths: [],
    suffixes: [`${segments.join("/")}.java`, `${segments.slice(0, -1).join("/")}.java`],
  }];
};

const include: StatementParser = (statement, directory) => {
  const match = /#include\s*(["<])([^">]+)[">]/.exec(statement);
  if (!match) return [];
  const [, quote, header] = match;
  return [{
    specifier: header,
    names: [],
    paths: quote === '"' ? [posix.normalize(posix.join(directory, header))] : [],
    suffixes: [header],
  }];
};

const ruby: StatementParser = (statement, directory) => {
  const match = /\b(require_relative|require)\s*\(?\s*["']([^"']+)["']/.exec(statement);
  if (!match) return [];
  const [, how, specifier] = match;
  const file = specifier.endsWith(".rb") ? specifier : `${specifier}.rb`;
  return how === "require_relative"
    ? [{
      specifier,
      names: [],
      paths: [posix.normalize(posix.join(directory, file))],
      suffixes: [],
    }]
    : [{ specifier, names: [], paths: [], suffixes: [file] }];
};

const php: StatementParser = (statement) => {
  const name = /^\s*use\s+([\w\\]+)(?:\s+as\s+(\w+))?/.exec(statement);
  if (!name) return [];
  const segments = name[1].split("\\").filter(Boolean);
  return [{
    specifier: name[1],
    names: [name[2] ?? segments.at(-1)!],
    paths: [],
    // PSR-4 maps the namespace's tail to directories; its head is the vendor's root.
    suffixes: [segments.slice(-2).join("/") + ".php"],
  }];
};

const PARSERS: Record<string, StatementParser> = {
  typescript: scripts,
  typescriptreact: scripts,
  javascript: scripts,
  javascriptreact: scripts,
  python,
  rust,
  go,
  java,
  c: include,
  cpp: include,
  ruby,
  php,
};

/** Local names in an import's binding list: `X, { a as b, c }`, `* as ns`, `{A, B}`, `x =`. */
function bindings(text: string): string[] {
  const names: string[] = [];
  const cleaned = text.replace(/^\s*(?:import|export|const|let|var|use)\s+(?:type\s+)?/, "");
  for (const part of cleaned.split(/[,{}=]/)) {
    const name = part.trim().split(/\s+as\s+/).at(-1)!.replace(/^\*\s*/, "").trim();
    if (/^[A-Za-z_$][\w$]*$/.test(name) && !/^(?:from|require|self|type)$/.test(name)) {
      names.push(name);
    }
  }
  return names;
}

function merge(modules: Pick<ImportedModule, "paths" | "suffixes">[]) {
  return {
    paths: [...new Set(modules.flatMap((module) => module.paths))],
    suffixes: [...new Set(modules.flatMap((module) => module.suffixes))],
  };
}
