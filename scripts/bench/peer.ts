/**
 * The `peer` suite: the engine against llama.cpp's own `llama-server`, driven
 * the way llama.vscode drives its `/infill` endpoint, on the same model file,
 * the same threads and the same keystrokes, one side after the other.
 *
 * Lines of a pinned real project (`--project`, trpc-server by default; one
 * line per file, so every line is typed in a file just opened) are cleared
 * after their indentation and typed again key by key, as the `latency` suite
 * types them. At every key each side makes one model call: the engine through
 * its pipeline with the project indexed (its cache of recent results off), the
 * peer with one llama.vscode request. Neither side's client cache is modelled:
 * llama.vscode's LRU of results and its speculative request for the text after
 * a suggestion (`cacheFutureSuggestion`) are left out as the engine's cache is,
 * so both sides show what one model call costs and yields. Before each line
 * each side gets the head start its editor client gives it when the cursor
 * lands and the user pauses: the engine a `document/prefetch` at the empty
 * line (waited for in full, past its quick first answer), the peer its ring
 * buffer update and the request that warms the server's cache with it.
 * Neither is measured.
 *
 * Measured, side by side, with ratios engine/peer of the medians:
 * - per-key latency of the model calls, p50/p95: each side's own timing of a
 *   request (the engine's `totalMs` and its model's `generateMs`; the peer's
 *   wall time of the HTTP request and the server's `prompt_ms + predicted_ms`);
 * - the first suggestion after opening a file: the first key of each line;
 * - how often each showed something (a non-empty suggestion), and how often
 *   the engine answered quick, from the prompt nearest the cursor (`shortened`);
 * - exact match at the first identifier: the suggestion's first identifier is
 *   that of the rest of the line as written (keys whose rest of line has none
 *   are not scored);
 * - prompt tokens, and the share of them reused from the previous request
 *   (the peer's `tokens_evaluated` less `timings.prompt_n`).
 *
 * The peer follows llama.vscode at commit 3938fb3568b98e3ddfcf2ce3dd52d9570552b579
 * (github.com/ggml-org/llama.vscode): the request of `src/completion.ts`
 * `Completion.getCompletionItems` as `src/llama-server.ts`
 * `LlamaServer.createRequestPayload` builds it; its ring buffer of
 * `src/extra-context.ts` (`pickChunk`, `pickChunkAroundCursor`,
 * `addFimContextChunks`, `periodicRingBufferUpdate`) with the triggers of
 * `src/architect.ts` (`setOnChangeActiveFile`, `setPeriodicRingBufferUpdate`);
 * defaults from `package.json`; the server's flags from `src/constants.ts`
 * (the completion model's start command). Two changes make it comparable and
 * repeatable: `top_k` 1 instead of 40 (greedy, as the engine generates) and one
 * completion per request (`n_cmpl` left out; llama.vscode asks for 3, which
 * greedy sampling would make alike). Its `t_max_predict_ms` (500) is kept: it
 * ends generation only once a line is complete, so the first line, which the
 * scores read, never depends on timing.
 *
 * Runs only with `--llama-server PATH`; without it the suite says it was
 * skipped. The bench must be allowed to reach 127.0.0.1 (`--allow-net`).
 */
import { join } from "node:path";
import { languageOf } from "../../engine/documents/mod.ts";
import { readProjectFiles } from "../../engine/indexer/mod.ts";
import type { Logger } from "../../engine/log/mod.ts";
import { resolveModel } from "../../engine/models/mod.ts";
import type { Engine } from "../../engine/session/mod.ts";
import type { ContextSource } from "../../engine/retrieval/mod.ts";
import { fetchProject, isSourceFile, projectsNamed } from "./projects.ts";
import { benchConfig, type CodeFile, openIndexed, proseLines } from "./repo.ts";
import { seeded, shuffleInPlace, stats } from "./stats.ts";
import { typable, typedPrefixes } from "./typing.ts";

