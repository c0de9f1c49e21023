/**
 * Keeps one sidecar running for the extension: starts it, restarts it with
 * backoff when it dies, and stops it for good (shutdown, then kill) so no
 * process outlives the editor.
 */
import type { ChildProcess } from "node:child_process";
import type { StatusRequest } from "../../../engine/protocol/mod.ts";
import { SidecarClient } from "./client.ts";
import { RestartBackoff, type SidecarCommand, startSidecar } from "./launch.ts";

/** What the supervisor is doing, for the status bar. */
export type SupervisorState =
  | { phase: "starting" }
  | { phase: "running"; status: StatusRequest.Result }
  | { phase: "restarting"; inMs: number; reason: string }
  | { phase: "failed"; reason: string }
  | { phase: "stopped" };

/** What the supervisor needs from its host. */
export interface SupervisorOptions {
  /** Resolves the command at every start, so changed settings apply on restart. */
  command: () => SidecarCommand;
  workspaceRoot: string;
  client: { name: string; version?: string };
  env?: NodeJS.ProcessEnv;
  log: (line: string) => void;
  onState: (state: SupervisorState) => void;
  /** Starts a failing sidecar at most this many times in a row. */
  maxRestarts?: number;
}

export class SidecarSupervisor {
  #options: SupervisorOptions;
  #backoff = new RestartBackoff();
  #child?: ChildProcess;
  #client?: SidecarClient;
  #restartTimer?: ReturnType<typeof setTimeout>;
  #stopping = false;
  #generation = 0;

  constructor(options: SupervisorOptions) {
    this.#options = options;
  }

  /** The connected client, once the sidecar is up. */
  get client(): SidecarClient | undefined {
    return this.#client;
  }

  /** The sidecar's process id, while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts the sidecar; failures become the "restarting" or "failed" state, never a throw. */
  async start(): Promise<void> {
    this.#stopping = false;
    clearTimeout(this.#restartTimer);
    const generation = ++this.#generation;
    const { log, onState } = this.#options;
    onState({ phase: "starting" });
    const startedAt = Date.now();
    try {
      const command = this.#options.command();
      log(`Starting the sidecar (${command.source}): ${command.command} ${command.args.join(" ")}`);
      const running = await startSidecar(command, { env: this.#options.env, onLog: log });
      if (generation !== this.#generation) {
        running.child.kill("SIGKILL");
        return;
      }
      this.#child = running.child;
      running.child.once("exit", (code, signal) => {
        if (generation !== this.#generation || this.#stopping) return;
        this.#lost(`the sidecar exited (${signal ?? `code ${code}`})`, Date.now() - startedAt);
      });
      const client = new SidecarClient(running.socket);
      this.#client = client;
      client.onStatus((status) => onState({ phase: "running", status }));
      await client.initialize({
        workspaceRoot: this.#options.workspaceRoot,
        client: this.#options.client,
      });
      log(`Sidecar ${running.child.pid} connected on ${running.socketPath}`);
      onState({ phase: "running", status: await client.status() });
    } catch (error) {
      if (generation !== this.#generation || this.#stopping) return;
      this.#lost((error as Error).message, Date.now() - startedAt);
    }
  }

  /** Stops the sidecar and starts a fresh one at once. */
  async restart(): Promise<void> {
    await this.stop();
    this.#backoff = new RestartBackoff();
    await this.start();
  }

  /** Asks the sidecar to shut down, kills it if it has not gone within a bound. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#generation++;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    const client = this.#client;
    this.#child = undefined;
    this.#client = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      await client?.shutdown(1000);
      const gone = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000)),
      ]);
      if (!gone) {
        child.kill("SIGKILL");
        await exited;
      }
    }
    client?.dispose();
    this.#options.onState({ phase: "stopped" });
  }

  #lost(reason: string, uptimeMs: number): void {
    this.#client?.dispose();
    this.#client = undefined;
    this.#child = undefined;
    const maxRestarts = this.#options.maxRestarts ?? 8;
    if (this.#backoff.failures >= maxRestarts && uptimeMs < 60_000) {
      this.#options.log(`Giving up after ${maxRestarts} restarts: ${reason}`);
      this.#options.onState({ phase: "failed", reason });
      return;
    }
    const inMs = this.#backoff.next(uptimeMs);
    this.#options.log(`${reason}; restarting in ${inMs} ms`);
    this.#options.onState({ phase: "restarting", inMs, reason });
    this.#restartTimer = setTimeout(() => this.start(), inMs);
  }
}
