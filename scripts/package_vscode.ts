/**
 * `deno task package-vscode`: builds the VS Code extension into
 * dist/ast-complete-VERSION.vsix and prints its path as the last line.
 *
 * Offline from a clean clone: npm installs the adapter's pinned tools (package-lock.json),
 * tsc checks it, esbuild bundles it with the protocol module into one file, and
 * vsce packages a staged copy. The version's patch number is the build time:
 * VS Code silently keeps an installed extension whose version did not change.
 */
import { join } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;
const ADAPTER = join(ROOT, "adapters", "vscode");
const STAGE = join(ROOT, "dist", "vscode-stage");

async function run(command: string, args: string[], cwd: string): Promise<void> {
  const { code } = await new Deno.Command(command, {
    args,
    cwd,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} failed with exit code ${code}`);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

const bin = (tool: string) => join(ADAPTER, "node_modules", ".bin", tool);
if (!(await exists(bin("vsce"))) || !(await exists(bin("esbuild")))) {
  await run("npm", ["ci", "--no-audit", "--no-fund"], ADAPTER);
}
await run(bin("tsc"), ["-p", "."], ADAPTER);

const manifest = JSON.parse(await Deno.readTextFile(join(ADAPTER, "package.json")));
const [major, minor] = (manifest.version as string).split(".");
manifest.version = `${major}.${minor}.${Date.now()}`;
delete manifest.devDependencies;
delete manifest.dependencies;
delete manifest.scripts;

await Deno.remove(STAGE, { recursive: true }).catch(() => undefined);
await Deno.mkdir(join(STAGE, "dist"), { recursive: true });
await run(bin("esbuild"), [
  "src/extension.ts",
  "--bundle",
  "--platform=node",
  "--format=cjs",
  "--target=node20",
  "--external:vscode",
  `--outfile=${join(STAGE, "dist", "extension.js")}`,
], ADAPTER);
await Deno.writeTextFile(join(STAGE, "package.json"), JSON.stringify(manifest, null, 2));
for (const file of ["README.md", "LICENSE"]) {
  await Deno.copyFile(join(ADAPTER, file), join(STAGE, file));
}
const vsix = join(ROOT, "dist", `ast-complete-${manifest.version}.vsix`);
await run(bin("vsce"), ["package", "--no-dependencies", "--out", vsix], STAGE);
console.log(vsix);
