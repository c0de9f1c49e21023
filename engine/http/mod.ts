/**
 * An OpenAI-compatible endpoint on loopback: `POST /v1/completions` and
 * `GET /v1/models`, what Zed's `open_ai_compatible_api` edit-prediction
 * provider calls. The FIM prompt is split back into prefix and suffix and,
 * when an open document holds that excerpt (synced through the language
 * server), completed at that document's cursor, so retrieval and the
 * project index apply as they do for any editor.
 *
 * Loopback is not a boundary: every local user, and every web page the
 * user's browser opens, can reach it. So each request must name this
 * endpoint in `Host` (a DNS-rebinding page names its own domain), must not
 * come from a browser (no `Origin`, and no CORS headers are ever sent), and
 * must carry the bearer token (token.ts), in that order. Bodies are capped
 * while they are read (Deno's server caps the request head itself: 400 past
 * 64 KiB), and only a few completions may run at once.
 *
 * @module
 */
import { positionAt } from "../documents/mod.ts";
import type { Logger } from "../log/mod.ts";
import { ErrorCode } from "../protocol/mod.ts";
import { CancelledError, EngineError } from "../protocol/errors.ts";
import type { ClientSession } from "../session/mod.ts";
import { parseFimPrompt } from "./fim_prompt.ts";
import { tokenMatcher } from "./token.ts";

/** Hosts the endpoint may bind: loopback only, the machine's own editor is the client. */
const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);
/** Names a request's `Host` may give: loopback, never a domain that could resolve here. */
const LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"];
/** Larger request bodies are refused as they arrive; an editor's prompt is a few kilobytes. */
export const MAX_BODY_BYTES = 1 << 20;
/** A request body must arrive whole within this. */
export const BODY_TIMEOUT_MS = 10_000;
/**
 * Completions running at once; more get 429. An editor sends one at a time (each
 * keystroke's request supersedes the last), so this only stops a flood.
 */
export const MAX_IN_FLIGHT = 4;
/** The URI of a prompt no open document holds: each such request supersedes the last. */
const DETACHED_URI = "untitled:v1-completions";

/** What the endpoint needs of a client session: finding an open document, and completing. */
export type HttpSession = Pick<ClientSession, "locate" | "complete">;

/** What the endpoint is built from. */
export interface HttpOptions {
  session: HttpSession;
  log: Logger;
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** Every request must carry `Authorization: Bearer <token>`. */
  token: string;
  /** Model ids the endpoint answers to; the first is the engine's generator. */
  models: string[];
  /** How long a request body may take to arrive; BODY_TIMEOUT_MS by default. */
  bodyTimeoutMs?: number;
}

/** A listening endpoint. */
export interface HttpServer {
  url: string;
  close(): Promise<void>;
}

/** Throws unless `hostname` is loopback: nothing beyond this machine may reach the engine. */
export function assertLoopback(hostname: string): void {
  if (!LOOPBACK.has(hostname)) {
    throw new Error(
      `The completions endpoint listens on loopback only (127.0.0.1, ::1 or localhost), not ${hostname}`,
    );
  }
}

/** What every request is checked against, fixed once the port is bound. */
interface Guard {
  /** Accepted `Host` values: a loopback name with the bound port. */
  hosts: Set<string>;
  tokenMatches: (presented: string) => boolean;
  inFlight: number;
}

/** Starts the endpoint; refuses any host but loopback. */
export async function startHttpServer(options: HttpOptions): Promise<HttpServer> {
  assertLoopback(options.hostname);
  if (!options.token) throw new Error("The completions endpoint needs a token");
  const listening = Promise.withResolvers<HttpServer>();
  const guard: Guard = { hosts: new Set(), tokenMatches: tokenMatcher(options.token), inFlight: 0 };
  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    onListen: ({ hostname, port }) => {
      // Port 80 may be left out of `Host`; any other must be there and be this one.
      for (const name of LOOPBACK_HOSTS) {
        guard.hosts.add(`${name}:${port}`);
        if (port === 80) guard.hosts.add(name);
      }
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      listening.resolve({ url: `http://${host}:${port}/v1`, close: () => server.shutdown() });
    },
  }, (request) => handle(request, options, guard));
  return await listening.promise;
}

/** OpenAI's error type for each status. */
function errorType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 429) return "rate_limit_error";
  return status >= 500 ? "server_error" : "invalid_request_error";
}

