/**
 * Keeping the index fresh: which folders are watched (only those the walk
 * descends into, within a budget), what a change on disk does to the index
 * (files written, added, renamed, deleted; folders made, moved, removed),
 * a walk when git's HEAD moves, and periodic rescans where the project
 * cannot be watched (too many folders, the OS out of watches). Real
 * embedder, real SQLite, real inotify.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileVersion, Indexer, type WatchOptions } from "../../engine/indexer/mod.ts";
import type { Logger } from "../../engine/log/mod.ts";
import { Embedder, IndexStore } from "../../engine/retrieval/mod.ts";
import { defaultCacheDir } from "../../engine/config/mod.ts";
import { fixtureProject, indexedTexts } from "../_helpers/project.ts";

const MODEL_DIR = join(defaultCacheDir(), "models", "all-MiniLM-L6-v2");
const embedder = await Embedder.load(MODEL_DIR, { threads: 1 });

/** A logger that keeps info, warn and error lines. */
function keptLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    log: {
      debug: () => {},
      info: (message) => lines.push(`info ${message}`),
      warn: (message) => lines.push(`warn ${message}`),
      error: (message) => lines.push(`error ${message}`),
    },
  };
}

/** The fixture project, a git repository, with folders a walk must not descend into. */
async function gitProject(): Promise<string> {
  const root = await Deno.realPath(await fixtureProject());
  for (const dir of [".git/objects/ab", ".git/refs/heads", "build/lib", ".venv/lib", "src/deep"]) {
    await Deno.mkdir(join(root, dir), { recursive: true });
  }
  await Deno.writeTextFile(join(root, ".git", "HEAD"), "ref: refs/heads/main\n");
  await Deno.writeTextFile(join(root, "build", "lib", "out.py"), "def built():\n    pass\n");
  await Deno.writeTextFile(join(root, "src", "deep", "core.py"), "def core():\n    return 1\n");
  return root;
}

async function watched(root: string, watch: WatchOptions = {}) {
  const stateDir = await Deno.makeTempDir();
  const store = await IndexStore.open(stateDir, embedder);
  const { log, lines } = keptLog();
  const indexer = new Indexer(root, store, embedder, {
    log,
    watch: { debounceMs: 50, ...watch },
  });
  await indexer.watch();
  return { store, stateDir, indexer, lines };
}

/** Waits up to 10 s for `condition`, then asserts it. */
async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition()) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(await condition(), what);
}

Deno.test("Indexer.watch() watches the folders the walk descends into, and nothing it skips", async () => {
  const root = await gitProject();
  const { store, indexer } = await watched(root);
  assert.equal(indexer.progress().watching, "events");
  // Not node_modules, generated/ (.gitignore), build/, .venv/ or the insides of .git.
  assert.deepEqual(indexer.watchedFolders(), [
    "",
    ".git",
    "billing",
    "catalog",
    "src",
    "src/deep",
    "web",
  ]);
  await indexer.idle();
  assert.ok(store.paths().includes("src/deep/core.py"));
  await indexer.close();
  assert.deepEqual(indexer.watchedFolders(), []);
  await store.close();
});

