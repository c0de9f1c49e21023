/**
 * A real VS Code for end-to-end tests: code-server 4.100.3 (the last release
 * for Node 20) and playwright-core from npm, Chromium from Debian, installed
 * once into the user cache. Recipe: ../shared/ENVIRONMENT.md.
 */
import { join } from "node:path";
import { defaultCacheDir } from "../../engine/config/mod.ts";

const CODE_SERVER = "code-server@4.100.3";
const PLAYWRIGHT = "playwright-core@1.65.1";
export const CHROMIUM = "/usr/bin/chromium";

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Runs a command to the end; its output, or an error with the end of its stderr. */
export async function run(
  command: string,
  args: string[],
  options: Deno.CommandOptions = {},
): Promise<{ stdout: string; stderr: string }> {
  const output = await new Deno.Command(command, {
    args,
    ...options,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  if (output.code !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (${output.code}): ${stderr.slice(-3000)}`);
  }
  return { stdout, stderr };
}

/** Installs what is missing; returns the folder whose node_modules hold code-server and playwright-core. */
export async function ensureCodeServer(): Promise<string> {
  if (!(await exists(CHROMIUM)) || !(await exists("/usr/bin/rg"))) {
    if (Deno.uid() !== 0) {
      throw new Error(
        "The VS Code end-to-end test needs Debian's Chromium and ripgrep: run " +
          "`sudo apt-get install -y chromium libkrb5-dev ripgrep` once",
      );
    }
    const env = { ...Deno.env.toObject(), DEBIAN_FRONTEND: "noninteractive" };
    const packages = ["install", "-y", "chromium", "libkrb5-dev", "ripgrep"];
    await run("apt-get", packages, { env }).catch(async () => {
      await run("apt-get", ["update"], { env });
      await run("apt-get", packages, { env });
    });
  }
  const dir = join(defaultCacheDir(), "e2e", CODE_SERVER.replace("@", "-"));
  if (await exists(join(dir, "node_modules", ".bin", "code-server"))) return dir;
  // @vscode/ripgrep downloads rg from GitHub unless its cache holds the archive: give it Debian's.
  const tmp = join(dir, "tmp");
  const ripgrepCache = join(tmp, "vscode-ripgrep-cache-1.15.11");
  await Deno.mkdir(ripgrepCache, { recursive: true });
  await Deno.copyFile("/usr/bin/rg", join(tmp, "rg"));
  await run("tar", [
    "czf",
    join(ripgrepCache, "ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"),
    "-C",
    tmp,
    "rg",
  ]);
  await Deno.writeTextFile(join(dir, "package.json"), '{ "private": true }\n');
  // Native modules (argon2) build against Debian's Node headers: node-gyp cannot download them.
  const nodedir: Record<string, string> = (await exists("/usr/include/node/node.h"))
    ? { npm_config_nodedir: "/usr" }
    : {};
  await run("npm", [
    "install",
    CODE_SERVER,
    PLAYWRIGHT,
    "--foreground-scripts",
    "--no-audit",
    "--no-fund",
  ], {
    cwd: dir,
    env: {
      ...Deno.env.toObject(),
      TMPDIR: tmp,
      npm_config_unsafe_perm: "true",
      npm_config_yes: "true",
      ...nodedir,
    },
  });
  return dir;
}
