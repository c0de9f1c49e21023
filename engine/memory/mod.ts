/**
 * The C allocator the native libraries share (llama.cpp, onnxruntime,
 * SQLite), tuned to give memory back: glibc keeps what a thread freed in
 * that thread's arena, and once a large buffer has been freed it serves
 * buffers of that size from the heap, which it seldom returns. llama.cpp
 * reads the model through such buffers, then keeps only its own copy.
 * On other systems, or without FFI permission, nothing changes.
 *
 * @module
 */

/** glibc's mallopt parameters (malloc.h). */
const M_MMAP_THRESHOLD = -3;
const M_ARENA_MAX = -8;

/**
 * Buffers from this size up are mapped on their own and unmapped when freed.
 * Fixing it turns off glibc's raising of the threshold to the largest buffer
 * freed so far.
 */
const MMAP_THRESHOLD_BYTES = 128 * 1024;

/** Arenas the threads share at most (glibc's default is eight per core). */
const ARENA_MAX = 2;

const symbols = {
  mallopt: { parameters: ["i32", "i32"], result: "i32" },
  malloc_trim: { parameters: ["usize"], result: "i32" },
} as const;

let glibc: Deno.DynamicLibrary<typeof symbols>["symbols"] | null | undefined;

/** glibc's functions, or null where there is no glibc or no permission to call it. */
function openGlibc(): Deno.DynamicLibrary<typeof symbols>["symbols"] | null {
  if (glibc !== undefined) return glibc;
  glibc = null;
  if (Deno.build.os !== "linux") return glibc;
  try {
    glibc = Deno.dlopen("libc.so.6", symbols).symbols;
  } catch {
    // musl, or no --allow-ffi: the allocator keeps its defaults.
  }
  return glibc;
}

/**
 * Sets the allocator up to return what is freed. Call it before the native
 * libraries allocate much; calling it again changes nothing.
 *
 * @returns Whether the allocator was tuned.
 */
export function tuneAllocator(): boolean {
  const libc = openGlibc();
  if (!libc) return false;
  return libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) === 1 &&
    libc.mallopt(M_ARENA_MAX, ARENA_MAX) === 1;
}

/** Returns freed heap memory to the system, e.g. after a model load's buffers are gone. */
export function releaseFreedMemory(): void {
  openGlibc()?.malloc_trim(0n);
}
