/**
 * The trainer's Python environment: a virtual environment in the user cache
 * holding exactly the packages pinned in trainer/requirements.txt (PyTorch,
 * transformers, PEFT, gguf). It is made on request (`learn setup`), under a
 * name derived from the pins, so changed pins make a new one; a half-made
 * one is never taken for ready (it is built beside and renamed into place).
 * PyPI's Linux torch brings its CUDA libraries: about 2.8 GB to download,
 * 5.6 GB installed, ~90 s here; the CPU-only wheel is not on PyPI.
 */
import { join } from "node:path";
import { createHash } from "node:crypto";
import { makePrivateDir } from "../config/mod.ts";

/** The pinned packages and the trainer, beside this file. */
const TRAINER_DIR = new URL("./trainer/", import.meta.url);
/** The oldest Python the pinned torch and transformers install on. */
const MIN_PYTHON = [3, 10] as const;

/** The trainer's Python, ready or not (and why not). */
export type PythonEnvState =
  | { state: "ready"; python: string; dir: string }
  | { state: "absent"; reason: string };

/** The pinned requirements' text. */
function requirements(): Promise<string> {
  return Deno.readTextFile(new URL("requirements.txt", TRAINER_DIR));
}

/** The trainer script's path. */
export function trainerScript(): string {
  return new URL("train_lora.py", TRAINER_DIR).pathname;
}

/** The pins' digest, read once: they are files of the engine, not of the user. */
let pinsDigest: Promise<string> | undefined;

/** Where the environment for the current pins lives. */
export async function pythonEnvDir(cacheDir: string): Promise<string> {
  pinsDigest ??= requirements().then((text) =>
    createHash("sha256").update(text).digest("hex").slice(0, 12)
  );
  return join(cacheDir, "python", `env-${await pinsDigest}`);
}

/** The environment's interpreter, when the environment is made; otherwise why learning is off. */
export async function pythonEnv(cacheDir: string): Promise<PythonEnvState> {
  const dir = await pythonEnvDir(cacheDir);
  const python = join(dir, "bin", "python");
  try {
    await Deno.stat(python);
    return { state: "ready", python, dir };
  } catch {
    const found = await systemPython();
    return {
      state: "absent",
      reason: "python" in found
        ? "the trainer's Python environment is not set up: run `deno task learn setup`"
        : found.reason,
    };
  }
}

/** The system's Python 3 (AST_COMPLETE_PYTHON, else python3 on PATH), if recent enough. */
async function systemPython(): Promise<{ python: string } | { reason: string }> {
  const python = Deno.env.get("AST_COMPLETE_PYTHON") ?? "python3";
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(python, { args: ["--version"], stdin: "null" }).output();
  } catch {
    return { reason: `no Python: ${python} was not found (set AST_COMPLETE_PYTHON)` };
  }
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  const [major, minor] = (text.match(/Python (\d+)\.(\d+)/)?.slice(1) ?? []).map(Number);
  const recent = major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1]);
  return output.success && recent ? { python } : {
    reason: `${python} is ${text.trim() || "unusable"}; the trainer needs Python 3.10 or later`,
  };
}

/**
 * Makes the environment if it is not there: a venv, then the pinned
 * packages, then a rename into place.
 *
 * @returns The interpreter's path.
 * @throws Error naming what failed (no Python, pip's last lines).
 */
export async function setUpPythonEnv(
  cacheDir: string,
  log: (line: string) => void,
): Promise<string> {
  const ready = await pythonEnv(cacheDir);
  if (ready.state === "ready") return ready.python;
  const found = await systemPython();
  if (!("python" in found)) throw new Error(`Cannot set up learning: ${found.reason}`);
  const dir = await pythonEnvDir(cacheDir);
  await makePrivateDir(join(dir, ".."));
  const building = `${dir}.partial`;
  await Deno.remove(building, { recursive: true }).catch(() => {});
  const requirementsPath = join(building, "requirements.txt");
  const steps: [string, string[]][] = [
    [found.python, ["-m", "venv", building]],
    [join(building, "bin", "python"), [
      "-m",
      "pip",
      "install",
      "--no-input",
      "--disable-pip-version-check",
      "-r",
      requirementsPath,
    ]],
  ];
  for (const [index, [command, args]] of steps.entries()) {
    log(`$ ${command} ${args.join(" ")}`);
    const output = await new Deno.Command(command, { args, stdin: "null" }).output();
    if (!output.success) {
      const tail = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-5).join("\n");
      throw new Error(`Cannot set up learning: ${command} ${args[0]} ${args[1]} failed:\n${tail}`);
    }
    if (index === 0) await Deno.writeTextFile(requirementsPath, await requirements());
  }
  await Deno.rename(building, dir);
  return join(dir, "bin", "python");
}
