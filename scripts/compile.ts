/**
 * `deno task compile [--gpu]`: one self-contained binary with the same
 * permissions as `deno task start`, models.lock and the grammars inside. node-llama-cpp's CUDA and Vulkan builds and
 * other platforms' builds are left out unless `--gpu` is given.
 *
 * `deno compile` needs Deno's `denort` runtime: it downloads it from
 * dl.deno.land, or takes DENORT_BIN. Where neither works, this says so.
 */
import { join } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;
const DENORT_HOST = Deno.env.get("AST_COMPLETE_DENORT_CHECK_URL") ?? "https://dl.deno.land/";
const keepGpu = Deno.args.includes("--gpu");

/** The permission flags of the `start` task, so the binary runs as `start` does. */
async function startFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  return (config.tasks.start as string).split(/\s+/).filter((word) => word.startsWith("--allow-"));
}

/** node-llama-cpp builds the binary does not need on this platform. */
async function excludedBuilds(): Promise<string[]> {
  const host = `${
    Deno.build.os === "darwin" ? "mac" : Deno.build.os === "windows" ? "win" : "linux"
  }-${Deno.build.arch === "aarch64" ? "arm64" : "x64"}`;
  const excluded: string[] = [];
  const store = join(ROOT, "node_modules", ".deno");
  for await (const entry of Deno.readDir(store)) {
    const build = /^@node-llama-cpp\+([a-z0-9-]+)@/.exec(entry.name)?.[1];
    if (!build) continue;
    const otherPlatform = !build.startsWith(host);
    const gpuBuild = /cuda|vulkan|metal/.test(build) && !keepGpu;
    // The package's own folder: excluding the store entry above it leaves its files in.
    if (otherPlatform || gpuBuild) {
      excluded.push(join(store, entry.name, "node_modules", "@node-llama-cpp", build));
    }
  }
  return excluded;
}

async function denortAvailable(): Promise<boolean> {
  if (Deno.env.get("DENORT_BIN")) return true;
  try {
    const response = await fetch(DENORT_HOST, {
      method: "HEAD",
      signal: AbortSignal.timeout(5_000),
    });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

if (!(await denortAvailable())) {
  console.error(
    `deno compile needs Deno's denort runtime, and ${DENORT_HOST} cannot be reached.\n` +
      "Download denort for Deno 2.9.6 where you have internet, then run:\n" +
      "  DENORT_BIN=/path/to/denort npx -y deno@2.9.6 task compile",
  );
  Deno.exit(1);
}

const output = join(
  ROOT,
  "dist",
  Deno.build.os === "windows" ? "ast-complete.exe" : "ast-complete",
);
const args = [
  "compile",
  ...await startFlags(),
  "--self-extracting", // node-llama-cpp loads native addons and binaries from disk
  "--include",
  join(ROOT, "models.lock"),
  "--include",
  join(ROOT, "grammars"),
  "--include", // the adapter trainer (Python) and its pinned requirements
  join(ROOT, "engine", "learning", "trainer"),
  ...(await excludedBuilds()).flatMap((path) => ["--exclude", path]),
  "--output",
  output,
  join(ROOT, "main.ts"),
];
const { code } = await new Deno.Command(Deno.execPath(), {
  args,
  stdout: "inherit",
  stderr: "inherit",
})
  .output();
if (code !== 0) Deno.exit(code);
console.error(`Built ${output}`);
