/**
 * The endpoint's bearer token: where it comes from (the environment, else a
 * private token file kept across starts, never the command line), and the
 * `http-token` and `lsp` commands that hand it out or refuse it in argv.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { resolveHttpToken, TOKEN_ENV, tokenMatcher, tokenPath } from "../../engine/http/token.ts";
import { taskArgs } from "../_helpers/sidecar.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Runs `test` in a fresh cache directory with AST_COMPLETE_HTTP_TOKEN unset (or `env`). */
async function inCache(
  test: (cacheDir: string) => Promise<void>,
  env?: string,
): Promise<void> {
  const cacheDir = await Deno.makeTempDir({ prefix: "ast-complete-token-" });
  const saved = Deno.env.get(TOKEN_ENV);
  if (env === undefined) Deno.env.delete(TOKEN_ENV);
  else Deno.env.set(TOKEN_ENV, env);
  try {
    await test(cacheDir);
  } finally {
    if (saved === undefined) Deno.env.delete(TOKEN_ENV);
    else Deno.env.set(TOKEN_ENV, saved);
    await Deno.remove(cacheDir, { recursive: true });
  }
}

/** The permission bits of a file. */
async function modeOf(path: string): Promise<number> {
  return (await Deno.lstat(path)).mode! & 0o777;
}

/** Fails the test on any warning. */
function noWarning(message: string): never {
  throw new Error(`Unexpected warning: ${message}`);
}

Deno.test("the token file is made once, 32 random bytes, mode 0600, and reused", async () => {
  await inCache(async (cacheDir) => {
    const first = await resolveHttpToken(cacheDir, noWarning);
    const path = tokenPath(cacheDir);
    assert.equal(first.source, path);
    assert.match(first.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(await modeOf(path), 0o600);
    assert.equal((await Deno.readTextFile(path)).trim(), first.token);
    const entries = [];
    for await (const entry of Deno.readDir(cacheDir)) entries.push(entry.name);
    assert.deepEqual(entries, ["http-token"], "no temporary file left behind");
    const again = await resolveHttpToken(cacheDir, noWarning);
    assert.equal(again.token, first.token, "the next start keeps the token");
    const otherDir = await Deno.makeTempDir({ prefix: "ast-complete-token-" });
    try {
      const other = await resolveHttpToken(otherDir, noWarning);
      assert.notEqual(other.token, first.token, "another cache gets another token");
    } finally {
      await Deno.remove(otherDir, { recursive: true });
    }
  });
});

Deno.test("editors starting together agree on one token", async () => {
  await inCache(async (cacheDir) => {
    const tokens = await Promise.all(
      Array.from({ length: 8 }, () => resolveHttpToken(cacheDir, noWarning)),
    );
    const file = (await Deno.readTextFile(tokenPath(cacheDir))).trim();
    assert.deepEqual(tokens.map(({ token }) => token), Array(8).fill(file));
  });
});

Deno.test("a token file other users could read, or a link, is replaced by a new token", async () => {
  await inCache(async (cacheDir) => {
    const path = tokenPath(cacheDir);
    const leaked = "A".repeat(43);
    const cases: [string, () => Promise<void>][] = [
      ["readable by others", async () => {
        await Deno.writeTextFile(path, `${leaked}\n`, { mode: 0o644 });
        await Deno.chmod(path, 0o644);
      }],
      ["readable by the group", async () => {
        await Deno.writeTextFile(path, `${leaked}\n`);
        await Deno.chmod(path, 0o640);
      }],
      ["a symbolic link", async () => {
        const target = join(cacheDir, "elsewhere");
        await Deno.writeTextFile(target, `${leaked}\n`, { mode: 0o600 });
        await Deno.symlink(target, path);
      }],
    ];
    for (const [name, make] of cases) {
      await Deno.remove(path).catch(() => {});
      await make();
      const warnings: string[] = [];
      const { token } = await resolveHttpToken(cacheDir, (message) => warnings.push(message));
      assert.notEqual(token, leaked, name);
      assert.match(token, /^[A-Za-z0-9_-]{43}$/, name);
      assert.equal(await modeOf(path), 0o600, name);
      assert.equal((await Deno.readTextFile(path)).trim(), token, name);
      assert.equal(warnings.length, 1, name);
      assert.match(warnings[0], /open to other users/, name);
    }
  });
});

Deno.test("AST_COMPLETE_HTTP_TOKEN wins over the file; a weak one is refused", async () => {
  const strong = "env-token-0123456789abcdef";
  await inCache(async (cacheDir) => {
    assert.deepEqual(await resolveHttpToken(cacheDir, noWarning), {
      token: strong,
      source: TOKEN_ENV,
    });
    await assert.rejects(Deno.lstat(tokenPath(cacheDir)), Deno.errors.NotFound, "no file made");
  }, strong);
  for (const weak of ["short", "with a space in it, long enough"]) {
    await inCache(async (cacheDir) => {
      await assert.rejects(resolveHttpToken(cacheDir, noWarning), {
        name: "Error",
        message: `${TOKEN_ENV} must be at least 16 printable ASCII characters without spaces`,
      });
    }, weak);
  }
});

Deno.test("the matcher accepts the token and nothing else", () => {
  const matches = tokenMatcher("s3cret-token-value");
  assert.equal(matches("s3cret-token-value"), true);
  for (const other of ["", "s3cret-token-valu", "s3cret-token-value ", "S3cret-token-value"]) {
    assert.equal(matches(other), false, JSON.stringify(other));
  }
});

/** Runs a deno.json task with extra arguments in a cache directory. */
async function runTask(task: string, args: string[], cacheDir: string) {
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    AST_COMPLETE_CACHE_DIR: cacheDir,
    NO_COLOR: "1",
  };
  delete env[TOKEN_ENV];
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...await taskArgs(task), ...args],
    cwd: ROOT,
    env,
    clearEnv: true,
    stdin: "null",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("`task http-token` prints the token file's token, making it if needed", async () => {
  await inCache(async (cacheDir) => {
    const first = await runTask("http-token", [], cacheDir);
    assert.equal(first.code, 0, first.stderr);
    const file = (await Deno.readTextFile(tokenPath(cacheDir))).trim();
    assert.equal(first.stdout, `${file}\n`, "the token alone on stdout");
    assert.equal(await modeOf(tokenPath(cacheDir)), 0o600);
    const again = await runTask("http-token", [], cacheDir);
    assert.equal(again.stdout, first.stdout);
  });
});

Deno.test("`task lsp --http-token` is refused with where the token goes instead", async () => {
  await inCache(async (cacheDir) => {
    const run = await runTask(
      "lsp",
      ["--http-port", "0", "--http-token", "in-argv-0123456789"],
      cacheDir,
    );
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--http-token is refused/);
    assert.match(run.stderr, /AST_COMPLETE_HTTP_TOKEN/);
    assert.match(run.stderr, /http-token` prints it/);
  });
});
