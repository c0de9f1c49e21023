/**
 * Finds the files of a project worth indexing: source files in a language the
 * engine knows, honouring .gitignore files (nested ones too) and a default
 * ignore list, skipping large and binary files.
 */
import { join, relative } from "node:path";
import ignore, { type Ignore } from "ignore";
import { languageOf } from "../documents/mod.ts";

/** Ignored everywhere: dependencies, build outputs, caches, VCS data, generated code. */
export const DEFAULT_IGNORES = [
  ".git/",
  ".hg/",
  ".svn/",
  "node_modules/",
  "bower_components/",
  "vendor/",
  "third_party/",
  "dist/",
  "build/",
  "out/",
  "target/",
  "coverage/",
  ".next/",
  ".nuxt/",
  ".venv/",
  "venv/",
  "__pycache__/",
  ".mypy_cache/",
  ".pytest_cache/",
  ".tox/",
  "*.min.js",
  "*.min.css",
  "*.map",
  "*.pb.go",
  "*_pb2.py",
  "*.generated.*",
  "package-lock.json",
];

/** Files larger than this are not indexed. */
export const MAX_FILE_BYTES = 512 * 1024;

/** A file found by the walk. */
export interface FoundFile {
  /** Path relative to the project root, with "/" separators. */
  path: string;
  size: number;
}

/**
 * Walks `root`, yielding indexable files in a stable order.
 */
export async function* walkProject(root: string): AsyncGenerator<FoundFile> {
  yield* walkDir(root, "", [{ base: "", matcher: ignore().add(DEFAULT_IGNORES) }]);
}

/**
 * Whether a path (relative to `root`) would be indexed, judged by the default
 * ignores and the root's .gitignore: what a file watcher needs, quickly.
 */
export async function indexFilter(root: string): Promise<(path: string) => boolean> {
  const matcher = ignore().add(DEFAULT_IGNORES);
  try {
    matcher.add(await Deno.readTextFile(join(root, ".gitignore")));
  } catch {
    // No .gitignore.
  }
  return (path) =>
    path !== "" && !path.startsWith("..") && !matcher.ignores(path) &&
    languageOf(path) !== "plaintext";
}

async function* walkDir(
  root: string,
  dir: string,
  inherited: { base: string; matcher: Ignore }[],
): AsyncGenerator<FoundFile> {
  const absolute = join(root, dir);
  const rules = [...inherited];
  try {
    const gitignore = await Deno.readTextFile(join(absolute, ".gitignore"));
    rules.push({ base: dir, matcher: ignore().add(gitignore) });
  } catch {
    // No .gitignore here.
  }
  const entries: Deno.DirEntry[] = [];
  try {
    for await (const entry of Deno.readDir(absolute)) entries.push(entry);
  } catch {
    return; // Unreadable directory: skipped, not fatal.
  }
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    if (entry.isSymlink) continue;
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    const ignored = rules.some(({ base, matcher }) => {
      const local = base ? relative(base, path) : path;
      return matcher.ignores(entry.isDirectory ? `${local}/` : local);
    });
    if (ignored) continue;
    if (entry.isDirectory) {
      yield* walkDir(root, path, rules);
    } else if (entry.isFile && languageOf(entry.name) !== "plaintext") {
      const { size } = await Deno.stat(join(root, path));
      if (size <= MAX_FILE_BYTES) yield { path, size };
    }
  }
}

/** Whether a file's first bytes look binary (a NUL byte). */
export function looksBinary(bytes: Uint8Array): boolean {
  return bytes.subarray(0, 8192).includes(0);
}
