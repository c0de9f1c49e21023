/**
 * Which folders a client may make its workspace. Indexing reads every source
 * file under the workspace and serves it back as context, so the choice is
 * made on real paths (a symlink cannot lead out), never for the filesystem
 * root or the home folder itself, and, unless the sidecar was started for
 * explicit roots, only for a folder that is a project root by its markers.
 */
import { homedir } from "node:os";
import { join, relative } from "node:path";
import { ErrorCode } from "../protocol/mod.ts";
import { EngineError } from "../protocol/errors.ts";

/** Files or folders whose presence makes a folder a project root. */
export const PROJECT_MARKERS = [
  ".git",
  ".hg",
  ".svn",
  "package.json",
  "deno.json",
  "deno.jsonc",
  "Cargo.toml",
  "pyproject.toml",
  "setup.py",
  "go.mod",
  "pom.xml",
  "build.gradle",
  "build.gradle.kts",
  "Gemfile",
  "composer.json",
  "CMakeLists.txt",
  "Makefile",
];

function notAllowed(message: string): EngineError {
  return new EngineError(ErrorCode.WorkspaceNotAllowed, `Workspace not allowed: ${message}`);
}

/** The real path of `path`, or undefined when it does not exist. */
export async function realPathOf(path: string): Promise<string | undefined> {
  return await Deno.realPath(path).catch(() => undefined);
}

/**
 * Checks that `requested` may be a workspace and returns its real path.
 *
 * @param allowedRoots Real paths the sidecar was started for (`--workspace`,
 *   `--allow-root`); when there are none, a workspace must be a project root.
 * @throws EngineError WorkspaceNotAllowed, or InvalidParams for a folder that does not exist.
 */
export async function checkWorkspaceRoot(
  requested: string,
  allowedRoots: string[],
): Promise<string> {
  const real = await realPathOf(requested);
  if (real === undefined || !(await Deno.stat(real)).isDirectory) {
    throw new EngineError(
      ErrorCode.InvalidParams,
      `Invalid params: workspace ${requested} is not a folder`,
    );
  }
  if (real === "/" || real === await realPathOf(homedir())) {
    throw notAllowed(
      `${requested} is ${
        real === "/" ? "the filesystem root" : "your home folder"
      }: open a project folder`,
    );
  }
  if (allowedRoots.length > 0) {
    if (allowedRoots.some((root) => !relative(root, real).startsWith(".."))) return real;
    throw notAllowed(
      `${requested} is outside ${allowedRoots.join(", ")}, the root this sidecar was started for`,
    );
  }
  for (const marker of PROJECT_MARKERS) {
    if (await Deno.lstat(join(real, marker)).catch(() => undefined)) return real;
  }
  throw notAllowed(
    `${requested} has no project marker (${
      PROJECT_MARKERS.slice(0, 6).join(", ")
    }, ...): start the sidecar with --workspace DIR or --allow-root DIR to allow it`,
  );
}

/**
 * Checks a root the user named on the command line (`--workspace`): allowed
 * wherever it is, but never "/" or the home folder, and it must be a folder.
 *
 * @returns Its real path.
 */
export async function checkChosenRoot(requested: string): Promise<string> {
  return await checkWorkspaceRoot(requested, [await realPathOf(requested) ?? requested]);
}
