/**
 * GGUF model files: checks before llama.cpp maps one (llama.cpp refuses a
 * truncated or foreign file with only "Failed to load model"; these checks
 * name the file and what is wrong with it), and writing one less some tensors.
 */
import { GgufInsights, type Llama, readGgufFileInfo } from "node-llama-cpp";
import { ModelMissingError } from "../protocol/errors.ts";
import { writeAll } from "./store.ts";

/** Magic (4), version (4), tensor count (8), metadata count (8): the smallest GGUF header. */
const GGUF_HEADER_BYTES = 24;
const GGUF_MAGIC = "GGUF";

/**
 * Checks, cheaply, that `path` is a file that starts like a GGUF model.
 *
 * @returns The file's size in bytes.
 * @throws ModelMissingError naming the file: not found, not a file, too small or not GGUF.
 */
export async function checkGgufHeader(path: string): Promise<number> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new ModelMissingError(`Model file not found: ${path}`);
    }
    throw new ModelMissingError(`Model file ${path} cannot be read: ${(error as Error).message}`);
  }
  if (!stat.isFile) throw new ModelMissingError(`Model file ${path} is not a file`);
  if (stat.size < GGUF_HEADER_BYTES) {
    throw new ModelMissingError(
      `Model file ${path} is not a GGUF model: ${stat.size} bytes, less than a GGUF header`,
    );
  }
  const magic = new Uint8Array(GGUF_MAGIC.length);
  {
    using file = await Deno.open(path, { read: true });
    await file.read(magic);
  }
  if (new TextDecoder().decode(magic) !== GGUF_MAGIC) {
    const found = Array.from(magic, (byte) => byte.toString(16).padStart(2, "0")).join(" ");
    throw new ModelMissingError(
      `Model file ${path} is not a GGUF model: it starts with bytes ${found}, not "${GGUF_MAGIC}"`,
    );
  }
  return stat.size;
}

/**
 * Checks that `path` is a whole GGUF model: the header check above, a header
 * node-llama-cpp can read, and tensor data that fits in the file. `llama`
 * knows each tensor type's size. Reading the header takes about 0.2 s for
 * Qwen2.5-Coder 0.5B (its vocabulary is most of it); node-llama-cpp reads it
 * again when it loads the model.
 *
 * @throws ModelMissingError naming the file and the problem ("is truncated: 1234 of 491400064 bytes").
 */
export async function checkGgufFile(path: string, llama: Llama): Promise<void> {
  const size = await checkGgufHeader(path);
  let required: number;
  try {
    const info = await readGgufFileInfo(path, { sourceType: "filesystem", logWarnings: false });
    // The header, metadata and tensor table, then every tensor's data.
    const insights = await GgufInsights.from(info, llama);
    required = (info.infoEndOffset ?? 0) + insights.modelSize;
  } catch (error) {
    throw new ModelMissingError(
      `Model file ${path} has a GGUF header that cannot be read: ${(error as Error).message}`,
    );
  }
  if (size < required) {
    throw new ModelMissingError(`Model file ${path} is truncated: ${size} of ${required} bytes`);
  }
}

/** The GGUF version whose layout {@link writeGgufWithout} knows. */
const GGUF_VERSION = 3;
/** Where the header keeps the tensor count, a little-endian u64. */
const TENSOR_COUNT_OFFSET = 8;
/** GGUF's tensor data alignment unless general.alignment says otherwise. */
const DEFAULT_ALIGNMENT = 32;

/** One entry of the tensor table as it lies in the file. */
interface TensorEntry {
  name: string;
  /** The entry's bytes: name, dimensions, type and data offset. */
  bytes: Uint8Array;
  /** Where its data starts, relative to the data section. */
  offset: number;
}

/**
 * Writes the GGUF model at `source` less the tensors named in `drop` to
 * `target`: the same header and metadata, the same bytes for every other
 * tensor, their offsets moved up. For a model whose architecture ties its
 * output matrix to its token embeddings but whose GGUF carries a second,
 * separate copy of it (Qwen2.5-Coder 0.5B's: 145 MB of its 491), llama.cpp
 * then uses the embeddings for both, as the model was trained.
 *
 * A file cut inside its last tensor gives a file cut as short: the caller
 * checks what was written against a pin (see pullModel).
 *
 * @param onBytes Called with the running count of bytes written.
 * @throws Error naming the file when it is not a GGUF v3 file, its tensor table or data are not
 * where its header says, or it lacks a named tensor.
 */
