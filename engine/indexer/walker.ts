/**
 * Which files of a project are indexed, decided in one place for the walk, a
 * save and a change on disk: source files in a language the engine knows,
 * inside the workspace by their real path (no symlink is followed), not
 * ignored by the default list or any .gitignore on the way, never a secret,
 * never large or binary.
 */
import { join, relative } from "node:path";
import ignore, { type Ignore } from "ignore";
import { languageOf } from "../documents/mod.ts";
import type { IndexSkipReason } from "../protocol/mod.ts";

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

/**
 * Files that hold credentials by convention: never indexed, even where no
 * .gitignore excludes them, because the index would be a second copy of them.
 */
export const SECRET_PATTERNS = [
  ".env",
  ".env.*",
  "*.env",
  ".envrc",
  "*.pem",
  "*.key",
  "*.p12",
  "*.pfx",
  "*.jks",
  "*.keystore",
  "*.kdbx",
  "id_rsa*",
  "id_dsa*",
  "id_ecdsa*",
  "id_ed25519*",
  ".netrc",
  ".npmrc",
  ".pypirc",
  ".git-credentials",
  ".htpasswd",
  "*.tfstate",
  "*.tfstate.*",
  "*.tfvars",
  "credentials",
  "credentials.*",
  "*credentials*.json",
  "client_secret*.json",
  "service-account*.json",
  "secret.*",
  "secrets.*",
  "*.secret",
  "*.secrets",
  ".aws/",
  ".ssh/",
  ".gnupg/",
  ".kube/",
  ".docker/",
];

/** Text that marks a file as a key whatever its name. */
const SECRET_CONTENT = /-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----/;

/** Files larger than this are not indexed. */
export const MAX_FILE_BYTES = 512 * 1024;

/** Why a file is not indexed, as `status` counts it. */
export type SkipReason = IndexSkipReason;

/** A file found by the walk. */
export interface FoundFile {
  /** Path relative to the project root, with "/" separators. */
  path: string;
  size: number;
  /** Its size, times and inode (see `fileVersion`): the same while the file is not written. */
  version: string;
}

/** Options of a walk. */
export interface WalkOptions {
  /** Stops the walk at the next entry. */
  signal?: AbortSignal;
  /** Told of every file or directory left out, with the reason. */
  onSkip?: (path: string, reason: SkipReason) => void;
  /** Told of every directory the walk descends into ("" for the root): what a watcher watches. */
  onDirectory?: (path: string) => void;
  /**
   * Walks only this project-relative directory and what lies under it. It is not judged
   * itself: see `skipReasonForDirectory`.
   */
  from?: string;
}

const secrets = ignore().add(SECRET_PATTERNS);

/** Whether a project-relative path names a secret by convention. */
export function isSecretPath(path: string): boolean {
  return secrets.ignores(path);
}

/**
 * The ignore rules of one project: the default list and every .gitignore,
 * each read once. Make a new one per pass: a .gitignore may change between
 * passes.
 */
export class IgnoreRules {
  #root: string;
  #default = ignore().add(DEFAULT_IGNORES);
  #byDir = new Map<string, Promise<Ignore | undefined>>();

  /** @param root The project's real path. */
  constructor(root: string) {
    this.#root = root;
  }

  /** Whether a project-relative path is ignored, by its own name or a directory above it. */
  async ignores(path: string, isDirectory = false): Promise<boolean> {
    const parts = path.split("/");
    for (let depth = 1; depth <= parts.length; depth++) {
      const sub = parts.slice(0, depth).join("/");
      if (await this.matches(sub, depth < parts.length || isDirectory)) return true;
    }
    return false;
  }