/** llama.vscode's defaults (its package.json, and `src/configuration.ts` for the constants). */
export const LLAMA_VSCODE = {
  /** Lines before the cursor's line sent as `input_prefix`. */
  nPrefix: 256,
  /** Lines after the cursor's line sent in `input_suffix`. */
  nSuffix: 64,
  nPredict: 128,
  tMaxPromptMs: 500,
  tMaxPredictMs: 500,
  /** Chunks in the ring buffer sent as `input_extra`. */
  ringChunks: 16,
  /** Lines a chunk is cut from; a chunk keeps half of them. */
  ringChunkSize: 64,
  /** How far above the cursor a chunk of the same file may come from. */
  ringScope: 1024,
  /** The cursor must have moved this many lines for new chunks after a completion. */
  maxLastPickLineDistance: 32,
  maxQueuedChunks: 16,
} as const;

/** What the VS Code adapter asks for by default (`astComplete.maxLines`): the engine asks the same. */
const ADAPTER_MAX_LINES = 8;

/**
 * Ticks of llama.vscode's ring update (one a second, once 3 s passed since
 * the last completion) in the pause before a new line: a pause of about 6 s.
 */
const IDLE_TICKS = 3;

/** How long llama-server may take to load the model and answer /health. */
const SERVER_START_MS = 180_000;

/** A chunk of `input_extra`: llama.vscode also sends `time`, which llama-server ignores. */
export interface ExtraChunk {
  text: string;
  filename: string;
}

/** A cursor in a document split into lines. */
export interface Cursor {
  line: number;
  character: number;
}

/** The body of llama.vscode's `/infill` request for a completion. */
export interface InfillBody {
  id_slot: 0;
  input_prefix: string;
  input_suffix: string;
  input_extra: ExtraChunk[];
  /** The cursor's line up to the cursor ("" when only indentation). */
  prompt: string;
  n_predict: number;
  top_k: number;
  top_p: number;
  stream: false;
  samplers: string[];
  cache_prompt: true;
  /** The cursor line's indentation, when it has one: a new line indented less ends generation. */
  n_indent?: number;
  t_max_prompt_ms: number;
  t_max_predict_ms: number;
}

/** What the suite reads from llama-server's answer. */
interface InfillResponse {
  content?: string;
  tokens_evaluated?: number;
  timings?: { prompt_n?: number; prompt_ms?: number; predicted_n?: number; predicted_ms?: number };
}

/**
 * llama.vscode's `/infill` body for a completion at `cursor` in `doc`
 * (`Completion.getCompletionItems` and `LlamaServer.createRequestPayload`):
 * the 256 lines above as the prefix, the rest of the line and the 64 lines
 * below as the suffix, the line up to the cursor as `prompt`, and the ring
 * buffer's chunks. Greedy: `top_k` 1 where llama.vscode has 40.
 */
export function infillBody(doc: string[], cursor: Cursor, extra: ExtraChunk[]): InfillBody {
  const { line, character } = cursor;
  const lineText = doc[line];
  const linePrefix = lineText.slice(0, character);
  const prefixLines = doc.slice(Math.max(0, line - LLAMA_VSCODE.nPrefix), line);
  const suffixLines = doc.slice(
    line + 1,
    Math.min(doc.length - 1, line + LLAMA_VSCODE.nSuffix) + 1,
  );
  const indent = lineText.length - lineText.trimStart().length;
  return {
    id_slot: 0,
    input_prefix: prefixLines.join("\n") + "\n",
    input_suffix: lineText.slice(character) + "\n" + suffixLines.join("\n") + "\n",
    input_extra: extra.map(({ text, filename }) => ({ text, filename })),
    prompt: onlyIndentation(linePrefix) ? "" : linePrefix,
    n_predict: LLAMA_VSCODE.nPredict,
    top_k: 1,
    top_p: 0.99,
    stream: false,
    samplers: ["top_k", "top_p", "infill"],
    cache_prompt: true,
    ...(indent ? { n_indent: indent } : {}),
    t_max_prompt_ms: LLAMA_VSCODE.tMaxPromptMs,
    t_max_predict_ms: LLAMA_VSCODE.tMaxPredictMs,
  };
}

