/**
 * Finding, starting and reaching the sidecar. Nothing here imports VS Code, so
 * the tests drive exactly this code against the real sidecar.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { isAbsolute, join } from "node:path";

/** Where the sidecar may come from, as the settings say. */
export interface LaunchSettings {
  /** A configured ast-complete binary; "" when unset. */
  sidecarPath: string;
  /** A checkout of ast-complete whose main.ts runs on Deno; "" when unset. */
  repositoryPath: string;
  /** The Deno executable for `repositoryPath`. */
  denoPath: string;
  /** A generator model name or .gguf path, passed as --model; "" lets the sidecar choose by hardware. */
  model: string;
  /** The project the sidecar indexes. */
  workspaceRoot: string;
  /** The extension's own folder, where a bundled binary would be. */
  extensionDir: string;
}

/** A command line that starts the sidecar in `serve` mode. */
export interface SidecarCommand {
  command: string;
  args: string[];
  cwd?: string;
  /** Which rule found it, for the logs. */
  source: "configured" | "bundled" | "repository";
}

/** The sidecar could not be found, started or reached; the message says what to do. */
export class LaunchError extends Error {
  override name = "LaunchError";
}

/**
 * Picks the sidecar: the configured path, else the binary bundled with the
 * extension, else `deno` running a repository checkout with the flags of its
 * own `start` task (so development runs exactly what `deno task start` runs).
 */
export function sidecarCommand(
  settings: LaunchSettings,
  exists: (path: string) => boolean = existsSync,
): SidecarCommand {
  // The sidecar exits when its stdin closes: no orphan even if the editor crashes.
  const serve = ["serve", "--exit-with-stdin", "--workspace", settings.workspaceRoot];
  if (settings.model) serve.push("--model", settings.model);
  if (settings.sidecarPath) {
    if (!exists(settings.sidecarPath)) {
      throw new LaunchError(
        `astComplete.sidecarPath is ${settings.sidecarPath}, which does not exist`,
      );
    }
    return { command: settings.sidecarPath, args: serve, source: "configured" };
  }
  const binary = process.platform === "win32" ? "ast-complete.exe" : "ast-complete";
  const bundled = join(settings.extensionDir, "bin", binary);
  if (exists(bundled)) return { command: bundled, args: serve, source: "bundled" };
  const repository = settings.repositoryPath;
  if (repository && exists(join(repository, "deno.json"))) {
    const task = JSON.parse(readFileSync(join(repository, "deno.json"), "utf8")).tasks?.start;
    const words = typeof task === "string" ? task.trim().split(/\s+/) : [];
    if (words[0] !== "deno" || words.at(-1) !== "serve") {
      throw new LaunchError(`${repository}/deno.json has no \`start\` task running main.ts serve`);
    }
    return {
      command: settings.denoPath || "deno",
      args: [...words.slice(1), ...serve.slice(1)],
      cwd: repository,
      source: "repository",
    };
  }
  throw new LaunchError(
    "No sidecar found: set astComplete.sidecarPath to the ast-complete binary, " +
      "or astComplete.repositoryPath to a checkout of ast-complete",
  );
}

/**
 * Reads the handshake: the socket path is the first line the sidecar prints.
 * Anything else there (a banner, an error) is refused with what was printed.
 */
export function parseHandshakeLine(line: string): string {
  const path = line.replace(/\r$/, "").trim();
  const pipe = /^\\\\[.?]\\pipe\\/.test(path);
  if (!path || (!isAbsolute(path) && !pipe) || /\s/.test(path)) {
    throw new LaunchError(
      `The sidecar printed ${JSON.stringify(line.slice(0, 200))} where its socket path belongs`,
    );
  }
  return path;
}

/** Resolves to the socket path once the child prints its first line. */
export function readHandshake(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const done = (error?: Error, path?: string) => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      child.off("error", onError);
      if (error) reject(error);
      else resolve(path!);
    };
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const end = buffered.indexOf("\n");
      if (end < 0) return;
      try {
        done(undefined, parseHandshakeLine(buffered.slice(0, end)));
      } catch (error) {
        done(error as Error);
      }
    };
    const onExit = (code: number | null, signal: string | null) =>
      done(
        new LaunchError(`The sidecar exited (${signal ?? `code ${code}`}) before its handshake`),
      );
    const onError = (error: Error) =>
      done(new LaunchError(`The sidecar could not be started: ${error.message}`));
    const timer = setTimeout(
      () => done(new LaunchError(`The sidecar printed no socket path within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
    child.once("error", onError);
  });
}

/** Options of `connectWithRetry`. */
export interface RetryOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** The first pause between attempts; it doubles up to `maxDelayMs`. */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** Stops retrying at once when this says the sidecar is gone. */
  alive?: () => boolean;
}

/**
 * Connects to the socket, retrying with a short, growing pause: the sidecar
 * prints its path before it listens, and a loaded machine may take a while.
 */
export async function connectWithRetry(
  path: string,
  options: RetryOptions,
): Promise<{ socket: Socket; attempts: number }> {
  const deadline = Date.now() + options.timeoutMs;
  let delay = options.firstDelayMs ?? 25;
  for (let attempts = 1;; attempts++) {
    try {
      const socket = await new Promise<Socket>((resolve, reject) => {
        const socket = connect(path);
        socket.once("connect", () => resolve(socket));
        socket.once("error", reject);
      });
      return { socket, attempts };
    } catch (error) {
      if (options.alive && !options.alive()) {
        throw new LaunchError(`The sidecar exited before ${path} accepted a connection`);
      }
      if (Date.now() + delay > deadline) {
        throw new LaunchError(
          `Cannot connect to ${path} after ${attempts} attempts: ${(error as Error).message}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, options.maxDelayMs ?? 2000);
    }
  }
}

/**
 * How long to wait before restarting a sidecar that died: 1 s, doubling to
 * 30 s while it keeps dying; a run that lasted a minute starts the count over.
 */
export class RestartBackoff {
  #failures = 0;

  /** The pause before the next start, given how long the last run lasted. */
  next(uptimeMs: number): number {
    if (uptimeMs >= 60_000) this.#failures = 0;
    const delay = Math.min(1000 * 2 ** this.#failures, 30_000);
    this.#failures++;
    return delay;
  }

  /** Restarts in a row without a long run between them. */
  get failures(): number {
    return this.#failures;
  }
}

/** A started sidecar: its process and a connected socket. */
export interface RunningSidecar {
  child: ChildProcess;
  socket: Socket;
  socketPath: string;
}

/**
 * Spawns the sidecar, reads its handshake and connects. Its stderr goes to
 * `onLog` line by line; the process is killed again if any step fails.
 */
export async function startSidecar(
  command: SidecarCommand,
  options: { env?: NodeJS.ProcessEnv; onLog: (line: string) => void; timeoutMs?: number },
): Promise<RunningSidecar> {
  const child = spawn(command.command, command.args, {
    cwd: command.cwd,
    env: options.env ?? process.env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let pending = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    const lines = (pending + chunk.toString("utf8")).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) options.onLog(line);
  });
  // Only the first line is the handshake; keep draining stdout so the pipe never fills.
  child.stdout?.on("data", () => undefined);
  const timeoutMs = options.timeoutMs ?? 60_000;
  try {
    const socketPath = await readHandshake(child, timeoutMs);
    const { socket } = await connectWithRetry(socketPath, {
      timeoutMs,
      alive: () => child.exitCode === null && child.signalCode === null,
    });
    return { child, socket, socketPath };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}
