/**
 * The real projects the `repo` suite measures retrieval on: four packages from
 * public registries, in four languages, that nobody here wrote. Each is pinned
 * by version and by the sha256 of its archive (checked against the registry's
 * own checksum when it was pinned: npm's sha512 integrity, PyPI's sha256, the
 * Go checksum database's h1 hash, the crates.io index's cksum), fetched once
 * into the user's cache and never trusted unverified.
 */
import { dirname, join, normalize } from "node:path";
import { unzipSync } from "fflate";
import { defaultCacheDir } from "../../engine/config/mod.ts";
import { languageOf } from "../../engine/documents/mod.ts";
import { makePrivateDir } from "../../engine/config/private_fs.ts";

/** One pinned project. */
export interface BenchProject {
  /** Its name for `--project` and in the report. */
  name: string;
  /** The language of its sources, as `languageOf` names it. */
  language: "typescript" | "python" | "go" | "rust";
  version: string;
  /** The archive on its registry: a gzipped tar, or a zip (Go modules). */
  url: string;
  /** sha256 of the archive, hex. */
  sha256: string;
  /**
   * The folder inside the archive that is the project's root (package.json,
   * pyproject.toml, go.mod, Cargo.toml): what is indexed, so imports resolve
   * as in the author's checkout.
   */
  root: string;
  /** Where its own sources lie under the root ("" for all of it): samples come from here. */
  sources: string;
}

/** The four projects; `--project all` measures them all. */
export const PROJECTS: readonly BenchProject[] = [
  {
    name: "trpc-server",
    language: "typescript",
    version: "11.0.0",
    url: "https://registry.npmjs.org/@trpc/server/-/server-11.0.0.tgz",
    sha256: "3824b524520230703802d7bcaa5ac4e8c9746a06949b326fe298f33bf7172ba2",
    root: "package",
    sources: "src",
  },
  {
    name: "rich",
    language: "python",
    version: "13.9.4",
    url:
      "https://files.pythonhosted.org/packages/ab/3a/0316b28d0761c6734d6bc14e770d85506c986c85ffb239e688eeaab2c2bc/rich-13.9.4.tar.gz",
    sha256: "439594978a49a09530cff7ebc4b5c7103ef57baf48d5ea3184f21d9a2befa098",
    root: "rich-13.9.4",
    sources: "rich",
  },
  {
    name: "cobra",
    language: "go",
    version: "1.8.1",
    url: "https://proxy.golang.org/github.com/spf13/cobra/@v/v1.8.1.zip",
    sha256: "bf27a276f87257c93bc057309df30265a19beefc3d5fc887cbd8fc99ad35466a",
    root: "github.com/spf13/cobra@v1.8.1",
    sources: "",
  },
  {
    name: "clap_builder",
    language: "rust",
    version: "4.5.20",
    url: "https://static.crates.io/crates/clap_builder/clap_builder-4.5.20.crate",
    sha256: "19bc80abd44e4bed93ca373a0704ccbd1b710dc5749406201bb018272808dc54",
    root: "clap_builder-4.5.20",
    sources: "src",
  },
];

/**
 * The projects `--project` names, in the order given; "all" stands for every one.
 *
 * @throws Error naming the known projects when a name is unknown.
 */
export function projectsNamed(names: string[]): BenchProject[] {
  const chosen = names.flatMap((name) => name === "all" ? PROJECTS : [findProject(name)]);
  return [...new Set(chosen)];
}

/** Whether `path` (relative to the project's root) lies under its own sources. */
export function inSources(project: Pick<BenchProject, "sources">, path: string): boolean {
  return project.sources === "" || path.startsWith(`${project.sources}/`);
}

/** Whether `path` is one of the project's own source files: in its sources, in its language. */
export function isSourceFile(
  project: Pick<BenchProject, "sources" | "language">,
  path: string,
): boolean {
  return languageOf(path) === project.language && inSources(project, path);
}

function findProject(name: string): BenchProject {
  const project = PROJECTS.find((candidate) => candidate.name === name);
  if (project) return project;
  const known = PROJECTS.map((candidate) => candidate.name).join(", ");
  throw new Error(`Unknown project: ${name} (projects: ${known}, all)`);
}

/**
 * The project's root on disk, fetched, verified and unpacked into
 * `<cache>/bench-projects/<name>@<version>` (private to the user) the first
 * time. The folder appears only complete: it is unpacked beside it and renamed.
 *
 * @throws Error when the download fails or its sha256 is not the pinned one;
 *   nothing is left in the cache then.
 */
export async function fetchProject(
  project: BenchProject,
  cacheDir: string = defaultCacheDir(),
): Promise<string> {
  const dir = join(cacheDir, "bench-projects");
  const target = join(dir, `${project.name}@${project.version}`);
  const root = join(target, project.root);
  if (await exists(target)) return root;
  const response = await fetch(project.url);
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status} for ${project.url}`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const digest = await sha256Hex(bytes);
  if (digest !== project.sha256) {
    throw new Error(
      `${project.url} has sha256 ${digest}, pinned ${project.sha256}: not unpacked`,
    );
  }
  await makePrivateDir(dir);
  const staging = await Deno.makeTempDir({ dir, prefix: `.${project.name}-` });
  try {
    if (project.url.endsWith(".zip")) await unpackZip(bytes, staging);
    else await unpackTarGz(bytes, staging);
    await Deno.rename(staging, target);
  } catch (error) {
    await Deno.remove(staging, { recursive: true });
    // Another bench unpacked the same project first: theirs is as good.
    if (!(await exists(target))) throw error;
  }
  return root;
}

/**
 * Writes a zip's files under `into`; an entry whose path would leave it
 * (absolute, or climbing with `..`) is refused.
 */
export async function unpackZip(bytes: Uint8Array, into: string): Promise<void> {
  for (const [name, content] of Object.entries(unzipSync(bytes))) {
    if (name.endsWith("/")) continue;
    const path = normalize(name);
    if (path.startsWith("/") || path.split("/").includes("..")) {
      throw new Error(`Zip entry outside the archive's folder: ${name}`);
    }
    const target = join(into, path);
    await Deno.mkdir(dirname(target), { recursive: true });
    await Deno.writeFile(target, content);
  }
}

/** Unpacks a gzipped tar with the system's tar, as this user and with this process's umask. */
async function unpackTarGz(bytes: Uint8Array, into: string): Promise<void> {
  const child = new Deno.Command("tar", {
    args: ["-xzf", "-", "-C", into, "--no-same-owner", "--no-same-permissions"],
    stdin: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(bytes);
  await writer.close();
  const { code, stderr } = await child.output();
  if (code !== 0) throw new Error(`tar failed: ${new TextDecoder().decode(stderr).trim()}`);
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}
