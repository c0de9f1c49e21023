/**
 * The sidecar's logger. Everything goes to stderr: stdout belongs to the
 * protocol in `serve` and `lsp` mode. Colour only when stderr is a terminal.
 *
 * @module
 */

/** Log levels, quietest last. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVEL_ORDER: Record<LogLevel, number> = {
  debug: 0,
  info: 1,
  warn: 2,
  error: 3,
};
const LEVEL_COLOUR: Record<LogLevel, string> = {
  debug: "\x1b[90m",
  info: "\x1b[36m",
  warn: "\x1b[33m",
  error: "\x1b[31m",
};

/** A logger that writes one line per message to stderr. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const encoder = new TextEncoder();

/**
 * Creates a logger for stderr.
 *
 * @param scope Shown in brackets on every line, e.g. "server".
 * @param minLevel Messages below this level are dropped.
 * @returns The logger.
 */
export function createLogger(scope: string, minLevel: LogLevel = "info"): Logger {
  const colour = Deno.stderr.isTerminal();
  const write = (level: LogLevel, message: string) => {
    if (LEVEL_ORDER[level] < LEVEL_ORDER[minLevel]) return;
    const time = new Date().toISOString().slice(11, 23);
    const tag = colour ? `${LEVEL_COLOUR[level]}${level}\x1b[0m` : level;
    Deno.stderr.writeSync(encoder.encode(`${time} ${tag} [${scope}] ${message}\n`));
  };
  return {
    debug: (message) => write("debug", message),
    info: (message) => write("info", message),
    warn: (message) => write("warn", message),
    error: (message) => write("error", message),
  };
}

/** Reads the minimum level from AST_COMPLETE_LOG (default "info"). */
export function logLevelFromEnv(): LogLevel {
  const value = Deno.env.get("AST_COMPLETE_LOG");
  return value && value in LEVEL_ORDER ? value as LogLevel : "info";
}

/**
 * Sends everything written through `console` to stderr, so that no library can
 * break the protocol on stdout.
 */
export function redirectConsoleToStderr(): void {
  const toStderr = (...args: unknown[]) => console.error(...args);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  console.warn = toStderr;
}
