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

/** What the secret files below hold; it must never reach an index. */
export const SECRET = "sk_live_51HIDDENVALUE";

/**
 * The fixture project (with .git, a project root) with secrets a careless user leaves in it, and a
 * symlink to a private folder outside it.
 */
export async function projectWithSecrets(): Promise<{ root: string; outside: string }> {
  const root = await Deno.realPath(await fixtureProject());
  await Deno.mkdir(join(root, ".git"));
  const outside = await Deno.realPath(await Deno.makeTempDir({ prefix: "private-" }));
  await Deno.writeTextFile(join(outside, "keys.py"), `STRIPE_KEY = "${SECRET}"\n`);
  await Deno.writeTextFile(join(root, ".env"), `STRIPE_KEY=${SECRET}\n`);
  await Deno.writeTextFile(join(root, "secrets.py"), `STRIPE_KEY = "${SECRET}"\n`);
  await Deno.mkdir(join(root, "config"));
  await Deno.writeTextFile(join(root, "config", "credentials.json"), `{"key": "${SECRET}"}\n`);
  await Deno.writeTextFile(
    join(root, "deploy.py"),
    `KEY = """-----BEGIN OPENSSH PRIVATE KEY-----\n${SECRET}\n-----END OPENSSH PRIVATE KEY-----"""\n`,
  );
  await Deno.writeTextFile(join(root, ".gitignore"), "generated/\nlocal_settings.py\n", {
    append: true,
  });
  await Deno.writeTextFile(join(root, "local_settings.py"), `KEY = "${SECRET}"\n`);
  await Deno.symlink(outside, join(root, "linked"));
  await Deno.symlink(join(outside, "keys.py"), join(root, "keys_link.py"));
  return { root, outside };
}

/**
 * A project (with .git) of `dirs` packages of `files` small Python files
 * each: a walk long enough to be stopped halfway.
 */
export async function largeProject(dirs: number, files: number): Promise<string> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "ast-complete-large-" }));
  await Deno.mkdir(join(root, ".git"));
  for (let dir = 0; dir < dirs; dir++) {
    await Deno.mkdir(join(root, `pkg${dir}`));
    for (let file = 0; file < files; file++) {
      await Deno.writeTextFile(
        join(root, `pkg${dir}`, `mod${file}.py`),
        `def handler_${dir}_${file}(request):\n    return request.value * ${file}\n`.repeat(10),
      );
    }
  }
  return root;
}

/** Every chunk an index holds, with its path: to search for what must not be there. */
export async function indexedTexts(stateDir: string): Promise<string> {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(join(stateDir, "index.sqlite"), { readOnly: true });
  const rows = db.prepare("SELECT path, text FROM chunks").all() as {
    path: string;
    text: string;
  }[];
  db.close();
  return rows.map((row) => `${row.path}\n${row.text}`).join("\n");
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