Deno.test("Indexer.watch() follows files written, added, renamed and deleted, and folders made, moved and removed", async () => {
  const root = await gitProject();
  const { store, stateDir, indexer, lines } = await watched(root);
  await indexer.idle();
  const skipped = indexer.progress().skipped;
  // One walk, which counts the binary file once: the fixture was made just now, so the catch-up
  // after the watch lists the root again, whose .git is no repository made meanwhile.
  assert.equal(skipped.binary, 1, `catalog/blob.py counted once: ${JSON.stringify(skipped)}`);
  assert.ok(!lines.some((line) => line.includes("again")), `one walk: ${lines.join("; ")}`);
  const has = (path: string) => store.paths().includes(path);

  await Deno.writeTextFile(
    join(root, "web", "session.ts"),
    "export function refreshSessionToken(token: string): string {\n  return token;\n}\n",
  );
  await until(
    async () => (await indexedTexts(stateDir)).includes("refreshSessionToken"),
    "a file written on disk is embedded again",
  );
  await Deno.writeTextFile(join(root, "billing", "refunds.py"), "def refund():\n    pass\n");
  await until(() => has("billing/refunds.py"), "a new file is indexed");
  await Deno.rename(join(root, "billing", "refunds.py"), join(root, "billing", "credit.py"));
  await until(
    () => has("billing/credit.py") && !has("billing/refunds.py"),
    "a rename drops the old name and indexes the new one",
  );
  await Deno.remove(join(root, "app.py"));
  await until(() => !has("app.py"), "a deleted file leaves the index");

  // A folder made with files in it at once, then a file added to it once it is watched.
  await Deno.mkdir(join(root, "reports", "monthly"), { recursive: true });
  await Deno.writeTextFile(join(root, "reports", "monthly", "june.py"), "def june():\n    pass\n");
  await until(() => has("reports/monthly/june.py"), "a file in a new folder is indexed");
  await until(
    () => indexer.watchedFolders().includes("reports/monthly"),
    "a new folder is watched",
  );
  await Deno.writeTextFile(join(root, "reports", "monthly", "july.py"), "def july():\n    pass\n");
  await until(() => has("reports/monthly/july.py"), "a file added to a new folder is indexed");

  await Deno.rename(join(root, "reports"), join(root, "archive"));
  await until(
    () =>
      has("archive/monthly/june.py") && has("archive/monthly/july.py") &&
      !store.paths().some((path) => path.startsWith("reports/")),
    "a moved folder takes its files to the new name",
  );
  assert.ok(!indexer.watchedFolders().includes("reports/monthly"));
  await Deno.writeTextFile(join(root, "archive", "monthly", "may.py"), "def may():\n    pass\n");
  await until(() => has("archive/monthly/may.py"), "the moved folder is watched");
  await Deno.remove(join(root, "archive"), { recursive: true });
  await until(
    () => !store.paths().some((path) => path.startsWith("archive/")),
    "a removed folder takes its files out of the index",
  );

  // A folder removed and made again under its name: the new one is watched too.
  await Deno.remove(join(root, "billing"), { recursive: true });
  await Deno.mkdir(join(root, "billing"));
  await Deno.writeTextFile(join(root, "billing", "ledger.py"), "def ledger():\n    pass\n");
  await until(
    () => has("billing/ledger.py") && !has("billing/invoice.py") && !has("billing/credit.py"),
    "a folder made again holds only its new files",
  );
  await Deno.writeTextFile(join(root, "billing", "journal.py"), "def journal():\n    pass\n");
  await until(() => has("billing/journal.py"), "the folder made again is watched");

  // What the walk skips stays out, and changes on disk do not count as skipped.
  await Deno.writeTextFile(join(root, "node_modules", "dep", "extra.js"), "export const x = 1;\n");
  await Deno.mkdir(join(root, "dist"));
  await Deno.writeTextFile(join(root, "dist", "bundle.js"), "export const y = 2;\n");
  await Deno.writeTextFile(join(root, "notes.log"), "not code\n");
  await Deno.writeTextFile(join(root, "billing", "late.py"), "def late():\n    pass\n");
  await until(() => has("billing/late.py"), "a change after them is indexed");
  assert.ok(!store.paths().some((path) => /node_modules|dist|notes/.test(path)));
  assert.ok(!indexer.watchedFolders().includes("dist"), "an ignored new folder is not watched");
  await indexer.idle();
  assert.deepEqual(indexer.progress().skipped, skipped);
  await indexer.close();
  await store.close();
});

Deno.test("Indexer.watch() walks the whole project again when git's HEAD moves", async () => {
  const root = await gitProject();
  const { store, stateDir, indexer, lines } = await watched(root);
  await indexer.idle();
  // A checkout: files change, one goes, one comes, then HEAD is replaced (git writes HEAD.lock).
  await Deno.writeTextFile(join(root, "app.py"), "def on_branch_feature():\n    pass\n");
  await Deno.remove(join(root, "web", "checkout.ts"));
  await Deno.writeTextFile(join(root, "web", "cart.ts"), "export const cartTotal = 0;\n");
  await Deno.writeTextFile(join(root, ".git", "HEAD.lock"), "ref: refs/heads/feature\n");
  await Deno.rename(join(root, ".git", "HEAD.lock"), join(root, ".git", "HEAD"));
  await until(
    () => lines.some((line) => /HEAD of .*\.git changed: walking .* again/.test(line)),
    `a HEAD change asks for a walk: ${lines.join("; ")}`,
  );
  await until(async () => {
    const paths = store.paths();
    return paths.includes("web/cart.ts") && !paths.includes("web/checkout.ts") &&
      (await indexedTexts(stateDir)).includes("on_branch_feature");
  }, "the index follows the checkout");
  // index.lock and the like (every `git status` writes them) ask for nothing.
  const walks = lines.filter((line) => line.includes("walking")).length;
  await Deno.writeTextFile(join(root, ".git", "index.lock"), "x");
  await Deno.remove(join(root, ".git", "index.lock"));
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(lines.filter((line) => line.includes("walking")).length, walks);
  await indexer.close();
  await store.close();
});