/** An OpenAI-style error body. */
function failure(
  status: number,
  message: string,
  code: string,
  param?: string,
  headers?: HeadersInit,
): Response {
  const error = { message, type: errorType(status), param: param ?? null, code };
  return Response.json({ error }, { status, headers });
}

/** Why a request may not be served at all, checked before its route or body are looked at. */
function refusal(request: Request, guard: Guard): Response | undefined {
  const host = request.headers.get("host")?.toLowerCase() ?? "";
  if (!guard.hosts.has(host)) {
    return failure(
      403,
      `Host ${JSON.stringify(host)} is not this endpoint: use ${[...guard.hosts][0]}`,
      "forbidden_host",
    );
  }
  // Browsers send Origin (and Sec-Fetch-Site) with their requests; editors do not.
  if (request.headers.has("origin") || request.headers.has("sec-fetch-site")) {
    return failure(403, "Requests from web pages are refused", "forbidden_origin");
  }
  const presented = /^bearer +(\S+) *$/i.exec(request.headers.get("authorization") ?? "")?.[1];
  if (presented === undefined || !guard.tokenMatches(presented)) {
    return failure(
      401,
      "Missing or wrong bearer token (`ast-complete http-token` prints it)",
      "invalid_api_key",
      undefined,
      { "www-authenticate": "Bearer" },
    );
  }
}

async function handle(request: Request, options: HttpOptions, guard: Guard): Promise<Response> {
  const refused = refusal(request, guard);
  if (refused) return refused;
  const { pathname } = new URL(request.url);
  if (pathname === "/v1/models") {
    if (request.method !== "GET") return failure(405, "Use GET /v1/models", "method_not_allowed");
    return Response.json({
      object: "list",
      data: options.models.map((id) => ({
        id,
        object: "model",
        created: 0,
        owned_by: "ast-complete",
      })),
    });
  }
  if (pathname !== "/v1/completions") {
    return failure(
      404,
      `No route ${pathname}: use POST /v1/completions or GET /v1/models`,
      "not_found",
    );
  }
  if (request.method !== "POST") {
    return failure(405, "Use POST /v1/completions", "method_not_allowed");
  }
  if (guard.inFlight >= MAX_IN_FLIGHT) {
    return failure(
      429,
      `Over ${MAX_IN_FLIGHT} completions at once`,
      "too_many_requests",
      undefined,
      { "retry-after": "1" },
    );
  }
  guard.inFlight++;
  try {
    const body = await readJson(request, options.bodyTimeoutMs ?? BODY_TIMEOUT_MS);
    if (body instanceof Response) return body;
    const params = completionParams(body, options.models);
    if (params instanceof Response) return params;
    return await complete(params, request.signal, options);
  } catch (error) {
    if (error instanceof CancelledError) return failure(499, "Request cancelled", "cancelled");
    if (error instanceof EngineError) {
      const status = error.code === ErrorCode.ModelNotReady || error.code === ErrorCode.ModelMissing
        ? 503
        : 400;
      return failure(status, error.message, `engine_${error.code}`);
    }
    options.log.error(`Completion failed: ${(error as Error).stack ?? error}`);
    return failure(500, `Internal error: ${(error as Error).message}`, "internal_error");
  } finally {
    guard.inFlight--;
  }
}

/**
 * The JSON body, read chunk by chunk: a declared or actual size over
 * MAX_BODY_BYTES is refused as soon as it shows, without reading the rest.
 */
async function readJson(request: Request, timeoutMs: number): Promise<unknown | Response> {
  const tooLarge = () =>
    failure(413, `Request body over ${MAX_BODY_BYTES} bytes`, "body_too_large", undefined, {
      // The rest of the body is never read, so the connection cannot carry another request.
      connection: "close",
    });
  if (Number(request.headers.get("content-length") ?? 0) > MAX_BODY_BYTES) return tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    // A body trickled in slowly would hold one of the few completion slots.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reader.cancel().catch(() => {});
    }, timeoutMs);
    try {
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        size += read.value.length;
        if (size > MAX_BODY_BYTES) {
          await reader.cancel().catch(() => {});
          return tooLarge();
        }
        chunks.push(read.value);
      }
    } finally {
      clearTimeout(timer);
    }
    if (timedOut) {
      return failure(
        408,
        `Request body not received within ${timeoutMs} ms`,
        "body_timeout",
        undefined,
        { connection: "close" },
      );
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    return failure(400, `Invalid JSON body: ${(error as Error).message}`, "invalid_json");
  }
}

