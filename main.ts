/**
 * ast-complete's command line.
 *
 *   serve [--workspace DIR] [--allow-root DIR]... [--model NAME] [--exit-with-stdin]
 *                                            the sidecar (default)
 *   lsp [--workspace DIR] [--http-port N] [--http-host H]
 *                                            a language server on stdio, with the
 *                                            OpenAI-compatible endpoint beside it
 *   http-token                               prints the endpoint's bearer token
 *   complete FILE:LINE:COL [--workspace DIR | --no-context] [--json] [--max-lines N]
 *                                            the editor's answer at that cursor
 *   models list | pull [NAME... | --all] | verify [NAME...]
 *   index DIR                                the project index, with a progress bar
 *   learn setup                              the trainer's Python environment (PyTorch + PEFT)
 *   learn status|reset|train DIR             what the project's learning holds, forget it,
 *                                            or train its adapter now
 *
 * @module
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { type Config, loadConfig, projectStateDir, restrictUmask } from "./engine/config/mod.ts";
import {
  createLogger,
  type Logger,
  logLevelFromEnv,
  redirectConsoleToStderr,
} from "./engine/log/mod.ts";
import type { Indexer } from "./engine/indexer/mod.ts";
import type { Engine } from "./engine/session/mod.ts";

const USAGE =
  `Usage: ast-complete [serve] [--workspace DIR] [--allow-root DIR]... [--model NAME] [--exit-with-stdin]
       ast-complete lsp [--workspace DIR] [--http-port N] [--http-host 127.0.0.1]
       ast-complete http-token     the endpoint's token (AST_COMPLETE_HTTP_TOKEN, else the token file)
       ast-complete complete FILE:LINE:COL [--workspace DIR | --no-context] [--json] [--max-lines N] [--model NAME]
       ast-complete models list | pull [NAME... | --all] | verify [NAME...]
       ast-complete index DIR
       ast-complete learn setup | status|reset|train DIR`;

/** How long a stop may take before the process exits anyway. */
const STOP_GRACE_MS = 1500;

