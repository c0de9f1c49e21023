/**
 * What the index may hold: the walk, a save and a change on disk follow one
 * policy (no secrets, nothing ignored, large, binary or behind a symlink),
 * everything written is private to the user, one process per project writes,
 * and closing stops a long walk at once. Real embedder, real SQLite.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Indexer, Projects, walkProject } from "../../engine/indexer/mod.ts";
import { createLogger } from "../../engine/log/mod.ts";
import { Embedder, IndexStore } from "../../engine/retrieval/mod.ts";
import { defaultCacheDir } from "../../engine/config/mod.ts";
import { projectStateDir } from "../../engine/config/mod.ts";
import {
  fixtureProject,
  indexedTexts,
  largeProject,
  projectWithSecrets,
  SECRET,
} from "../_helpers/project.ts";

const log = createLogger("test", "error");
const MODEL_DIR = join(defaultCacheDir(), "models", "all-MiniLM-L6-v2");
const embedder = await Embedder.load(MODEL_DIR, { threads: 1 });

Deno.test("walkProject() never yields secrets, ignored files or anything behind a symlink", async () => {
  const { root } = await projectWithSecrets();
  const skipped: string[] = [];
  const paths: string[] = [];
  for await (
    const file of walkProject(root, { onSkip: (path, why) => skipped.push(`${path}:${why}`) })
  ) {
    paths.push(file.path);
  }
  assert.deepEqual(
    paths,
    [
      "app.py",
      "billing/invoice.py",
      "catalog/blob.py",
      "catalog/products.py",
      "web/checkout.ts",
      "web/session.ts",
    ].concat(["deploy.py"]).sort((a, b) => a.localeCompare(b)),
    "deploy.py is judged by its content later",
  );
  for (
    const expected of [
      ".env:secret",
      "secrets.py:secret",
      "config/credentials.json:secret",
      "local_settings.py:ignored",
      "linked:symlink",
      "keys_link.py:symlink",
      "node_modules:ignored",
    ]
  ) {
    assert.ok(skipped.includes(expected), `${expected} in ${skipped.join(", ")}`);
  }
});

Deno.test("Indexer never indexes a secret, and a save follows the walk's policy", async () => {
  const { root, outside } = await projectWithSecrets();
  const stateDir = await Deno.makeTempDir();
  const store = await IndexStore.open(stateDir, embedder);
  const indexer = new Indexer(root, store, embedder, { log });
  await indexer.indexAll();
  assert.ok(!store.paths().includes("deploy.py"), "a private key inside a file keeps it out");

  // Saves an editor could send, each of a file the walk leaves out.
  const saves: [string, string | undefined, string][] = [
    [join(root, ".env"), `STRIPE_KEY=${SECRET}\n`, "secret"],
    [join(root, "secrets.py"), undefined, "secret"],
    [join(root, "local_settings.py"), `KEY = "${SECRET}"\n`, "ignored"],
    [join(root, "node_modules", "dep", "index.js"), `export const k = "${SECRET}";\n`, "ignored"],
    [join(root, "linked", "keys.py"), undefined, "outside"],
    [join(root, "keys_link.py"), undefined, "outside"],
    [join(outside, "keys.py"), undefined, "outside"],
    [join(root, "app.py"), `# ${SECRET}\n` + "x = 1\n".repeat(100_000), "tooLarge"],
    [join(root, "web", "checkout.ts"), "const a = 1;\0\0binary", "binary"],
  ];
  for (const [path, text, reason] of saves) {
    const before = indexer.progress().skipped[reason as "secret"] ?? 0;
    await indexer.reindex(path, text);
    assert.equal(indexer.progress().skipped[reason as "secret"], before + 1, `${path}: ${reason}`);
    assert.equal(indexer.progress().lastSkipped?.reason, reason);
  }
  assert.ok(!store.paths().includes("app.py"), "a file that grew past the cap leaves the index");
  assert.deepEqual(
    store.paths().sort(),
    ["billing/invoice.py", "catalog/products.py", "web/session.ts"],
  );
  await indexer.close();
  await store.close();
  assert.ok(!(await indexedTexts(stateDir)).includes(SECRET), "the secret is nowhere in the index");
});

Deno.test("IndexStore keeps its folder 0700 and every file 0600, and repairs older modes", async () => {
  const stateDir = join(await Deno.makeTempDir(), "projects", "p");
  await Deno.mkdir(stateDir, { recursive: true, mode: 0o755 });
  await Deno.chmod(stateDir, 0o755);
  await Deno.writeTextFile(join(stateDir, "vectors.usearch.json"), "{}", { mode: 0o644 });
  await Deno.chmod(join(stateDir, "vectors.usearch.json"), 0o644);
  const root = await fixtureProject();
  const store = await IndexStore.open(stateDir, embedder);
  const indexer = new Indexer(root, store, embedder, { log });
  await indexer.indexAll();
  await indexer.vectorsDone(); // The vector index is written once there are vectors.
  await store.close();
  const mode = async (path: string) => ((await Deno.stat(path)).mode ?? 0) & 0o777;
  assert.equal(await mode(stateDir), 0o700);
  const names = [];
  for await (const entry of Deno.readDir(stateDir)) {
    names.push(entry.name);
    assert.equal(await mode(join(stateDir, entry.name)), 0o600, entry.name);
  }
  assert.ok(names.includes("index.sqlite") && names.includes("vectors.usearch"), names.join());
  assert.ok(!names.some((name) => name.endsWith(".tmp")), "no temporary file is left");
});

Deno.test("Projects: one process writes a project's index, another reads it and takes over", async () => {
  const root = await Deno.realPath(await fixtureProject());
  const cacheDir = await Deno.makeTempDir();
  const load = () => Promise.resolve(embedder);
  const first = new Projects(cacheDir, load, { log });
  const second = new Projects(cacheDir, load, { log });
  const writer = await first.openNow(root);
  const reader = await second.openNow(root);
  assert.equal(writer.writer, true);
  assert.equal(reader.writer, false);
  assert.deepEqual(
    { ...second.progress(root), skipped: {} },
    {
      files: 0,
      chunks: 0,
      pending: 0,
      vectorsPending: 0,
      state: "idle",
      skipped: {},
      readOnly: true,
      watching: "off",
    },
  );
  writer.start();
  reader.start(); // Waits for the lock; does not index.
  await writer.indexer.idle();
  assert.equal(reader.indexer.progress().files, 5, "the reader sees what the writer indexed");
  assert.equal(reader.indexer.progress().state, "idle");
  assert.equal(writer.indexer.progress().watching, "events", "the writer watches the project");
  assert.equal(reader.indexer.progress().watching, "off", "a reader leaves watching to the writer");
  await reader.reindex(join(root, "app.py"), "def changed():\n    pass\n");
  assert.equal(reader.indexer.progress().pending, 0, "a reader leaves saves to the writer");

  await first.close(); // The writer's process exits: the reader takes the lock within a second.
  const deadline = Date.now() + 5_000;
  while (!reader.writer && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(reader.writer, true);
  await reader.indexer.idle();
  assert.equal(reader.indexer.progress().watching, "events", "after taking over, it watches");
  await second.close();
  const stateDir = projectStateDir(cacheDir, root);
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(join(stateDir, "index.sqlite"), { readOnly: true });
  const files = db.prepare("SELECT COUNT(*) AS n, COUNT(DISTINCT path) AS d FROM files").get();
  db.close();
  assert.deepEqual({ ...files }, { n: 5, d: 5 });
});

Deno.test("Indexer.close() stops a long walk and its embedding within a second", async () => {
  const root = await largeProject(20, 50);
  const store = await IndexStore.open(await Deno.makeTempDir(), embedder);
  const indexer = new Indexer(root, store, embedder, { log });
  indexer.start();
  while (store.counts().files < 3) await new Promise((resolve) => setTimeout(resolve, 20));
  const started = performance.now();
  await indexer.close();
  const stopMs = performance.now() - started;
  assert.ok(stopMs < 1000, `stopped in ${stopMs.toFixed(0)} ms`);
  assert.ok(store.counts().files < 1000, "the walk did not run to its end");
  await store.close();
});
