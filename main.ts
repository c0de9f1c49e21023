/**
 * ast-complete's command line.
 *
 *   serve [--workspace DIR] [--model NAME] [--exit-with-stdin]   the sidecar (default)
 *   lsp [--workspace DIR] [--http-port N] [--http-host H] [--http-token T]
 *                                            a language server on stdio, with the
 *                                            OpenAI-compatible endpoint beside it
 *   complete FILE:LINE:COL [--json] [--max-lines N] [--model NAME]
 *   models list | pull [NAME...] | verify [NAME...]
 *   index DIR                                the project index, with a progress bar
 *
 * @module
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { type Config, loadConfig } from "./engine/config/mod.ts";
import {
  createLogger,
  type Logger,
  logLevelFromEnv,
  redirectConsoleToStderr,
} from "./engine/log/mod.ts";
import type { Sidecar } from "./engine/sidecar.ts";

const USAGE = `Usage: ast-complete [serve] [--workspace DIR] [--model NAME] [--exit-with-stdin]
       ast-complete lsp [--workspace DIR] [--http-port N] [--http-host 127.0.0.1] [--http-token T]
       ast-complete complete FILE:LINE:COL [--json] [--max-lines N] [--model NAME]
       ast-complete models list | pull [NAME...] | verify [NAME...]
       ast-complete index DIR`;

const { values: flags, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    workspace: { type: "string" },
    model: { type: "string" },
    threads: { type: "string" },
    json: { type: "boolean" },
    "max-lines": { type: "string" },
    "exit-with-stdin": { type: "boolean" },
    "http-port": { type: "string" },
    "http-host": { type: "string" },
    "http-token": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
const [command = "serve", ...rest] = positionals;
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
    case "complete":
      await complete(config, log, rest);
      break;
    case "models":
      await models(config, log, rest);
      break;
    case "index":
      await index(config, log, rest);
      break;
    default:
      throw new Error(`Unknown command: ${command}\n${USAGE}`);
  }
} catch (error) {
  log.error((error as Error).message);
  Deno.exit(1);
}

/** Prints the socket path first, before anything loads, then serves until told to stop. */
async function serve(config: Config, log: Logger): Promise<void> {
  // Signals are handled from the first moment; a stop waits for start-up to finish, then closes.
  const started = Promise.withResolvers<Sidecar>();
  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`Stopping: ${reason}`);
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
  const { prepareSocketPath } = await import("./engine/server/socket_path.ts");
  const socketPath = await prepareSocketPath();
  Deno.stdout.writeSync(new TextEncoder().encode(`${socketPath}\n`));
  redirectConsoleToStderr();
  const workspace = flags.workspace === undefined ? undefined : resolve(flags.workspace);
  const { startSidecar } = await import("./engine/sidecar.ts");
  const sidecar = await startSidecar(config, socketPath, { log, workspace }).catch((error) => {
    log.error(`Cannot serve: ${error.message}`);
    Deno.exit(1);
  });
  started.resolve(sidecar);
  sidecar.server.onShutdown(() => stop("shutdown requested"));
}

/**
 * A language server on stdio (stdout carries LSP messages only), and with
 * --http-port the OpenAI-compatible endpoint, sharing its open documents.
 */
async function lsp(config: Config, log: Logger): Promise<void> {
  redirectConsoleToStderr();
  const workspace = flags.workspace === undefined ? undefined : resolve(flags.workspace);
  const { assertLoopback, startHttpServer } = await import("./engine/http/mod.ts");
  const httpHost = flags["http-host"] ?? "127.0.0.1";
  assertLoopback(httpHost);
  const { createEngine, SERVER_INFO } = await import("./engine/sidecar.ts");
  const { startLspServer } = await import("./engine/lsp/mod.ts");
  const process = await import("node:process");
  const engine = createEngine(config, log, workspace);
  const server = startLspServer({
    engine,
    log,
    ...SERVER_INFO,
    input: process.stdin,
    output: process.stdout,
  });
  engine.models.start();
  if (flags["http-port"] !== undefined) {
    // Without the endpoint the language server still serves: another instance may hold the port.
    await startHttpServer({
      session: server.session,
      log,
      hostname: httpHost,
      port: Number(flags["http-port"]),
      token: flags["http-token"] ?? Deno.env.get("AST_COMPLETE_HTTP_TOKEN"),
      models: [config.generator.model, "ast-complete"],
    }).then(
      (http) => log.info(`OpenAI-compatible endpoint on ${http.url}/completions`),
      (error) => log.error(`OpenAI-compatible endpoint not started: ${error.message}`),
    );
  }
  Deno.exit(await server.exited);
}