/**
 * The request llama.vscode sends when its ring buffer changed
 * (`LlamaServer.updateExtraContext`): the chunks alone, nothing predicted, so
 * the server has them evaluated before the next completion.
 */
export function warmBody(extra: ExtraChunk[]) {
  return {
    id_slot: 0,
    input_prefix: "",
    input_suffix: "",
    input_extra: extra.map(({ text, filename }) => ({ text, filename })),
    prompt: "",
    n_predict: 0,
    samplers: [],
    cache_prompt: true,
    t_max_prompt_ms: LLAMA_VSCODE.tMaxPromptMs,
    t_max_predict_ms: 1,
  };
}

/**
 * What llama.vscode shows for the server's `content` at `cursor`
 * (`Completion.getCompletionItems`: trailing empty lines dropped, then
 * `shouldDiscardSuggestion`, `updateSuggestion` and `removeLeadingSpaces`);
 * undefined when it discards it. Ported as written, including a read past the
 * document's end, which throws in VS Code and so shows nothing.
 */
export function shownSuggestion(
  content: string,
  doc: string[],
  cursor: Cursor,
): string | undefined {
  const lineText = doc[cursor.line];
  const linePrefix = lineText.slice(0, cursor.character);
  const lineSuffix = lineText.slice(cursor.character);
  const lines = content.split(/\r?\n/);
  while (lines.length > 0 && lines.at(-1)!.trim() === "") lines.pop();
  try {
    if (discarded(lines, doc, cursor.line, linePrefix, lineSuffix)) return undefined;
  } catch {
    return undefined;
  }
  let shown = lines.join("\n");
  if (lineSuffix.trim() !== "") {
    if (lines[0].endsWith(lineSuffix)) shown = lines[0].slice(0, -lineSuffix.length);
    else if (lines.length > 1) shown = lines[0];
  }
  const spacesToRemove = onlyIndentation(linePrefix) ? linePrefix.length : 0;
  let start = 0;
  // llama.vscode's condition, precedence included: a tab is removed whatever the count.
  while (
    (start < shown.length && start < spacesToRemove && shown[start] === " ") ||
    shown[start] === "\t"
  ) {
    start++;
  }
  return shown.slice(start);
}

/** llama.vscode's `shouldDiscardSuggestion`: nothing, or a repeat of the text around the cursor. */
function discarded(
  lines: string[],
  doc: string[],
  line: number,
  linePrefix: string,
  lineSuffix: string,
): boolean {
  const lineAt = (index: number) => {
    if (index < 0 || index >= doc.length) throw new RangeError(`Illegal value for line: ${index}`);
    return doc[index];
  };
  if (lines.length === 0) return true;
  if (lines.length === 1 && lines[0].trim() === "") return true;
  if (line === doc.length - 1) return false;
  if (
    lines.length > 1 && (lines[0].trim() === "" || lines[0].trim() === lineSuffix.trim()) &&
    lines.slice(1).every((value, index) => value === lineAt(line + 1 + index))
  ) return true;
  if (lines.length === 1 && lines[0] === lineSuffix) return true;
  let next = line + 1;
  while (next < doc.length && lineAt(next).trim() === "") next++;
  if (next >= doc.length) return false;
  if (linePrefix + lines[0] !== lineAt(next)) return false;
  if (lines.length === 1) return true;
  if (lines.length === 2 && lines[1] === lineAt(next + 1).slice(0, lines[1].length)) return true;
  return lines.length > 2 &&
    lines.slice(1).every((value, index) => value === lineAt(next + 1 + index));
}

