/** A copy of the fixture project in a temp dir, with what git would not keep. */
import { join } from "node:path";

const FIXTURE = new URL("../fixtures/shop/", import.meta.url).pathname;

/**
 * Copies tests/fixtures/shop and adds ignored and binary files: node_modules/,
 * generated/ (in its .gitignore), a .log file and a binary file with a source
 * extension.
 */
export async function fixtureProject(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "ast-complete-shop-" });
  await copyDir(FIXTURE, root);
  await Deno.mkdir(join(root, "node_modules", "dep"), { recursive: true });
  await Deno.writeTextFile(
    join(root, "node_modules", "dep", "index.js"),
    "export const dep = 1;\n",
  );
  await Deno.mkdir(join(root, "generated"));
  await Deno.writeTextFile(
    join(root, "generated", "gen.py"),
    "def generated_helper():\n    pass\n",
  );
  await Deno.writeTextFile(join(root, "debug.log"), "log line\n");
  await Deno.writeFile(join(root, "catalog", "blob.py"), new Uint8Array([0x50, 0, 1, 2, 3]));
  return root;
}

async function copyDir(from: string, to: string): Promise<void> {
  for await (const entry of Deno.readDir(from)) {
    const source = join(from, entry.name), target = join(to, entry.name);
    if (entry.isDirectory) {
      await Deno.mkdir(target, { recursive: true });
      await copyDir(source, target);
    } else {
      await Deno.copyFile(source, target);
    }
  }
}
