/** Where model files live in the cache, and whether they are intact. */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { LockedModel } from "./lock.ts";

/** The folder holding model files. */
export function modelsDir(cacheDir: string): string {
  return join(cacheDir, "models");
}

/** Where a pinned model's file is expected. */
export function modelPath(cacheDir: string, model: LockedModel): string {
  return join(modelsDir(cacheDir), model.file);
}

/**
 * Hashes a file with sha256, reading it in large chunks.
 *
 * @param onBytes Called with the running count of bytes hashed.
 * @returns The lowercase hex digest.
 */
export async function sha256File(
  path: string,
  onBytes?: (bytes: number) => void,
): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(4 * 1024 * 1024);
  let total = 0;
  for (;;) {
    const read = await file.read(buffer);
    if (read === null) break;
    hash.update(buffer.subarray(0, read));
    total += read;
    onBytes?.(total);
  }
  return hash.digest("hex");
}

/** A model file's condition. */
export interface ModelFileCheck {
  /** "outdated": intact, as verified when pulled, but pinned by an earlier models.lock. */
  state: "present" | "missing" | "corrupt" | "outdated";
  path: string;
  /**
   * For "corrupt" and "outdated": what is wrong, as the rest of a sentence
   * that starts with the path ("is truncated: 1234 of 491400064 bytes").
   */
  detail?: string;
}

interface VerifiedStamp {
  sha256: string;
  size: number;
  mtimeMs: number;
}

/**
 * Checks a model file against its pin. A full sha256 is computed once and
 * remembered in a stamp beside the file; later checks compare size and mtime
 * with the stamp unless `full` is set.
 */
export async function checkModelFile(
  cacheDir: string,
  model: LockedModel,
  options: { full?: boolean } = {},
): Promise<ModelFileCheck> {
  const path = modelPath(cacheDir, model);
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch {
    return { state: "missing", path };
  }
  const mtimeMs = stat.mtime?.getTime() ?? 0;
  const stampPath = `${path}.verified`;
  const stamp = await readStamp(stampPath);
  // The file is as it was when its sha256 was last computed.
  const intact = stamp !== undefined && stamp.size === stat.size && stamp.mtimeMs === mtimeMs;
  if (intact && stamp.sha256 !== model.sha256) {
    return {
      state: "outdated",
      path,
      detail: `is an earlier pin (sha256 ${stamp.sha256}); models.lock now pins ${model.sha256}`,
    };
  }
  if (stat.size !== model.size) {
    const how = stat.size < model.size ? "truncated" : "larger than its pin";
    return { state: "corrupt", path, detail: `is ${how}: ${stat.size} of ${model.size} bytes` };
  }
  if (!options.full && intact) return { state: "present", path };
  const digest = await sha256File(path);
  if (digest !== model.sha256) {
    return {
      state: "corrupt",
      path,
      detail: `does not match its pin: sha256 is ${digest}, expected ${model.sha256}`,
    };
  }
  const verified: VerifiedStamp = { sha256: digest, size: stat.size, mtimeMs };
  await Deno.writeTextFile(stampPath, JSON.stringify(verified));
  return { state: "present", path };
}

async function readStamp(path: string): Promise<VerifiedStamp | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as VerifiedStamp;
  } catch {
    return undefined;
  }
}

/** Writes all of `data` (a file's write may take only part of it). */
export async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) {
    written += await file.write(data.subarray(written));
  }
}
