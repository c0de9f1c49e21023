/**
 * The GGUF checks a model file passes before llama.cpp maps it, on tiny
 * generated models and on the pinned ones.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { getLlama, type Llama, LlamaLogLevel } from "node-llama-cpp";
import { defaultCacheDir } from "../../engine/config/mod.ts";
import {
  checkGgufFile,
  checkGgufHeader,
  modelPath,
  pulledByDefault,
  readModelsLock,
} from "../../engine/models/mod.ts";
import { ErrorCode } from "../../engine/protocol/mod.ts";
import { ModelMissingError } from "../../engine/protocol/errors.ts";
import { tinyLlamaGguf } from "../_helpers/gguf_writer.ts";

const LOCK = new URL("../../models.lock", import.meta.url).pathname;

async function withLlama(test: (llama: Llama) => Promise<void>): Promise<void> {
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  try {
    await test(llama);
  } finally {
    await llama.dispose();
  }
}

async function writeFile(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(await Deno.makeTempDir({ prefix: "ast-complete-gguf-" }), name);
  await Deno.writeFile(path, bytes);
  return path;
}

/** Asserts a ModelMissingError whose message names `path` and matches `problem`. */
function refused(path: string, problem: RegExp) {
  return (error: Error) => {
    assert.ok(error instanceof ModelMissingError, `${error.name}: ${error.message}`);
    assert.equal(error.code, ErrorCode.ModelMissing);
    assert.ok(error.message.includes(path), `names the file: ${error.message}`);
    assert.match(error.message, problem);
    return true;
  };
}

Deno.test("checkGgufFile() refuses a truncated model, naming the file and both sizes", () =>
  withLlama(async (llama) => {
    const whole = tinyLlamaGguf({ fim: true });
    const path = await writeFile("cut.gguf", whole.subarray(0, whole.length - 1000));
    await assert.rejects(
      checkGgufFile(path, llama),
      refused(path, new RegExp(`is truncated: ${whole.length - 1000} of ${whole.length} bytes$`)),
    );
  }));

Deno.test("checkGgufFile() refuses a model cut inside its header", () =>
  withLlama(async (llama) => {
    const path = await writeFile("header.gguf", tinyLlamaGguf({ fim: true }).subarray(0, 500));
    await assert.rejects(
      checkGgufFile(path, llama),
      refused(path, /is truncated: 500 of \d+ bytes/),
    );
  }));

Deno.test("checkGgufFile() accepts a whole tiny model and the pinned generators", () =>
  withLlama(async (llama) => {
    await checkGgufFile(await writeFile("whole.gguf", tinyLlamaGguf({ fim: false })), llama);
    const lock = await readModelsLock(LOCK);
    for (const model of lock.models.filter((model) => model.role === "generator")) {
      const path = modelPath(defaultCacheDir(), model);
      // One pulled on request is checked where someone pulled it: the test task's pull leaves it out.
      if (!pulledByDefault(model) && !(await Deno.stat(path).catch(() => undefined))) continue;
      await checkGgufFile(path, llama);
    }
  }));

Deno.test("checkGgufHeader() refuses a file that is not GGUF, too small, a folder or absent", async () => {
  const text = await writeFile("text.gguf", new TextEncoder().encode("this is not a model at all"));
  await assert.rejects(
    checkGgufHeader(text),
    refused(text, /is not a GGUF model: it starts with bytes 74 68 69 73, not "GGUF"$/),
  );
  const tiny = await writeFile("tiny.gguf", new TextEncoder().encode("GGUF"));
  await assert.rejects(checkGgufHeader(tiny), refused(tiny, /4 bytes, less than a GGUF header$/));
  const folder = await Deno.makeTempDir({ suffix: ".gguf" });
  await assert.rejects(checkGgufHeader(folder), refused(folder, /is not a file$/));
  const absent = join(folder, "absent.gguf");
  await assert.rejects(checkGgufHeader(absent), refused(absent, /^Model file not found: /));
});