/**
 * llama.vscode's ring buffer of extra context (`ExtraContext`): chunks are
 * queued when picked and move into the ring, one per tick of its timer, only
 * while the user is idle; each move sends the chunks to the server to warm
 * its cache. Its `Math.random` is the seeded `random` here.
 */
export class RingBuffer {
  /** The chunks sent as `input_extra`, oldest first. */
  readonly chunks: ExtraChunk[] = [];
  #chunkLines: string[][] = [];
  #queued: ExtraChunk[] = [];
  #queuedLines: string[][] = [];
  #lastLinePick = -9999;
  #random: () => number;

  constructor(random: () => number) {
    this.#random = random;
  }

  /** Chunks waiting to enter the ring. */
  get queued(): number {
    return this.#queued.length;
  }

  /**
   * A file became the active editor (`setOnChangeActiveFile`): a chunk around
   * the cursor. llama.vscode picks around the "previous" editor too, but reads
   * it after VS Code has switched, so both picks are the same chunk.
   */
  opened(doc: string[], line: number, filename: string): void {
    const half = LLAMA_VSCODE.ringChunkSize / 2;
    this.pick(linesBetween(doc, Math.max(0, line - half), Math.min(line + half, doc.length - 1)), {
      filename,
      evict: true,
    });
  }

