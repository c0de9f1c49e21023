/**
 * The GGUF checks a model file passes before llama.cpp maps it, on tiny
 * generated models and on the pinned ones.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { getLlama, type Llama, LlamaLogLevel, readGgufFileInfo } from "node-llama-cpp";
import { defaultCacheDir } from "../../engine/config/mod.ts";
import {
  checkGgufFile,
  checkGgufHeader,
  modelPath,
  pulledByDefault,
  readModelsLock,
  writeGgufWithout,
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

/** The first `count` tokens llama.cpp generates greedily after `text`. */
async function greedyTokens(llama: Llama, path: string, text: string, count: number) {
  const model = await llama.loadModel({ modelPath: path });
  try {
    const context = await model.createContext({ contextSize: 128 });
    const tokens: number[] = [];
    for await (const token of context.getSequence().evaluate(model.tokenize(text))) {
      tokens.push(token);
      if (tokens.length === count) break;
    }
    return tokens;
  } finally {
    await model.dispose();
  }
}

Deno.test("writeGgufWithout() leaves out a tied model's copy of its embeddings; llama.cpp generates the same tokens", () =>
  withLlama(async (llama) => {
    const source = await writeFile("tied.gguf", tinyLlamaGguf({ fim: true, tiedOutput: true }));
    const target = join(dirname(source), "without.gguf");
    await writeGgufWithout(source, target, ["output.weight"]);
    const read = (path: string) =>
      readGgufFileInfo(path, { sourceType: "filesystem", logWarnings: false });
    const [before, after] = [await read(source), await read(target)];
    const names = (info: typeof before) => info.tensorInfo!.map((tensor) => tensor.name);
    assert.deepEqual(names(after), names(before).filter((name) => name !== "output.weight"));
    assert.deepEqual(after.metadata, before.metadata);
    const [sourceBytes, targetBytes] = [await Deno.readFile(source), await Deno.readFile(target)];
    for (const tensor of after.tensorInfo!) {
      const old = before.tensorInfo!.find((other) => other.name === tensor.name)!;
      // F32 tensors: four bytes per value.
      const length = tensor.dimensions.reduce<number>((a, b) => a * Number(b), 4);
      const at = (info: typeof before, offset: number | bigint) =>
        info.infoEndOffset! + Number(offset);
      assert.deepEqual(
        targetBytes.subarray(at(after, tensor.offset), at(after, tensor.offset) + length),
        sourceBytes.subarray(at(before, old.offset), at(before, old.offset) + length),
        `${tensor.name} keeps its bytes`,
      );
    }
    assert.ok(targetBytes.length < sourceBytes.length);
    await checkGgufFile(target, llama);
    assert.deepEqual(
      await greedyTokens(llama, target, "def x", 12),
      await greedyTokens(llama, source, "def x", 12),
    );
  }));

Deno.test("writeGgufWithout() refuses a tensor the model lacks and a file cut before its tensor data", async () => {
  const source = await writeFile("tied.gguf", tinyLlamaGguf({ fim: true, tiedOutput: true }));
  const target = join(dirname(source), "without.gguf");
  await assert.rejects(
    writeGgufWithout(source, target, ["output.weight", "lm_head.weight"]),
    (error: Error) => error.message === `${source} has no tensor lm_head.weight`,
  );
  const bytes = await Deno.readFile(source);
  const cut = await writeFile("cut.gguf", bytes.subarray(0, bytes.length - 40_000));
  await assert.rejects(
    writeGgufWithout(cut, target, ["output.weight"]),
    (error: Error) =>
      error.message === `${cut} has tensor data outside the file or out of alignment`,
  );
});