Deno.test("Indexer.watch() counts a file left out once when a walk begins while the first is indexed", async () => {
  const root = await gitProject();
  // Binary, and the last file of the walk: the walk begun below reaches it last.
  await Deno.writeFile(join(root, "web", "widget.py"), new Uint8Array([0x50, 0, 1, 2]));
  const stateDir = await Deno.makeTempDir();
  const store = await IndexStore.open(stateDir, embedder);
  const { log, lines } = keptLog();
  // The first walk's files wait at the one before it until HEAD's move has begun another walk:
  // the counts start again, and the first walk's web/widget.py is taken before the new walk
  // queues it again. Counted for both walks, it was counted twice.
  const walkedAgain = Promise.withResolvers<void>();
  const indexer = new Indexer(root, store, embedder, {
    log: {
      ...log,
      info: (message) => {
        log.info(message);
        if (/walking .* again/.test(message)) walkedAgain.resolve();
      },
    },
    outline: async (path) => {
      if (path === "web/session.ts") await walkedAgain.promise;
      return undefined;
    },
    watch: { debounceMs: 50 },
  });
  try {
    await indexer.watch();
    await Deno.writeTextFile(join(root, ".git", "HEAD"), "ref: refs/heads/feature\n");
    await until(() => lines.some((line) => /HEAD .* walking/.test(line)), "HEAD moved");
    await indexer.idle();
    assert.ok(store.paths().includes("web/session.ts"));
    assert.deepEqual(indexer.progress().skipped, { ignored: 6, binary: 2 });
  } finally {
    await indexer.close();
    await store.close();
  }
});

Deno.test("Indexer.watch() rescans a project with more folders than the budget, with one warning", async () => {
  const root = await gitProject();
  const { store, indexer, lines } = await watched(root, { maxDirs: 3, rescanMs: 200 });
  assert.equal(indexer.progress().watching, "rescan");
  assert.deepEqual(indexer.watchedFolders(), []);
  const has = (path: string) => store.paths().includes(path);
  await Deno.writeTextFile(join(root, "billing", "refunds.py"), "def refund():\n    pass\n");
  await Deno.remove(join(root, "app.py"));
  await until(() => has("billing/refunds.py") && !has("app.py"), "a rescan finds the changes");
  await new Promise((resolve) => setTimeout(resolve, 500));
  const warnings = lines.filter((line) => line.startsWith("warn"));
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(warnings[0], /more than the 3 allowed\): walking it every 0.2 s instead/);
  assert.ok(!lines.some((line) => line.startsWith("error")), lines.join("\n"));
  await indexer.close();
  assert.equal(indexer.progress().watching, "off");
  await store.close();
});

Deno.test("Indexer.watch() rescans where the OS refuses to watch (no inotify watches left)", async () => {
  const root = await gitProject();
  const refuse = () => {
    throw new Error(`OS file watch limit reached. about ["${root}/web"]`);
  };
  const { store, indexer, lines } = await watched(root, { rescanMs: 200, watchFs: refuse });
  assert.equal(indexer.progress().watching, "rescan");
  assert.ok(lines.some((line) => /warn .*OS file watch limit reached/.test(line)));
  await Deno.writeTextFile(join(root, "web", "cart.ts"), "export const cartTotal = 0;\n");
  await until(() => store.paths().includes("web/cart.ts"), "a rescan finds the new file");
  await indexer.close();
  await store.close();
});

