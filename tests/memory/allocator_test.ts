import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const FIXTURE = fileURLToPath(new URL("./allocator_fixture.ts", import.meta.url));

/** Buffers allocated: 96 of 1 MiB and 1,536 of 32 KiB, 144 MiB in all. */
const ALLOCATED_MIB = 144;

async function retained(mode: "tuned" | "default") {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", FIXTURE, mode],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout)) as {
    afterFree: number;
    afterRelease: number;
  };
}

Deno.test({
  name: "a tuned allocator gives freed buffers back; an untuned one keeps them",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const untuned = await retained("default");
    const tuned = await retained("tuned");
    // Untuned, glibc serves the 1 MiB buffers from its heap after a 16 MiB one was freed.
    assert.ok(untuned.afterFree > ALLOCATED_MIB * 0.8, `untuned kept ${untuned.afterFree} MiB`);
    // Tuned, each 1 MiB buffer is mapped on its own and unmapped when freed; the 32 KiB ones
    // stay in the heap until they are released.
    assert.ok(tuned.afterFree < untuned.afterFree - 80, `tuned kept ${tuned.afterFree} MiB`);
    assert.ok(tuned.afterRelease < 16, `tuned kept ${tuned.afterRelease} MiB after release`);
  },
});
