/**
 * Run by allocator_test.ts in a process of its own (the allocator's settings
 * are the process's): allocates C buffers the way a model load does, frees
 * them, and prints how much of them the process still holds, in MiB.
 * Argument: "tuned" to call tuneAllocator first, "default" not to.
 */
import { releaseFreedMemory, tuneAllocator } from "../../engine/memory/mod.ts";

const libc = Deno.dlopen("libc.so.6", {
  malloc: { parameters: ["usize"], result: "pointer" },
  free: { parameters: ["pointer"], result: "void" },
  memset: { parameters: ["pointer", "i32", "usize"], result: "pointer" },
}).symbols;

function rssMib(): number {
  return Deno.memoryUsage().rss / 2 ** 20;
}

function allocate(bytes: number): Deno.PointerValue {
  const pointer = libc.malloc(BigInt(bytes));
  libc.memset(pointer, 1, BigInt(bytes));
  return pointer;
}

if (Deno.args[0] === "tuned" && !tuneAllocator()) throw new Error("tuneAllocator refused");
// A large buffer freed: glibc raises its mmap threshold to that size (up to 32 MiB).
libc.free(allocate(16 << 20));
const before = rssMib();
const large: Deno.PointerValue[] = [], small: Deno.PointerValue[] = [];
const kept: Deno.PointerValue[] = [];
for (let index = 0; index < 96; index++) {
  large.push(allocate(1 << 20));
  // Small buffers that stay between them, as a loader's bookkeeping does.
  for (let piece = 0; piece < 16; piece++) {
    small.push(allocate(32 << 10));
    kept.push(allocate(64));
  }
}
for (const pointer of [...large, ...small]) libc.free(pointer);
const afterFree = rssMib() - before;
releaseFreedMemory();
const afterRelease = rssMib() - before;
console.log(JSON.stringify({ afterFree, afterRelease, kept: kept.length }));
