/**
 * Test helpers: spawn the real sidecar exactly as `deno task start` does and
 * talk to it with vscode-jsonrpc over its Unix socket.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { Socket } from "node:net";
import { join } from "node:path";
import {
  createMessageConnection,
  type MessageConnection,
  SocketMessageReader,
  SocketMessageWriter,
  StreamMessageReader,
  StreamMessageWriter,
} from "vscode-jsonrpc/node";
import { connectWithRetry as retryConnect } from "../../adapters/vscode/src/launch.ts";
import { modelsDir } from "../../engine/models/store.ts";
import { defaultCacheDir } from "../../engine/config/mod.ts";
import { StatusRequest } from "../../engine/protocol/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * A deno.json task's command after `deno` (e.g. `run --allow-read ... main.ts serve`),
 * with its script made absolute, so tests run exactly what the task runs.
 */
export async function taskArgs(task: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const words = (config.tasks[task] as string).split(/\s+/);
  assert.equal(words[0], "deno", `task ${task} runs deno directly`);
  return words.slice(1).map((word) => word.endsWith(".ts") ? join(ROOT, word) : word);
}

/** A throwaway cache whose models folder is the user's real one (models pulled once). */
export async function tempCacheDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ast-complete-cache-" });
  await Deno.symlink(modelsDir(defaultCacheDir()), join(dir, "models"));
  return dir;
}

/** A running sidecar child process. */
export interface SpawnedSidecar {
  child: Deno.ChildProcess;
  /** The socket path, predicted from the pid before the sidecar prints it. */
  expectedSocketPath: string;
  /** Resolves to the first stdout line. */
  firstLine: Promise<string>;
  /** Resolves to all of stdout once the process exits. */
  stdout: Promise<string>;
  /** Resolves to all of stderr once the process exits. */
  stderr: Promise<string>;
  runtimeDir: string;
  cacheDir: string;
}

/** Starts `main.ts serve` with the `start` task's flags. */
export async function spawnSidecar(
  options: {
    model?: string;
    workspace?: string;
    cacheDir?: string;
    env?: { XDG_RUNTIME_DIR: string };
    /** More flags, e.g. `--allow-root DIR`. */
    args?: string[];
  } = {},
): Promise<SpawnedSidecar> {
  const runtimeDir = options.env?.XDG_RUNTIME_DIR ??
    await Deno.makeTempDir({ prefix: "ast-complete-run-" });
  const cacheDir = options.cacheDir ?? await tempCacheDir();
  const args = await taskArgs("start");
  if (options.model) args.push("--model", options.model);
  if (options.workspace) args.push("--workspace", options.workspace);
  args.push(...options.args ?? []);
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { XDG_RUNTIME_DIR: runtimeDir, AST_COMPLETE_CACHE_DIR: cacheDir, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const first = Promise.withResolvers<string>();
  const firstLine = first.promise;
  const stdout = (async () => {
    let text = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      if (text.includes("\n")) first.resolve(text.slice(0, text.indexOf("\n")));
    }
    first.resolve(text);
    return text;
  })();
  const stderr = new Response(child.stderr).text();
  return {
    child,
    expectedSocketPath: join(runtimeDir, `ast-complete-${Deno.uid()}`, `sidecar-${child.pid}.sock`),
    firstLine,
    stdout,
    stderr,
    runtimeDir,
    cacheDir,
  };
}

/**
 * Connects to a Unix socket, retrying until it exists, with the VS Code
 * adapter's own retry; returns the socket and the attempts made.
 */
export async function connectWithRetry(
  path: string,
  child?: Deno.ChildProcess,
  timeoutMs = 30_000,
): Promise<{ socket: Socket; attempts: number }> {
  let exited = false;
  child?.status.then(() => exited = true);
  return await retryConnect(path, {
    timeoutMs,
    firstDelayMs: 25,
    maxDelayMs: 25,
    alive: () => !exited,
  });
}

/** A JSON-RPC connection over a connected socket. */
export function rpc(socket: Socket): MessageConnection {
  const connection = createMessageConnection(
    new SocketMessageReader(socket),
    new SocketMessageWriter(socket),
  );
  connection.listen();
  return connection;
}

/** Polls `status` until the sidecar reports `state` (or fails after `timeoutMs`). */
export async function waitForState(
  connection: MessageConnection,
  state: "ready" | "error",
  timeoutMs = 120_000,
): Promise<StatusRequest.Result> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await connection.sendRequest<StatusRequest.Result>(StatusRequest.method, {});
    if (status.state === state) return status;
    if (Date.now() > deadline) {
      throw new Error(`Status stayed ${status.state}, expected ${state}: ${status.error ?? ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Asks the sidecar to shut down and returns its exit code. */
export async function shutdown(
  connection: MessageConnection,
  sidecar: SpawnedSidecar,
): Promise<number> {
  await connection.sendRequest("shutdown", {});
  connection.dispose();
  const { code } = await sidecar.child.status;
  return code;
}

/**
 * Spawns `main.ts lsp` as the `lsp` task does, with the HTTP endpoint on a
 * free port. The endpoint's token comes from `token` when given, else from
 * the token file this cache gets, never from the caller's environment.
 */
export async function spawnLsp(workspace: string, cacheDir: string, token = "") {
  const child = spawn(Deno.execPath(), [
    ...await taskArgs("lsp"),
    "--workspace",
    workspace,
    "--http-port",
    "0",
  ], {
    cwd: ROOT,
    env: {
      ...Deno.env.toObject(),
      AST_COMPLETE_CACHE_DIR: cacheDir,
      AST_COMPLETE_HTTP_TOKEN: token,
      NO_COLOR: "1",
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  const url = Promise.withResolvers<string>();
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
    const found = /OpenAI-compatible endpoint on (http:\S+)\/completions/.exec(stderr);
    if (found) url.resolve(found[1]);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const writer = new StreamMessageWriter(child.stdin);
  const connection: MessageConnection = createMessageConnection(
    new StreamMessageReader(child.stdout),
    writer,
  );
  return { child, connection, writer, url: url.promise, exited, stderr: () => stderr };
}

/** Resident memory of a process, in MB (read with `cat`: Deno reads /proc only with -A). */
export async function rssMb(pid: number): Promise<number> {
  const { stdout } = await new Deno.Command("cat", { args: [`/proc/${pid}/status`] }).output();
  return Number(/VmRSS:\s+(\d+)/.exec(new TextDecoder().decode(stdout))![1]) / 1024;
}