/** A stand-in for the OS watcher that reports only the events a test sends. */
function scriptedWatchFs() {
  const queue: Deno.FsEvent[] = [];
  let wake = () => {};
  let closed = false;
  const close = () => {
    closed = true;
    wake();
  };
  const watchFs = () =>
    ({
      close,
      [Symbol.dispose]: close,
      async *[Symbol.asyncIterator]() {
        while (!closed) {
          const event = queue.shift();
          if (event) yield event;
          else await new Promise<void>((resolve) => wake = resolve);
        }
      },
    }) as unknown as Deno.FsWatcher;
  return {
    watchFs,
    send(event: Deno.FsEvent) {
      queue.push(event);
      wake();
    },
  };
}

Deno.test("Indexer.watch() walks the project again when the OS says events were lost", async () => {
  const root = await gitProject();
  const os = scriptedWatchFs();
  const { store, stateDir, indexer, lines } = await watched(root, { watchFs: os.watchFs });
  await indexer.idle();
  assert.equal(indexer.progress().watching, "events");
  // Changes the OS never reported (its queue overflowed while this thread was busy).
  await Deno.writeTextFile(join(root, "app.py"), "def after_the_burst():\n    pass\n");
  await Deno.writeTextFile(join(root, "web", "cart.ts"), "export const cartTotal = 0;\n");
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.ok(!store.paths().includes("web/cart.ts"), "nothing reported, nothing indexed");
  os.send({ kind: "any", paths: [root], flag: "rescan" });
  await until(async () =>
    store.paths().includes("web/cart.ts") &&
    (await indexedTexts(stateDir)).includes("after_the_burst"), "a walk finds what was lost");
  assert.ok(lines.some((line) => /change events were lost: walking/.test(line)), lines.join("\n"));
  await indexer.close();
  await store.close();
});

Deno.test("Indexer.close() stops rescanning at once", async () => {
  const root = await gitProject();
  const { store, indexer, lines } = await watched(root, { maxDirs: 1, rescanMs: 20 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = performance.now();
  await indexer.close();
  assert.ok(performance.now() - started < 1000);
  await store.close();
  // A rescan after this would use the closed store and log an error.
  await Deno.writeTextFile(join(root, "billing", "refunds.py"), "def refund():\n    pass\n");
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.ok(!lines.some((line) => line.startsWith("error")), lines.join("\n"));
});

Deno.test("fileVersion() changes when a file is written, and vouches for no file changed just now", async () => {
  const path = join(await Deno.makeTempDir(), "a.py");
  await Deno.writeTextFile(path, "a = 1\n");
  const later = Date.now() + 10_000;
  const first = fileVersion(await Deno.lstat(path), later);
  assert.ok(first);
  assert.equal(fileVersion(await Deno.lstat(path), later), first);
  assert.equal(fileVersion(await Deno.lstat(path)), undefined, "written in the last two seconds");
  await new Promise((resolve) => setTimeout(resolve, 5));
  await Deno.writeTextFile(path, "a = 2\n"); // Same size.
  assert.notEqual(fileVersion(await Deno.lstat(path), later), first);
});

/** Whether this machine lets a test make a user namespace with its own inotify limit. */
const canLimitWatches = (await new Deno.Command("unshare", {
  args: ["-Ur", "sh", "-c", "echo 16 > /proc/sys/user/max_inotify_watches"],
  stdout: "null",
  stderr: "null",
}).output().catch(() => ({ success: false }))).success;

Deno.test({
  name: "Indexer.watch() rescans when the user's inotify watches run out (ENOSPC)",
  ignore: !canLimitWatches,
  fn: async () => {
    const root = await gitProject();
    for (let i = 0; i < 30; i++) await Deno.mkdir(join(root, "src", `pkg${i}`));
    const probe = new URL("./watch_limit_probe.ts", import.meta.url).pathname;
    const { code, stdout, stderr } = await new Deno.Command("unshare", {
      args: [
        "-Ur",
        "sh",
        "-c",
        'echo 16 > /proc/sys/user/max_inotify_watches && exec "$@"',
        "sh",
        Deno.execPath(),
        "run",
        "-A",
        probe,
        root,
      ],
      env: { NO_COLOR: "1" },
    }).output();
    const output = new TextDecoder().decode(stdout);
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const progress = JSON.parse(output);
    assert.equal(progress.watching, "rescan");
    assert.equal(progress.files, 6, "indexed all the same");
    assert.equal(progress.warnings.length, 1, progress.warnings.join("\n"));
    assert.match(progress.warnings[0], /OS file watch limit reached/);
  },
});
