/**
 * Which folders may be workspaces: judged by real path, never "/" or the home
 * folder, and without explicit roots only a project root.
 */
import assert from "node:assert/strict";
import { homedir } from "node:os";
import { join } from "node:path";
import { checkChosenRoot, checkWorkspaceRoot } from "../../engine/session/workspace_root.ts";
import { EngineError } from "../../engine/protocol/errors.ts";
import { ErrorCode } from "../../engine/protocol/mod.ts";

function refusedWith(code: number, message: RegExp) {
  return (error: unknown) =>
    error instanceof EngineError && error.code === code && message.test(error.message);
}

Deno.test("checkWorkspaceRoot() refuses the filesystem root and the home folder, even when allowed", async () => {
  await assert.rejects(
    checkWorkspaceRoot("/", ["/"]),
    refusedWith(ErrorCode.WorkspaceNotAllowed, /filesystem root/),
  );
  await assert.rejects(
    checkWorkspaceRoot(homedir(), [homedir()]),
    refusedWith(ErrorCode.WorkspaceNotAllowed, /home folder/),
  );
  await assert.rejects(
    checkWorkspaceRoot(`${homedir()}/.`, []),
    refusedWith(ErrorCode.WorkspaceNotAllowed, /home folder/),
  );
});

Deno.test("checkWorkspaceRoot() without explicit roots takes a project root, not any folder", async () => {
  const plain = await Deno.realPath(await Deno.makeTempDir());
  await assert.rejects(
    checkWorkspaceRoot(plain, []),
    refusedWith(ErrorCode.WorkspaceNotAllowed, /no project marker/),
  );
  await Deno.mkdir(join(plain, ".git"));
  assert.equal(await checkWorkspaceRoot(plain, []), plain);
  await assert.rejects(
    checkWorkspaceRoot(join(plain, "missing"), []),
    refusedWith(ErrorCode.InvalidParams, /is not a folder/),
  );
});

Deno.test("checkWorkspaceRoot() follows symlinks to the real folder before judging it", async () => {
  const allowed = await Deno.realPath(await Deno.makeTempDir());
  const outside = await Deno.realPath(await Deno.makeTempDir());
  await Deno.writeTextFile(join(outside, "package.json"), "{}");
  await Deno.mkdir(join(allowed, "inner"));
  await Deno.symlink(outside, join(allowed, "escape"));
  await Deno.symlink(join(allowed, "inner"), join(outside, "back-in"));
  await assert.rejects(
    checkWorkspaceRoot(join(allowed, "escape"), [allowed]),
    refusedWith(ErrorCode.WorkspaceNotAllowed, /outside/),
  );
  assert.equal(await checkWorkspaceRoot(join(allowed, "inner"), [allowed]), join(allowed, "inner"));
  assert.equal(
    await checkWorkspaceRoot(join(outside, "back-in"), [allowed]),
    join(allowed, "inner"),
    "the real path is what is allowed, and what is returned",
  );
  await assert.rejects(
    checkWorkspaceRoot(`${allowed}-sibling`, [allowed]),
    refusedWith(ErrorCode.InvalidParams, /is not a folder/),
  );
});

Deno.test("checkChosenRoot() takes any folder named on the command line but / and home", async () => {
  const plain = await Deno.realPath(await Deno.makeTempDir());
  assert.equal(await checkChosenRoot(plain), plain, "no project marker needed");
  await assert.rejects(
    checkChosenRoot("/"),
    refusedWith(ErrorCode.WorkspaceNotAllowed, /filesystem root/),
  );
  await assert.rejects(
    checkChosenRoot(homedir()),
    refusedWith(ErrorCode.WorkspaceNotAllowed, /home folder/),
  );
});
