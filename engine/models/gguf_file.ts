/**
 * Checks of a GGUF model file before llama.cpp maps it. llama.cpp refuses a
 * truncated or foreign file with only "Failed to load model"; these checks
 * name the file and what is wrong with it.
 */
import { GgufInsights, type Llama, readGgufFileInfo } from "node-llama-cpp";
import { ModelMissingError } from "../protocol/errors.ts";

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
