/**
 * The real sidecar keeps its workspace's index fresh by itself: files are
 * changed, added (also in a new folder), renamed and deleted on disk, with no
 * editor telling it, and the index follows; node_modules stays out; a branch
 * switch (HEAD replaced, several files changed at once) is followed too.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { MessageConnection } from "vscode-jsonrpc/node";
import { projectStateDir } from "../../engine/config/mod.ts";
import type { StatusRequest } from "../../engine/protocol/mod.ts";
import {
  connectWithRetry,
  rpc,
  shutdown,
  type SpawnedSidecar,
  spawnSidecar,
} from "../_helpers/sidecar.ts";
import { fixtureProject, indexedTexts } from "../_helpers/project.ts";

type IndexStatus = StatusRequest.Result["index"] & { watching?: string };

async function indexStatus(connection: MessageConnection): Promise<IndexStatus> {
  return (await connection.sendRequest<StatusRequest.Result>("status", {})).index;
}

async function waitForIndex(connection: MessageConnection, files: number): Promise<IndexStatus> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const index = await indexStatus(connection);
    if (index.state === "idle" && index.files >= files) return index;
    if (Date.now() > deadline) throw new Error(`Index stayed ${JSON.stringify(index)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The paths the index holds, read from its SQLite file as another process would. */
async function indexedPaths(stateDir: string): Promise<string[]> {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(join(stateDir, "index.sqlite"), { readOnly: true });
  const rows = db.prepare("SELECT path FROM files ORDER BY path").all() as { path: string }[];
  db.close();
  return rows.map((row) => row.path);
}

/** Polls for up to 10 s until `condition` holds, then asserts it. */
async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition()) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(await condition(), what);
}

Deno.test("the sidecar follows changes on disk and a branch switch without any save", async () => {
  const root = await Deno.realPath(await fixtureProject());
  await Deno.mkdir(join(root, ".git", "refs", "heads"), { recursive: true });
  await Deno.writeTextFile(join(root, ".git", "HEAD"), "ref: refs/heads/main\n");
  const sidecar = await spawnSidecar({ workspace: root, model: "smollm2-135m-instruct-q4_1" });
  try {
    await followsChanges(root, sidecar);
  } catch (error) {
    sidecar.child.kill();
    throw error;
  }
});

async function followsChanges(root: string, sidecar: SpawnedSidecar): Promise<void> {
  const { socket } = await connectWithRetry(sidecar.expectedSocketPath, sidecar.child);
  const connection = rpc(socket);
  await connection.sendRequest("initialize", { workspaceRoot: root });
  const stateDir = projectStateDir(sidecar.cacheDir, root);
  const paths = () => indexedPaths(stateDir);
  const holds = async (path: string) => (await paths()).includes(path);

  const first = await waitForIndex(connection, 5);
  assert.equal(first.files, 5);
  assert.equal(first.watching, "events", "status says the project is watched");

  await Deno.writeTextFile(
    join(root, "web", "session.ts"),
    "export function rotateSessionKey(key: string): string {\n  return key;\n}\n",
  );
  await until("a file changed on disk is embedded again", async () => {
    const texts = await indexedTexts(stateDir);
    return texts.includes("rotateSessionKey") && !texts.includes("function createUserSession");
  });

  await Deno.writeTextFile(
    join(root, "billing", "refunds.py"),
    "def refund_invoice(invoice_id):\n    return invoice_id\n",
  );
  await until("a new file is indexed", () => holds("billing/refunds.py"));

  await Deno.mkdir(join(root, "reports", "monthly"), { recursive: true });
  await Deno.writeTextFile(
    join(root, "reports", "monthly", "june.py"),
    "def june_report():\n    pass\n",
  );
  await until("a file in a new folder is indexed", () => holds("reports/monthly/june.py"));

  await Deno.rename(join(root, "billing", "refunds.py"), join(root, "billing", "credits.py"));
  await until(
    "a renamed file leaves under its old name and comes back under its new one",
    async () => {
      const now = await paths();
      return now.includes("billing/credits.py") && !now.includes("billing/refunds.py");
    },
  );

  await Deno.remove(join(root, "app.py"));
  await until("a deleted file leaves the index", async () => !(await holds("app.py")));

  await Deno.mkdir(join(root, "node_modules", "fresh"), { recursive: true });
  await Deno.writeTextFile(
    join(root, "node_modules", "fresh", "index.js"),
    "export const a = 1;\n",
  );
  await Deno.writeTextFile(join(root, "node_modules", "dep", "extra.ts"), "export const b = 2;\n");
  // Changes are taken in order: once this later one is in, node_modules had its chance.
  await Deno.writeTextFile(join(root, "billing", "tax.py"), "def tax_rate():\n    return 0.2\n");
  await until("a file after node_modules' is indexed", () => holds("billing/tax.py"));
  assert.ok(
    !(await paths()).some((path) => path.startsWith("node_modules/")),
    "nothing under node_modules is indexed",
  );

  // A branch switch: several files change at once, then git replaces HEAD.
  await Deno.writeTextFile(
    join(root, "catalog", "products.py"),
    "def feature_catalog_lookup(sku):\n    return sku\n",
  );
  await Deno.remove(join(root, "web", "checkout.ts"));
  await Deno.writeTextFile(join(root, "web", "cart.ts"), "export const cartTotal = 0;\n");
  await Deno.mkdir(join(root, "feature"));
  await Deno.writeTextFile(join(root, "feature", "flags.py"), "FLAGS = {'beta': True}\n");
  await Deno.writeTextFile(join(root, ".git", "HEAD.lock"), "ref: refs/heads/feature\n");
  await Deno.rename(join(root, ".git", "HEAD.lock"), join(root, ".git", "HEAD"));
  const expected = [
    "billing/credits.py",
    "billing/invoice.py",
    "billing/tax.py",
    "catalog/products.py",
    "feature/flags.py",
    "reports/monthly/june.py",
    "web/cart.ts",
    "web/session.ts",
  ];
  await until("the index follows the branch switch", async () => {
    const now = await paths();
    return JSON.stringify(now) === JSON.stringify(expected) &&
      (await indexedTexts(stateDir)).includes("feature_catalog_lookup");
  });
  const last = await waitForIndex(connection, expected.length);
  assert.equal(last.files, expected.length, "status counts what the index holds");
  assert.equal(last.watching, "events");

  assert.equal(await shutdown(connection, sidecar), 0);
  const stderr = await sidecar.stderr;
  assert.match(stderr, /Watching \d+ folders of .* for changes/);
  assert.match(stderr, /HEAD of .*\.git changed: walking .* again/, "a HEAD move walks again");
}