/** One completion at FILE:LINE:COL (1-based), printed to stdout. */
async function complete(config: Config, log: Logger, args: string[]): Promise<void> {
  const match = /^(.+):(\d+):(\d+)$/.exec(args[0] ?? "");
  if (!match) throw new Error(`Expected FILE:LINE:COL (1-based)\n${USAGE}`);
  const [, file, line, column] = match;
  const path = resolve(file);
  const text = await Deno.readTextFile(path);
  const { createModelHost } = await import("./engine/sidecar.ts");
  const { CompletionPipeline } = await import("./engine/pipeline.ts");
  const { languageOf } = await import("./engine/documents/mod.ts");
  const host = createModelHost(config, log);
  host.start();
  try {
    const result = await new CompletionPipeline(config, host, log).complete({
      uri: `file://${path}`,
      path: file,
      languageId: languageOf(path),
      text,
      position: { line: Number(line) - 1, character: Number(column) - 1 },
      maxLines: flags["max-lines"] === undefined ? undefined : Number(flags["max-lines"]),
    }, new AbortController().signal);
    if (flags.json) console.log(JSON.stringify(result, null, 2));
    else if (result.items.length > 0) console.log(result.items[0].text);
    else log.info("No suggestion at this position");
  } finally {
    await host.dispose();
  }
}

/** Lists, fetches or verifies the models pinned in models.lock. */
async function models(config: Config, log: Logger, args: string[]): Promise<void> {
  const { checkModelFile, findModel, pullModel, readModelsLock } = await import(
    "./engine/models/mod.ts"
  );
  const [action = "list", ...names] = args;
  const lock = await readModelsLock(config.modelsLock);
  const chosen = names.length > 0 ? names.map((name) => findModel(lock, name)) : lock.models;
  if (action === "list") {
    for (const model of chosen) {
      const check = await checkModelFile(config.cacheDir, model);
      console.log(
        [
          model.name,
          model.role,
          model.promptFormat ?? "-",
          model.size >= 1e6
            ? `${(model.size / 1e6).toFixed(0)} MB`
            : `${(model.size / 1e3).toFixed(0)} KB`,
          check.state,
          check.path,
        ]
          .join("\t"),
      );
    }
  } else if (action === "pull") {
    for (const model of chosen) await pullModel(config.cacheDir, model, { log });
  } else if (action === "verify") {
    let failed = 0;
    for (const model of chosen) {
      const check = await checkModelFile(config.cacheDir, model, { full: true });
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

/** Indexes a project now, with a progress bar on stderr; later runs re-embed only what changed. */
async function index(config: Config, log: Logger, args: string[]): Promise<void> {
  if (!args[0]) throw new Error(`Expected a directory\n${USAGE}`);
  const root = resolve(args[0]);
  if (!(await Deno.stat(root).catch(() => undefined))?.isDirectory) {
    throw new Error(`Not a directory: ${root}`);
  }
  const { createProjects } = await import("./engine/sidecar.ts");
  const { Progress } = await import("./engine/models/progress.ts");
  // Nothing else runs: the embedder may use every generation thread.
  const { SyntaxService } = await import("./engine/ast/mod.ts");
  const projects = createProjects(config, log, {
    embedderThreads: config.generator.threads,
    syntax: SyntaxService.create(),
  });
  const project = await projects.openNow(root);
  const started = performance.now();
  let progress: InstanceType<typeof Progress> | undefined;
  await project.indexer.indexAll((done, total) => {
    progress ??= new Progress(`index ${root}`, total, "files");
    progress.update(done);
  });
  progress?.done();
  const { files, chunks } = project.indexer.progress();
  log.info(
    `Indexed ${files} files, ${chunks} chunks in ${Math.round(performance.now() - started)} ms`,
  );
  await projects.close();
}