const { values: flags, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    workspace: { type: "string" },
    model: { type: "string" },
    threads: { type: "string" },
    json: { type: "boolean" },
    "no-context": { type: "boolean" },
    "max-lines": { type: "string" },
    "exit-with-stdin": { type: "boolean" },
    "allow-root": { type: "string", multiple: true },
    all: { type: "boolean" },
    "http-port": { type: "string" },
    "http-host": { type: "string" },
    // Accepted only to be refused with a reason: see lsp().
    "http-token": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
const [command = "serve", ...rest] = positionals;
// Before anything is written: every file and folder the engine makes is the user's alone.
restrictUmask();
const log = createLogger(command, logLevelFromEnv());

if (flags.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const config = loadConfig({
  model: flags.model,
  threads: flags.threads === undefined ? undefined : Number(flags.threads),
});

try {
  switch (command) {
    case "serve":
      await serve(config, log);
      break;
    case "lsp":
      await lsp(config, log);
      break;
    case "http-token":
      await httpToken(config, log);
      break;
    case "complete":
      await complete(config, log, rest);
      break;
    case "models":
      await models(config, log, rest);
      break;
    case "index":
      await index(config, log, rest);
      break;
    case "learn":
      await learn(config, log, rest);
      break;
    default:
      throw new Error(`Unknown command: ${command}\n${USAGE}`);
  }
} catch (error) {
  log.error((error as Error).message);
  Deno.exit(1);
}

/**
 * The workspace (`--workspace`) and the other roots clients may work under
 * (`--allow-root`), by real path. A workspace that may not be one ("/", the
 * home folder, a missing folder) is not indexed; the sidecar serves without it.
 */
async function workspaceRoots(
  log: Logger,
): Promise<{ workspace?: string; allowedRoots: string[] }> {
  const { checkChosenRoot, realPathOf } = await import("./engine/session/mod.ts");
  const allowedRoots: string[] = [];
  for (const root of flags["allow-root"] ?? []) {
    const real = await realPathOf(resolve(root));
    if (real) allowedRoots.push(real);
    else log.warn(`Ignored --allow-root ${root}: no such folder`);
  }
  if (flags.workspace === undefined) return { allowedRoots };
  const workspace = await checkChosenRoot(resolve(flags.workspace))
    .catch((error: Error) => log.warn(`Not indexing: ${error.message}`));
  return { workspace: workspace ?? undefined, allowedRoots };
}

/** Prints the socket path first, before anything loads, then serves until told to stop. */
async function serve(config: Config, log: Logger): Promise<void> {
  // Signals are handled from the first moment; a stop waits for start-up to finish, then closes.
  const started = Promise.withResolvers<{ close(): Promise<void> }>();
  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`Stopping: ${reason}`);
    // Closing aborts indexing at its next chunk; a stop never waits on more than this.
    setTimeout(() => {
      log.warn(`Stopped before closing cleanly: still closing after ${STOP_GRACE_MS} ms`);
      Deno.exit(0);
    }, STOP_GRACE_MS);
    await (await started.promise).close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  if (flags["exit-with-stdin"]) {
    // The editor holds the other end of stdin: when it goes, even by a crash, so does the sidecar.
    (async () => {
      for await (const _ of Deno.stdin.readable) { /* nothing is ever sent */ }
      await stop("stdin closed");
    })();
  }
  const { prepareSocketPath, RpcServer } = await import("./engine/server/mod.ts");
  const socketPath = await prepareSocketPath();
  Deno.stdout.writeSync(new TextEncoder().encode(`${socketPath}\n`));
  redirectConsoleToStderr();
  const engine = await buildEngine(config, log, await workspaceRoots(log));
  const server = new RpcServer(engine);
  await server.listen(socketPath).catch((error) => {
    log.error(`Cannot serve: ${error.message}`);
    Deno.exit(1);
  });
  log.info(`Listening on ${socketPath}`);
  engine.models.start();
  started.resolve({
    close: async () => {
      await server.close();
      await engine.close();
    },
  });
  server.onShutdown(() => stop("shutdown requested"));
}

/** The engine, from the one composition root. */
async function buildEngine(
  config: Config,
  log: Logger,
  options: Parameters<typeof import("./engine/engine.ts").createEngine>[2],
): Promise<Engine> {
  const { createEngine } = await import("./engine/engine.ts");
  return createEngine(config, log, options);
}

/**
 * A language server on stdio (stdout carries LSP messages only), and with
 * --http-port the OpenAI-compatible endpoint, sharing its open documents.
 */
async function lsp(config: Config, log: Logger): Promise<void> {
  if (flags["http-token"] !== undefined) {
    throw new Error(
      "--http-token is refused: every local user can read a process's arguments. " +
        "Set AST_COMPLETE_HTTP_TOKEN, or leave it unset and use the token file " +
        "(`ast-complete http-token` prints it)",
    );
  }
  redirectConsoleToStderr();
  const { assertLoopback, startHttpServer } = await import("./engine/http/mod.ts");
  const { resolveHttpToken } = await import("./engine/http/token.ts");
  const httpHost = flags["http-host"] ?? "127.0.0.1";
  assertLoopback(httpHost);
  const { startLspServer } = await import("./engine/lsp/mod.ts");
  const process = await import("node:process");
  const engine = await buildEngine(config, log, await workspaceRoots(log));
  const server = startLspServer({
    engine,
    log,
    input: process.stdin,
    output: process.stdout,
  });
  engine.models.start();
  if (flags["http-port"] !== undefined) {
    // Without the endpoint the language server still serves: another instance may hold the port.
    try {
      const { token, source } = await resolveHttpToken(config.cacheDir, log.warn);
      const http = await startHttpServer({
        session: server.session,
        log,
        hostname: httpHost,
        port: Number(flags["http-port"]),
        token,
        // A generator chosen by hardware is known only once loading starts: its id is ast-complete.
        models: [...config.generator.model ? [config.generator.model.name] : [], "ast-complete"],
      });
      log.info(`OpenAI-compatible endpoint on ${http.url}/completions (token: ${source})`);
    } catch (error) {
      log.error(`OpenAI-compatible endpoint not started: ${(error as Error).message}`);
    }
  }
  Deno.exit(await server.exited);
}

/** Prints the endpoint's bearer token, creating the token file when there is none yet. */
async function httpToken(config: Config, log: Logger): Promise<void> {
  const { resolveHttpToken } = await import("./engine/http/token.ts");
  // Only the token on stdout, so `$(ast-complete http-token)` can feed an editor's setting.
  console.log((await resolveHttpToken(config.cacheDir, log.warn)).token);
}

/**
 * One completion at FILE:LINE:COL (1-based), printed to stdout: the editor's
 * answer, from the same engine and session as every front door. The project
 * (`--workspace`, else the git root around FILE) is indexed first, with a
 * progress bar; `--no-context` completes from the file alone.
 */
async function complete(config: Config, log: Logger, args: string[]): Promise<void> {
  const match = /^(.+):(\d+):(\d+)$/.exec(args[0] ?? "");
  if (!match) throw new Error(`Expected FILE:LINE:COL (1-based)\n${USAGE}`);
  const [, file, line, column] = match;
  const path = resolve(file);
  const info = await Deno.stat(path);
  if (info.size > config.completion.maxDocumentBytes) {
    throw new Error(
      `${path} is over the ${config.completion.maxDocumentBytes}-byte document limit`,
    );
  }
  const text = await Deno.readTextFile(path);
  const { ClientSession } = await import("./engine/session/mod.ts");
  const root = flags["no-context"] ? undefined : await contextRoot(path, log);
  const engine = await buildEngine(config, log, { allowedRoots: root ? [root] : [] });
  engine.models.start();
  try {
    const session = new ClientSession(engine);
    if (root) {
      await session.initialize({ workspaceRoot: root, client: { name: "ast-complete complete" } });
      await indexedWithProgress(engine, root);
    }
    const { pathToFileURL } = await import("node:url");
    const result = await session.complete({
      uri: pathToFileURL(path).href,
      text,
      position: { line: Number(line) - 1, character: Number(column) - 1 },
      ...(flags["max-lines"] === undefined ? {} : { maxLines: Number(flags["max-lines"]) }),
    }, new AbortController().signal);
    if (flags.json) console.log(JSON.stringify(result, null, 2));
    else if (result.items.length > 0) console.log(result.items[0].text);
    else log.info("No suggestion at this position");
  } finally {
    await engine.close();
  }
}

/** The project `complete` uses: `--workspace`, else the nearest git root above FILE, if any. */
async function contextRoot(file: string, log: Logger): Promise<string | undefined> {
  const { checkChosenRoot } = await import("./engine/session/mod.ts");
  const { dirname, join } = await import("node:path");
  let requested = flags.workspace === undefined ? undefined : resolve(flags.workspace);
  for (let dir = dirname(file); requested === undefined; dir = dirname(dir)) {
    if (await Deno.lstat(join(dir, ".git")).catch(() => undefined)) requested = dir;
    else if (dirname(dir) === dir) break;
  }
  if (requested === undefined) {
    log.info(`No git root above ${file}: completing without project context`);
    return undefined;
  }
  return await checkChosenRoot(requested)
    .catch((error: Error) => {
      log.warn(`Completing without project context: ${error.message}`);
      return undefined;
    });
}

/**
 * Waits until the project's index is current, its vectors included (as after
 * `index`: one completion, made with the whole of retrieval), with progress
 * bars on stderr. A reader leaves the vectors to the process writing the index.
 */
async function indexedWithProgress(engine: Engine, root: string): Promise<void> {
  const { Progress } = await import("./engine/models/progress.ts");
  const project = await engine.projects.opened(root);
  if (!project) return; // Why is logged, and the completion goes on without context.
  let progress: InstanceType<typeof Progress> | undefined;
  for (;;) {
    const { files, pending, state } = project.indexer.progress();
    if (state === "idle" && pending === 0) break;
    if (pending > 0) {
      progress ??= new Progress(`index ${root}`, files + pending, "files");
      progress.update(files);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  progress?.done();
  if (project.writer) await vectorsWithProgress(project.indexer, root);
}

/** Waits for the index's vectors (indexing's phase 2), with a progress bar on stderr. */
async function vectorsWithProgress(indexer: Indexer, root: string): Promise<void> {
  const { Progress } = await import("./engine/models/progress.ts");
  let progress: InstanceType<typeof Progress> | undefined;
  await indexer.vectorsDone((done, total) => {
    progress ??= new Progress(`embed ${root}`, total, "chunks");
    progress.update(done);
  });
  progress?.done();
}

/**
 * Lists, fetches or verifies the models pinned in models.lock. With no names,
 * `pull` fetches the default set, not the models pinned as pulled on request
 * (`--all` fetches those too); `list` shows every model, a missing one pulled
 * on request as `available`; `verify` checks the default set and whatever else
 * is pulled.
 */
async function models(config: Config, log: Logger, args: string[]): Promise<void> {
  const { checkModelFile, findModel, pulledByDefault, pullModel, readModelsLock, selectModels } =
    await import("./engine/models/mod.ts");
  const [action = "list", ...names] = args;
  const lock = await readModelsLock(config.modelsLock);
  const named = names.map((name) => findModel(lock, name));
  if (action === "list") {
    for (const model of named.length > 0 ? named : lock.models) {
      const check = await checkModelFile(config.cacheDir, model);
      const state = check.state === "missing" && !pulledByDefault(model)
        ? "available"
        : check.state;
      console.log(
        [
          model.name,
          model.role,
          model.promptFormat ?? "-",
          model.size >= 1e6
            ? `${(model.size / 1e6).toFixed(0)} MB`
            : `${(model.size / 1e3).toFixed(0)} KB`,
          state,
          check.path,
        ]
          .join("\t"),
      );
    }
  } else if (action === "pull") {
    const chosen = selectModels(lock, names, { all: flags.all });
    for (const model of chosen) await pullModel(config.cacheDir, model, { log, lock });
  } else if (action === "verify") {
    let failed = 0;
    for (const model of named.length > 0 ? named : lock.models) {
      const check = await checkModelFile(config.cacheDir, model, { full: true });
      if (named.length === 0 && !pulledByDefault(model) && check.state === "missing") continue;
      console.log(`${model.name}\t${check.state}${check.detail ? `\t${check.detail}` : ""}`);
      if (check.state !== "present") failed++;
    }
    if (failed > 0) {
      throw new Error(`${failed} model(s) missing or corrupt: run \`deno task models pull\``);
    }
  } else {
    throw new Error(`Unknown models action: ${action} (expected list, pull or verify)`);
  }
}

/** The project a command names, by its real path, as the sidecar's sessions know it. */
async function projectArg(dir: string | undefined): Promise<string> {
  if (!dir) throw new Error(`Expected a directory\n${USAGE}`);
  const root = resolve(dir);
  if (!(await Deno.stat(root).catch(() => undefined))?.isDirectory) {
    throw new Error(`Not a directory: ${root}`);
  }
  const { realPathOf } = await import("./engine/session/mod.ts");
  return await realPathOf(root) ?? root;
}

/**
 * Indexes a project now, with progress bars on stderr: files (definitions and
 * lexical search), then chunks embedded. Later runs re-embed only what
 * changed, and what an interrupted run left without vectors.
 */
async function index(config: Config, log: Logger, args: string[]): Promise<void> {
  const real = await projectArg(args[0]);
  const { Progress } = await import("./engine/models/progress.ts");
  // Nothing else runs: the embedder may use every generation thread.
  const engine = await buildEngine(config, log, { embedderThreads: config.generator.threads });
  const project = await engine.projects.openNow(real);
  const started = performance.now();
  if (!project.writer) {
    log.warn(`Another ast-complete process indexes ${real}: it keeps the index current`);
  } else {
    let progress: InstanceType<typeof Progress> | undefined;
    await project.indexer.indexAll((done, total) => {
      progress ??= new Progress(`index ${real}`, total, "files");
      progress.update(done);
    });
    progress?.done();
    const usableMs = Math.round(performance.now() - started);
    log.info(`Definitions and lexical search ready in ${usableMs} ms; embedding the chunks`);
    await vectorsWithProgress(project.indexer, real);
  }
  const { files, chunks, vectorsPending } = project.indexer.progress();
  log.info(
    `Indexed ${files} files, ${chunks} chunks in ${Math.round(performance.now() - started)} ms` +
      (vectorsPending > 0 ? ` (${vectorsPending} chunks not embedded)` : ""),
  );
  await engine.close();
}

/**
 * `learn setup` makes the trainer's Python environment (PyTorch + PEFT,
 * pinned). `learn status DIR` prints what the project's learning holds, as
 * `learning/status` answers; `learn reset DIR` erases it as `learning/reset`
 * does; `learn train DIR` trains the project's adapter now, progress on
 * stderr, and prints the outcome (the new adapter's manifest when one was
 * trained). Status and train load the generator: the adapter belongs to it.
 */
async function learn(config: Config, log: Logger, args: string[]): Promise<void> {
  const [action, dir] = args;
  const { ProjectLearning, setUpPythonEnv } = await import("./engine/learning/mod.ts");
  if (action === "setup") {
    const python = await setUpPythonEnv(config.cacheDir, (line) => log.info(line));
    console.log(python);
    return;
  }
  if (action !== "status" && action !== "reset" && action !== "train") {
    throw new Error(`Expected learn setup, or learn status|reset|train DIR\n${USAGE}`);
  }
  const root = await projectArg(dir);
  const engine = await buildEngine(config, log, { allowedRoots: [root] });
  try {
    const adapter = engine.adapters(root);
    if (action !== "reset") {
      engine.models.start();
      await engine.models.ready(new AbortController().signal, config.completion.readyWaitMs);
    }
    const learning = new ProjectLearning(projectStateDir(config.cacheDir, root), {
      filter: config.learning.filter,
      warn: (message) => log.warn(message),
      adapter,
    });
    if (action === "train") {
      if (!adapter) throw new Error("Adapters are off (AST_COMPLETE_ADAPTER=off)");
      const progress = setInterval(() => {
        const training = adapter.status().training;
        if (training) {
          const what = training.phase === "evaluating" ? "held-out line" : "step";
          log.info(
            `${what} ${training.step}/${training.steps}, ${training.etaSeconds ?? "?"} s left`,
          );
        }
      }, 10_000);
      try {
        console.log(JSON.stringify(await adapter.train(), null, 2));
      } finally {
        clearInterval(progress);
      }
      return;
    }
    const result = action === "status" ? await learning.status() : await learning.reset();
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await engine.close();
  }
}