  /**
   * Whether `path` itself matches a rule of the defaults or of a .gitignore
   * above it, its directories aside: what a walk that descends only into
   * directories not ignored needs.
   */
  async matches(path: string, isDirectory: boolean): Promise<boolean> {
    const name = isDirectory ? `${path}/` : path;
    if (this.#default.ignores(name)) return true;
    const parts = path.split("/");
    for (let depth = 0; depth < parts.length; depth++) {
      const base = parts.slice(0, depth).join("/");
      const matcher = await this.#matcher(base);
      if (matcher?.ignores(base ? relative(base, name) + (isDirectory ? "/" : "") : name)) {
        return true;
      }
    }
    return false;
  }

  #matcher(dir: string): Promise<Ignore | undefined> {
    let found = this.#byDir.get(dir);
    if (!found) {
      found = Deno.readTextFile(join(this.#root, dir, ".gitignore")).then(
        (text) => ignore().add(text),
        () => undefined,
      );
      this.#byDir.set(dir, found);
    }
    return found;
  }
}

/**
 * Why the file at a project-relative path is not indexed, judged by its name
 * and where it really lies; undefined when it may be. A path whose real path
 * is not the same path under the root's real path goes through a symlink.
 *
 * @param root The project's real path.
 */
export async function skipReasonForPath(
  root: string,
  path: string,
  rules = new IgnoreRules(root),
): Promise<SkipReason | undefined> {
  if (path === "" || path.startsWith("..") || path.startsWith("/")) return "outside";
  if (await rules.ignores(path)) return "ignored";
  if (isSecretPath(path)) return "secret";
  if (languageOf(path) === "plaintext") return "unknownLanguage";
  const absolute = join(root, path);
  const real = await Deno.realPath(absolute).catch(() => undefined);
  if (real !== undefined && real !== absolute) {
    return relative(root, real).startsWith("..") ? "outside" : "symlink";
  }
  return undefined;
}

/**
 * Why the walk would not descend into the directory at a project-relative
 * path; undefined when it would. A symlink is not a directory here.
 *
 * @param root The project's real path.
 */
export async function skipReasonForDirectory(
  root: string,
  path: string,
  rules = new IgnoreRules(root),
): Promise<SkipReason | undefined> {
  if (path.startsWith("..") || path.startsWith("/")) return "outside";
  if (path === "") return undefined;
  if (await rules.ignores(path, true)) return "ignored";
  if (isSecretPath(`${path}/`)) return "secret";
  const info = await Deno.lstat(join(root, path)).catch(() => undefined);
  if (info?.isSymlink) return "symlink";
  return undefined;
}

/**
 * A file's size, modification and change times and inode, as one string: it
 * changes whenever the file is written or replaced (the change time cannot
 * be set back, unlike the modification time). Undefined while the file was
 * changed in the last two seconds: a write in the same clock tick as the
 * one seen could leave every field equal (git's "racy" files), so such a file
 * is read again next time.
 */
export function fileVersion(info: Deno.FileInfo, now = Date.now()): string | undefined {
  const changed = Math.max(info.mtime?.getTime() ?? now, info.ctime?.getTime() ?? 0);
  if (now - changed < RACY_MS) return undefined;
  return `${info.size}:${info.mtime?.getTime()}:${info.ctime?.getTime()}:${info.ino}`;
}

/** How recent a change must be for `fileVersion` not to vouch for the file. */
const RACY_MS = 2000;

/** Why a file with these bytes is not indexed; undefined when it may be. */
export function skipReasonForContent(bytes: Uint8Array): SkipReason | undefined {
  if (bytes.length > MAX_FILE_BYTES) return "tooLarge";
  if (looksBinary(bytes)) return "binary";
  if (SECRET_CONTENT.test(new TextDecoder().decode(bytes.subarray(0, 64 * 1024)))) {
    return "secret";
  }
  return undefined;
}

/**
 * Walks `root`, yielding indexable files in a stable order. Symlinks are
 * never followed.
 *
 * @param root The project's real path.
 */
export async function* walkProject(
  root: string,
  options: WalkOptions = {},
): AsyncGenerator<FoundFile> {
  yield* walkDir(new IgnoreRules(root), root, options.from ?? "", options);
}

async function* walkDir(
  rules: IgnoreRules,
  root: string,
  dir: string,
  options: WalkOptions,
): AsyncGenerator<FoundFile> {
  const entries: Deno.DirEntry[] = [];
  try {
    for await (const entry of Deno.readDir(join(root, dir))) entries.push(entry);
  } catch {
    return; // Unreadable directory: skipped, not fatal.
  }
  options.onDirectory?.(dir);
  entries.sort((a, b) => a.name.localeCompare(b.name));
  const skip = (path: string, reason: SkipReason) => options.onSkip?.(path, reason);
  for (const entry of entries) {
    if (options.signal?.aborted) return;
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isSymlink) {
      skip(path, "symlink");
    } else if (entry.isDirectory) {
      if (await rules.matches(path, true)) skip(path, "ignored");
      else if (isSecretPath(`${path}/`)) skip(path, "secret");
      else yield* walkDir(rules, root, path, options);
    } else if (entry.isFile) {
      if (await rules.matches(path, false)) skip(path, "ignored");
      else if (isSecretPath(path)) skip(path, "secret");
      else if (languageOf(entry.name) === "plaintext") continue; // Not code: not worth a count.
      else {
        const info = await Deno.lstat(join(root, path)).catch(() => undefined);
        if (!info?.isFile) continue; // Gone (or replaced) since the listing.
        if (info.size > MAX_FILE_BYTES) skip(path, "tooLarge");
        else yield { path, size: info.size, version: fileVersion(info) ?? "" };
      }
    }
  }
}

/** Whether a file's first bytes look binary (a NUL byte). */
export function looksBinary(bytes: Uint8Array): boolean {
  return bytes.subarray(0, 8192).includes(0);
}

/** A project file and its text, path relative to the project's root. */
export interface ProjectFile {
  path: string;
  text: string;
}

/**
 * The files the walk would index that `keep` accepts, with their text (what
 * learning trains on and the benches sample): binary ones are left out, as
 * the index leaves them.
 */
export async function readProjectFiles(
  root: string,
  keep: (path: string) => boolean = () => true,
): Promise<ProjectFile[]> {
  const files: ProjectFile[] = [];
  for await (const file of walkProject(root)) {
    if (!keep(file.path)) continue;
    const bytes = await Deno.readFile(join(root, file.path)).catch(() => undefined);
    if (!bytes || looksBinary(bytes)) continue;
    files.push({ path: file.path, text: new TextDecoder().decode(bytes) });
  }
  return files;
}