  /**
   * A suggestion was shown at `line` (`addFimContextChunks`): when the cursor
   * moved more than 32 lines since the last pick, a chunk from far above it
   * and one from just below the suffix's lines.
   */
  shown(doc: string[], line: number, filename: string): void {
    if (Math.abs(line - this.#lastLinePick) <= LLAMA_VSCODE.maxLastPickLineDistance) return;
    const { ringScope, nPrefix, nSuffix, ringChunkSize } = LLAMA_VSCODE;
    const last = doc.length - 1;
    this.pick(linesBetween(doc, Math.max(0, line - ringScope), Math.max(0, line - nPrefix)), {
      filename,
      evict: false,
    });
    this.pick(
      linesBetween(
        doc,
        Math.min(last, line + nSuffix),
        Math.min(last, line + nSuffix + ringChunkSize),
      ),
      { filename, evict: false },
    );
    this.#lastLinePick = line;
  }

  /** `pickChunk`: queues half a chunk's lines (or all, when few), evicting near-duplicates. */
  pick(lines: string[], options: { filename: string; evict: boolean }): void {
    if (lines.length < 3) return;
    const size = LLAMA_VSCODE.ringChunkSize;
    let picked = lines;
    if (lines.length + 1 >= size) {
      const start = Math.floor(this.#random() * Math.max(0, lines.length - size / 2 + 1));
      picked = lines.slice(start, Math.min(start + size / 2, lines.length));
    }
    const text = picked.join("\n") + "\n";
    if (options.evict) {
      if ([...this.chunks, ...this.#queued].some((chunk) => chunk.text === text)) return;
      for (let index = this.chunks.length - 1; index >= 0; index--) {
        if (jaccard(this.#chunkLines[index], picked) > 0.9) {
          this.chunks.splice(index, 1);
          this.#chunkLines.splice(index, 1);
        }
      }
      for (let index = this.#queued.length - 1; index >= 0; index--) {
        if (jaccard(this.#queuedLines[index], picked) > 0.9) {
          this.#queued.splice(index, 1);
          this.#queuedLines.splice(index, 1);
        }
      }
    }
    if (this.#queued.length >= LLAMA_VSCODE.maxQueuedChunks) {
      // llama.vscode drops the oldest queued chunk but not its lines; they stay paired here.
      this.#queued.shift();
      this.#queuedLines.shift();
    }
    this.#queued.push({ text, filename: options.filename });
    this.#queuedLines.push(picked);
  }

  /**
   * `ticks` ticks of `periodicRingBufferUpdate` while the user is idle: each
   * moves one queued chunk into the ring, the oldest leaving past 16.
   *
   * @returns How many chunks moved in.
   */
  idle(ticks: number): number {
    let moved = 0;
    for (; moved < ticks && this.#queued.length > 0; moved++) {
      this.chunks.push(this.#queued.shift()!);
      this.#chunkLines.push(this.#queuedLines.shift()!);
      while (this.chunks.length > LLAMA_VSCODE.ringChunks) {
        this.chunks.shift();
        this.#chunkLines.shift();
      }
    }
    return moved;
  }
}

/** `getDocumentLines`: lines `start` to `end`, both included. */
function linesBetween(doc: string[], start: number, end: number): string[] {
  return doc.slice(start, Math.max(start, end + 1));
}

/** Jaccard similarity of two chunks' sets of lines. */
function jaccard(a: string[], b: string[]): number {
  if (a.length === 0 && b.length === 0) return 1;
  const setA = new Set(a), setB = new Set(b);
  const shared = [...setA].filter((line) => setB.has(line)).length;
  return shared / new Set([...a, ...b]).size;
}

function onlyIndentation(text: string): boolean {
  return /^[ \t]*$/.test(text);
}

/** The first identifier in `text`, if any. */
export function firstIdentifier(text: string): string | undefined {
  return /[A-Za-z_$][\w$]*/.exec(text)?.[0];
}

/** A line to type again: its file's lines as written, and where it is. */
export interface Place {
  /** Relative to the project's root. */
  path: string;
  lines: string[];
  line: number;
}

/**
 * One line of each of `count` files (seeded, files in a shuffled order): a
 * line the `latency` suite would type, outside comments and docstrings.
 */
export function pickPlaces(files: CodeFile[], count: number, random: () => number): Place[] {
  const order = shuffleInPlace([...files].sort((a, b) => a.path.localeCompare(b.path)), random);
  const places: Place[] = [];
  for (const file of order) {
    if (places.length >= count) break;
    const lines = file.text.split("\n");
    const prose = proseLines(file.path, file.text);
    const candidates = lines.flatMap((content, line) =>
      typable(content) && !prose[line] ? [line] : []
    );
    if (candidates.length === 0) continue;
    const line = candidates[Math.floor(random() * candidates.length)];
    places.push({ path: file.path, lines, line });
  }
  return places;
}

/** One key's model call, as either side made it. */
interface KeyResult {
  /** The first key of its line: the first suggestion in a file just opened. */
  first: boolean;
  /** The side's own timing of the request. */
  requestMs: number;
  /** The model's part of it. */
  modelMs: number;
  text: string;
  /** The rest of the line as written. */
  expected: string;
  promptTokens: number;
  reusedTokens: number;
  generatedTokens: number;
  /** Answered quick, from the prompt nearest the cursor (the engine only). */
  shortened: boolean;
}

/** Each key of a place: the document as it reads then, the cursor, and what the line goes on with. */
export function keysOf(place: Place) {
  const content = place.lines[place.line];
  return typedPrefixes(content).map((typed) => ({
    doc: place.lines.with(place.line, typed),
    cursor: { line: place.line, character: typed.length },
    expected: content.slice(typed.length),
  }));
}

/** The place's document with its line cleared after the indentation: where the cursor lands. */
export function landing(place: Place) {
  const content = place.lines[place.line];
  const indent = content.length - content.trimStart().length;
  return {
    doc: place.lines.with(place.line, content.slice(0, indent)),
    cursor: { line: place.line, character: indent },
  };
}

/** The engine's side: a prefetch where the cursor lands, waited for, then a completion per key. */
async function engineSide(
  engine: Engine,
  root: string,
  places: Place[],
  context: { source: ContextSource; repoName: string },
): Promise<KeyResult[]> {
  const never = new AbortController().signal;
  const results: KeyResult[] = [];
  for (const place of places) {
    const input = (doc: string[], cursor: Cursor) => ({
      uri: `file://${join(root, place.path)}`,
      path: place.path,
      languageId: languageOf(place.path),
      text: doc.join("\n"),
      position: cursor,
      maxLines: ADAPTER_MAX_LINES,
      context,
    });
    const land = landing(place);
    engine.pipeline.prefetch(input(land.doc, land.cursor));
    // The pause is the peer's (its warm-up request is waited for): a quick answer to the landing
    // request means the full one is still being made, which the same cursor asked again waits for.
    const landed = await engine.pipeline.complete(input(land.doc, land.cursor), never);
    if (landed.timings.shortened) {
      await engine.pipeline.complete({ ...input(land.doc, land.cursor), useCache: false }, never);
    }
    for (const [index, key] of keysOf(place).entries()) {
      const result = await engine.pipeline.complete(
        { ...input(key.doc, key.cursor), useCache: false },
        never,
      );
      const { timings } = result;
      results.push({
        first: index === 0,
        requestMs: timings.totalMs,
        modelMs: timings.generateMs,
        text: result.text,
        expected: key.expected,
        promptTokens: timings.promptTokens,
        reusedTokens: timings.reusedTokens,
        generatedTokens: timings.generatedTokens,
        shortened: timings.shortened === true,
      });
    }
  }
  return results;
}

/** The peer's side: llama.vscode's requests, its ring buffer filled as it fills it. */
async function peerSide(url: string, root: string, places: Place[]): Promise<KeyResult[]> {
  const ring = new RingBuffer(seeded(41));
  const results: KeyResult[] = [];
  for (const place of places) {
    const filename = join(root, place.path);
    const land = landing(place);
    ring.opened(land.doc, land.cursor.line, filename);
    // One warming request for the ticks of the pause: each would replace the one before.
    if (ring.idle(IDLE_TICKS) > 0) await postInfill(url, warmBody(ring.chunks));
    for (const [index, key] of keysOf(place).entries()) {
      const started = performance.now();
      const response = await postInfill(url, infillBody(key.doc, key.cursor, ring.chunks));
      const requestMs = performance.now() - started;
      const shown = shownSuggestion(response.content ?? "", key.doc, key.cursor);
      if (shown !== undefined) ring.shown(key.doc, key.cursor.line, filename);
      const timings = response.timings ?? {};
      const promptTokens = response.tokens_evaluated ?? 0;
      results.push({
        first: index === 0,
        requestMs,
        modelMs: (timings.prompt_ms ?? 0) + (timings.predicted_ms ?? 0),
        text: shown ?? "",
        expected: key.expected,
        promptTokens,
        reusedTokens: Math.max(0, promptTokens - (timings.prompt_n ?? promptTokens)),
        generatedTokens: timings.predicted_n ?? 0,
        shortened: false,
      });
    }
  }
  return results;
}

async function postInfill(url: string, body: object): Promise<InfillResponse> {
  const response = await fetch(`${url}/infill`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  });
  if (!response.ok) {
    throw new Error(`llama-server /infill answered ${response.status}: ${await response.text()}`);
  }
  return await response.json();
}

/** One side's figures over the same keys. */
function summarize(results: KeyResult[]) {
  const first = results.filter((result) => result.first);
  const scored = results.filter((result) => firstIdentifier(result.expected) !== undefined);
  const matched = scored.filter((result) =>
    firstIdentifier(result.text) === firstIdentifier(result.expected)
  );
  const prompt = sum(results.map((result) => result.promptTokens));
  return {
    requestMs: stats(results.map((result) => result.requestMs)),
    modelMs: stats(results.map((result) => result.modelMs)),
    firstRequestMs: stats(first.map((result) => result.requestMs)),
    firstModelMs: stats(first.map((result) => result.modelMs)),
    shown: share(results.filter((result) => result.text !== "").length, results.length),
    firstIdentifierMatch: share(matched.length, scored.length),
    promptTokens: stats(results.map((result) => result.promptTokens)),
    reusedShare: prompt === 0
      ? 0
      : round(sum(results.map((result) => result.reusedTokens)) / prompt, 3),
    generatedTokens: stats(results.map((result) => result.generatedTokens)),
    shortened: share(results.filter((result) => result.shortened).length, results.length),
  };
}

/** Engine over peer, of the medians and the rates. */
function ratios(engine: ReturnType<typeof summarize>, peer: ReturnType<typeof summarize>) {
  const ratio = (a: number, b: number) => b === 0 ? null : round(a / b, 3);
  return {
    requestMs: ratio(engine.requestMs.median, peer.requestMs.median),
    modelMs: ratio(engine.modelMs.median, peer.modelMs.median),
    firstRequestMs: ratio(engine.firstRequestMs.median, peer.firstRequestMs.median),
    firstModelMs: ratio(engine.firstModelMs.median, peer.firstModelMs.median),
    shown: ratio(engine.shown.rate, peer.shown.rate),
    firstIdentifierMatch: ratio(engine.firstIdentifierMatch.rate, peer.firstIdentifierMatch.rate),
    promptTokens: ratio(engine.promptTokens.median, peer.promptTokens.median),
  };
}

/** A running llama-server. */
interface LlamaServer {
  url: string;
  version: string;
  args: string[];
  stop(): Promise<void>;
}

/**
 * Starts `binary` on `model` with the flags llama.vscode's start command for a
 * completion model uses (`-ub 1024 -b 1024 --ctx-size 0 --cache-reuse 256`),
 * one slot (llama.vscode sends every request to slot 0), the engine's threads,
 * on a free port of 127.0.0.1 without its web UI; resolves once /health answers.
 *
 * @throws Error when it is too old for `--cache-reuse`, exits, or is not up in time.
 */
async function startLlamaServer(
  binary: string,
  options: { model: string; threads: number; gpu: boolean; log: Logger },
): Promise<LlamaServer> {
  const help = await outputOf(binary, ["--help"]);
  if (!help.includes("--cache-reuse")) {
    throw new Error(
      `${binary} has no --cache-reuse: a llama-server from 2024-11 or later is needed`,
    );
  }
  const version = (await outputOf(binary, ["--version"])).split("\n")
    .find((line) => line.startsWith("version")) ?? "unknown";
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const threads = String(options.threads);
  const args = [
    ...["-m", options.model, "--host", "127.0.0.1", "--port", String(port)],
    ...["-t", threads, "-tb", threads, "-ngl", options.gpu ? "99" : "0"],
    ...["-ub", "1024", "-b", "1024", "--ctx-size", "0", "--cache-reuse", "256", "-np", "1"],
    ...(help.includes("--no-webui") ? ["--no-webui"] : []),
  ];
  const child = new Deno.Command(binary, { args, stdout: "null", stderr: "piped" }).spawn();
  let tail = "", exited: Deno.CommandStatus | undefined;
  const drained = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      tail = (tail + text).slice(-4000);
    }
  })();
  child.status.then((status) => {
    exited = status;
  });
  const url = `http://127.0.0.1:${port}`;
  const signal = (name: Deno.Signal) => {
    try {
      if (!exited) child.kill(name);
    } catch { /* it exited meanwhile */ }
  };
  const stop = async () => {
    signal("SIGTERM");
    const timer = setTimeout(() => signal("SIGKILL"), 5000);
    await child.status;
    clearTimeout(timer);
    await drained;
  };
  try {
    const deadline = performance.now() + SERVER_START_MS;
    for (;;) {
      if (exited) throw new Error(`llama-server exited with code ${exited.code}: ${tail.trim()}`);
      if (performance.now() > deadline) {
        throw new Error(`llama-server not up in time: ${tail.trim()}`);
      }
      if (await healthy(url)) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  options.log.info(`llama-server ${version} on ${url}: ${args.join(" ")}`);
  return { url, version, args, stop };
}

/** Whether llama-server answers /health with 200: up, the model loaded. */
async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/** What a command prints, stdout and stderr together. */
async function outputOf(binary: string, args: string[]): Promise<string> {
  const { stdout, stderr } = await new Deno.Command(binary, {
    args,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const decoder = new TextDecoder();
  return decoder.decode(stdout) + decoder.decode(stderr);
}

/**
 * The `peer` suite on each named project (trpc-server by default), `lines`
 * lines each; skipped, saying why, without `llamaServer`.
 *
 * @throws Error when the binary is missing or 127.0.0.1 may not be reached.
 */
export async function peer(
  options: { llamaServer?: string; projects: string[]; lines: number; log: Logger },
) {
  const binary = options.llamaServer;
  if (!binary) {
    return { skipped: "no llama-server: pass --llama-server PATH (llama.cpp's server binary)" };
  }
  if (!(await Deno.stat(binary).then((info) => info.isFile, () => false))) {
    throw new Error(`No llama-server at ${binary}`);
  }
  if ((await Deno.permissions.query({ name: "net", host: "127.0.0.1" })).state !== "granted") {
    throw new Error(
      "The peer suite talks to llama-server on 127.0.0.1: run the bench with --allow-net including 127.0.0.1",
    );
  }
  const reports: Record<string, unknown> = {};
  for (
    const project of projectsNamed(options.projects.length ? options.projects : ["trpc-server"])
  ) {
    const root = await Deno.realPath(await fetchProject(project));
    const files = await readProjectFiles(root, (path) => isSourceFile(project, path));
    const places = pickPlaces(files, options.lines, seeded(31));
    const config = await benchConfig();
    try {
      const { engine, project: indexed } = await openIndexed(config, root, options.log);
      const serverOptions = (model: string) => ({
        model,
        threads: config.generator.threads,
        gpu: config.generator.gpu !== false,
        log: options.log,
      });
      let model: string, format: string;
      let engineResults: KeyResult[];
      try {
        engine.models.start();
        const generator = await engine.models.ready(new AbortController().signal, 120_000);
        format = generator.format;
        const name = engine.status(root).model?.name ?? generator.modelName;
        model = await Deno.realPath(
          (await resolveModel(config.cacheDir, config.modelsLock, name)).path,
        );
        // A server that cannot run here (a build for another CPU dies with SIGILL) is found
        // now, not after the engine's side; it is stopped before the engine types.
        await (await startLlamaServer(binary, serverOptions(model))).stop();
        engineResults = await engineSide(engine, root, places, {
          source: indexed.contextSource,
          repoName: indexed.name,
        });
      } finally {
        await engine.close();
      }
      if (format !== "fim") {
        reports[project.name] = { skipped: `the generator is prompted by ${format}, not FIM` };
        continue;
      }
      const server = await startLlamaServer(binary, serverOptions(model));
      let peerResults: KeyResult[];
      try {
        peerResults = await peerSide(server.url, root, places);
      } finally {
        await server.stop();
      }
      const engineSummary = summarize(engineResults), peerSummary = summarize(peerResults);
      reports[project.name] = {
        lines: places.length,
        keystrokes: engineResults.length,
        model,
        threads: config.generator.threads,
        llamaServer: { version: server.version, args: server.args.slice(2) },
        engine: engineSummary,
        peer: peerSummary,
        engineOverPeer: ratios(engineSummary, peerSummary),
      };
      console.error(JSON.stringify({ project: project.name, ...reports[project.name] as object }));
    } finally {
      await Deno.remove(config.cacheDir, { recursive: true });
    }
  }
  return { projects: reports };
}

function share(count: number, of: number) {
  return { count, of, rate: of === 0 ? 0 : round(count / of, 3) };
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function round(value: number, digits: number): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}
