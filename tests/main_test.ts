/** The command line, run as its deno.json tasks run it. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { taskArgs, tempCacheDir } from "./_helpers/sidecar.ts";

async function run(task: string, args: string[], cacheDir: string, env?: Record<string, string>) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...await taskArgs(task), ...args],
    env: env ?? { AST_COMPLETE_CACHE_DIR: cacheDir, NO_COLOR: "1" },
    clearEnv: env !== undefined,
    stdin: "null",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("main.ts complete FILE:LINE:COL prints one completion to stdout", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "fib.py");
  await Deno.writeTextFile(
    file,
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return \n",
  );
  const { code, stdout, stderr } = await run("complete", [`${file}:4:12`], await tempCacheDir());
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^fibonacci\(n\s*-\s*[12]\).*\n$/);
});

Deno.test("main.ts complete explains a bad position and exits 1", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "a.py");
  await Deno.writeTextFile(file, "x = 1\n");
  const cacheDir = await tempCacheDir();
  const missing = await run("complete", [`${file}`], cacheDir);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Expected FILE:LINE:COL/);
  const past = await run("complete", [`${file}:9:1`], cacheDir);
  assert.equal(past.code, 1);
  assert.match(past.stderr, /Position past the end of the document/);
  assert.equal(past.stdout, "");
});

Deno.test("main.ts models list shows each pinned model and whether it is present", async () => {
  const empty = await Deno.makeTempDir();
  const { code, stdout } = await run("models", ["list"], empty);
  assert.equal(code, 0);
  assert.match(
    stdout,
    /qwen2\.5-coder-0\.5b-instruct-q4_k_m-tied\tgenerator\tfim\t347 MB\tmissing/,
  );
  assert.match(stdout, /smollm2-135m-instruct-q4_1\tgenerator\tchat\t98 MB\tmissing/);
  // Pulled only on request (the 491 MB 0.5B as what the default one is made from): available.
  assert.match(stdout, /qwen2\.5-coder-0\.5b-instruct-q4_k_m\tgenerator\tfim\t491 MB\tavailable/);
  assert.match(stdout, /qwen2\.5-coder-1\.5b-instruct-q4_k_m\tgenerator\tfim\t1117 MB\tavailable/);
  const verify = await run("models", ["verify"], empty);
  assert.equal(verify.code, 1);
  assert.match(verify.stderr, /missing or corrupt: run `deno task models pull`/);
  assert.match(verify.stdout, /qwen2\.5-coder-0\.5b-instruct-q4_k_m-tied\tmissing/);
  assert.doesNotMatch(verify.stdout, /1\.5b/, "what a plain pull leaves out is not missing");
});

Deno.test("main.ts models finds the cache under HOME when no cache variable is set", async () => {
  const home = await Deno.makeTempDir();
  const env = { HOME: home, PATH: Deno.env.get("PATH") ?? "", NO_COLOR: "1" };
  const { code, stdout, stderr } = await run("models", ["list"], "", env);
  assert.equal(code, 0, stderr);
  assert.ok(stdout.includes(`missing\t${home}/.cache/ast-complete/models/`), stdout);
});