export async function writeGgufWithout(
  source: string,
  target: string,
  drop: readonly string[],
  onBytes?: (bytes: number) => void,
): Promise<void> {
  const info = await readGgufFileInfo(source, { sourceType: "filesystem", logWarnings: false });
  const dataStart = info.infoEndOffset;
  if (info.version !== GGUF_VERSION || dataStart === undefined || !info.tensorInfoSize) {
    throw new Error(`${source} is not a GGUF v${GGUF_VERSION} file with a tensor table`);
  }
  const missing = drop.filter((name) => !info.tensorInfo?.some((tensor) => tensor.name === name));
  if (missing.length > 0) throw new Error(`${source} has no tensor ${missing.join(", ")}`);
  const alignment = Number(info.metadata.general?.alignment ?? DEFAULT_ALIGNMENT);
  const dataBytes = (await Deno.stat(source)).size - dataStart;

  using file = await Deno.open(source, { read: true });
  const input = { file, path: source };
  const header = await readAt(input, 0, info.metadataSize);
  const table = await readAt(input, info.metadataSize, info.tensorInfoSize);
  const entries = tensorEntries(table, Number(info.tensorCount), source);
  // A tensor's extent runs to the next tensor's data (alignment padding included), so every
  // extent is a multiple of the alignment and the tensors after a dropped one stay aligned.
  const byOffset = entries.toSorted((a, b) => a.offset - b.offset);
  const extentOf = new Map(byOffset.map((entry, index) => [
    entry,
    (byOffset[index + 1]?.offset ?? dataBytes) - entry.offset,
  ]));
  if (
    byOffset[0]?.offset !== 0 ||
    byOffset.some((entry) => extentOf.get(entry)! < 0 || entry.offset % alignment !== 0)
  ) {
    throw new Error(`${source} has tensor data outside the file or out of alignment`);
  }
  const dropped = (entry: TensorEntry) => drop.includes(entry.name);
  const kept = entries.filter((entry) => !dropped(entry));
  const shiftOf = (entry: TensorEntry) =>
    byOffset.filter((other) => dropped(other) && other.offset < entry.offset)
      .reduce((sum, other) => sum + extentOf.get(other)!, 0);

  const keptTable = kept.map((entry) => {
    const bytes = entry.bytes.slice();
    new DataView(bytes.buffer).setBigUint64(
      bytes.length - 8,
      BigInt(entry.offset - shiftOf(entry)),
      true,
    );
    return bytes;
  });
  const infoBytes = header.length + keptTable.reduce((sum, bytes) => sum + bytes.length, 0);
  const prelude = new Uint8Array(Math.ceil(infoBytes / alignment) * alignment);
  prelude.set(header);
  new DataView(prelude.buffer).setBigUint64(TENSOR_COUNT_OFFSET, BigInt(kept.length), true);
  keptTable.reduce((at, bytes) => (prelude.set(bytes, at), at + bytes.length), header.length);

  using output = await Deno.open(target, { write: true, create: true, truncate: true });
  await writeAll(output, prelude);
  let written = prelude.length;
  onBytes?.(written);
  for (const entry of byOffset.filter((entry) => !dropped(entry))) {
    await copyRange(input, output, dataStart + entry.offset, extentOf.get(entry)!);
    written += extentOf.get(entry)!;
    onBytes?.(written);
  }
}

/** The tensor table's entries, in file order, with their bytes. */
function tensorEntries(table: Uint8Array, count: number, source: string): TensorEntry[] {
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const entries: TensorEntry[] = [];
  let at = 0;
  for (let index = 0; index < count; index++) {
    const start = at;
    const nameLength = Number(view.getBigUint64(at, true));
    const name = new TextDecoder().decode(table.subarray(at + 8, at + 8 + nameLength));
    at += 8 + nameLength;
    const dimensions = view.getUint32(at, true);
    at += 4 + dimensions * 8 + 4; // dimensions, then the type
    const offset = Number(view.getBigUint64(at, true));
    at += 8;
    entries.push({ name, bytes: table.subarray(start, at), offset });
  }
  if (at !== table.length) {
    throw new Error(`${source} has its tensor table elsewhere than its header says`);
  }
  return entries;
}

/** A file open for reading, and its path for error messages. */
interface OpenFile {
  file: Deno.FsFile;
  path: string;
}

async function readAt(
  { file, path }: OpenFile,
  position: number,
  length: number,
): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  await file.seek(position, Deno.SeekMode.Start);
  let read = 0;
  while (read < length) {
    const count = await file.read(bytes.subarray(read));
    if (count === null) {
      throw new Error(`${path} ends at byte ${position + read}, before ${position + length}`);
    }
    read += count;
  }
  return bytes;
}

/** Appends `length` bytes from `position` of `input` to `output`. */
async function copyRange(
  input: OpenFile,
  output: Deno.FsFile,
  position: number,
  length: number,
): Promise<void> {
  const chunk = 4 * 1024 * 1024;
  for (let done = 0; done < length; done += chunk) {
    await writeAll(output, await readAt(input, position + done, Math.min(chunk, length - done)));
  }
}
