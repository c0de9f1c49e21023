/**
 * The Zed extension, natively: its unit tests pass and clippy finds nothing.
 * No wasm32 target exists here; Zed compiles the extension to WebAssembly itself.
 */
import assert from "node:assert/strict";
import { join } from "node:path";

const MANIFEST = new URL("../../adapters/zed/Cargo.toml", import.meta.url).pathname;

/** cargo on PATH, else where rustup puts it. */
async function cargo(): Promise<string> {
  const home = join(Deno.env.get("HOME") ?? "/root", ".cargo", "bin", "cargo");
  const onPath = await new Deno.Command("cargo", {
    args: ["--version"],
    stdout: "null",
    stderr: "null",
  })
    .output().then((output) => output.success, () => false);
  return onPath ? "cargo" : home;
}

async function run(args: string[]): Promise<string> {
  const output = await new Deno.Command(await cargo(), { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  assert.ok(output.success, `cargo ${args.join(" ")} failed:\n${text.slice(-4000)}`);
  return text;
}

Deno.test("Zed extension: cargo test passes", async () => {
  const text = await run(["test", "--manifest-path", MANIFEST]);
  assert.match(text, /test result: ok\. 3 passed/);
});

Deno.test("Zed extension: cargo clippy finds nothing", async () => {
  await run(["clippy", "--manifest-path", MANIFEST, "--all-targets", "--", "-D", "warnings"]);
});