/** A validated `/v1/completions` request. */
interface CompletionParams {
  model: string;
  prompt: string;
  maxTokens?: number;
  stop: string[];
  stream: boolean;
}

function completionParams(body: unknown, models: string[]): CompletionParams | Response {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return failure(400, "The body must be a JSON object", "invalid_body");
  }
  const fields = body as Record<string, unknown>;
  const { model, max_tokens: maxTokens, temperature, stream } = fields;
  const prompt = Array.isArray(fields.prompt) && fields.prompt.length === 1
    ? fields.prompt[0]
    : fields.prompt;
  if (typeof model !== "string") {
    return failure(400, '"model" must be a string', "invalid_type", "model");
  }
  if (!models.includes(model)) {
    return failure(
      404,
      `Unknown model ${model}: this endpoint serves ${models.join(", ")}`,
      "model_not_found",
      "model",
    );
  }
  if (typeof prompt !== "string") {
    return failure(400, '"prompt" must be a string', "invalid_type", "prompt");
  }
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || (maxTokens as number) < 1)) {
    return failure(400, '"max_tokens" must be a positive integer', "invalid_value", "max_tokens");
  }
  if (
    temperature !== undefined &&
    (typeof temperature !== "number" || temperature < 0 || temperature > 2)
  ) {
    return failure(
      400,
      '"temperature" must be a number from 0 to 2',
      "invalid_value",
      "temperature",
    );
  }
  if (stream !== undefined && typeof stream !== "boolean") {
    return failure(400, '"stream" must be a boolean', "invalid_type", "stream");
  }
  const stop = fields.stop === undefined || fields.stop === null
    ? []
    : typeof fields.stop === "string"
    ? [fields.stop]
    : fields.stop;
  if (!Array.isArray(stop) || stop.some((item) => typeof item !== "string" || !item)) {
    return failure(400, '"stop" must be a string or an array of strings', "invalid_type", "stop");
  }
  return {
    model,
    prompt,
    maxTokens: maxTokens as number | undefined,
    stop,
    stream: stream === true,
  };
}

async function complete(
  params: CompletionParams,
  signal: AbortSignal,
  options: HttpOptions,
): Promise<Response> {
  const { prefix, suffix } = parseFimPrompt(params.prompt);
  const located = options.session.locate(prefix, suffix);
  const text = prefix + suffix;
  const result = await options.session.complete({
    ...(located ?? { uri: DETACHED_URI, text, position: positionAt(text, prefix.length) }),
    maxTokens: params.maxTokens,
  }, signal);
  const suggestion = cutAtStop(result.items[0]?.text ?? "", params.stop);
  const head = {
    id: `cmpl-${result.id}`,
    object: "text_completion",
    created: Math.floor(Date.now() / 1000),
    model: params.model,
  };
  const usage = {
    prompt_tokens: result.timings.promptTokens,
    completion_tokens: result.timings.generatedTokens,
    total_tokens: result.timings.promptTokens + result.timings.generatedTokens,
  };
  // Which open document answered, if any: retrieval had its project context.
  const headers = { "x-ast-complete-document": located?.uri ?? "" };
  if (!params.stream) {
    return Response.json({
      ...head,
      choices: [{ text: suggestion, index: 0, logprobs: null, finish_reason: "stop" }],
      usage,
    }, { headers });
  }
  // The engine post-processes a whole suggestion before it is shown, so it streams as one event.
  const events = [
    { ...head, choices: [{ text: suggestion, index: 0, logprobs: null, finish_reason: null }] },
    { ...head, choices: [{ text: "", index: 0, logprobs: null, finish_reason: "stop" }], usage },
  ].map((event) => `data: ${JSON.stringify(event)}\n\n`).join("") + "data: [DONE]\n\n";
  return new Response(events, {
    headers: { ...headers, "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

/** The text up to the first stop sequence. */
function cutAtStop(text: string, stop: string[]): string {
  const cut = Math.min(...stop.map((item) => text.indexOf(item)).filter((at) => at !== -1));
  return Number.isFinite(cut) ? text.slice(0, cut) : text;
}
