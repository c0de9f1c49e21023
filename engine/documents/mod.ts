/**
 * The client's open buffers, as synced by the `document/*` notifications,
 * and conversions between positions and offsets.
 *
 * @module
 */
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { ErrorCode, type Position } from "../protocol/mod.ts";
import { EngineError } from "../protocol/errors.ts";

export { insertionEnd } from "./edits.ts";
export { headWholeLines, tailWholeLines } from "./windows.ts";

/** One open buffer. */
export interface Document {
  uri: string;
  languageId: string;
  version: number;
  text: string;
}

const LANGUAGE_BY_EXTENSION: Record<string, string> = {
  ".py": "python",
  ".ts": "typescript",
  ".mts": "typescript",
  ".cts": "typescript",
  ".tsx": "typescriptreact",
  ".js": "javascript",
  ".mjs": "javascript",
  ".cjs": "javascript",
  ".jsx": "javascriptreact",
  ".rs": "rust",
  ".go": "go",
  ".java": "java",
  ".c": "c",
  ".h": "c",
  ".cc": "cpp",
  ".cpp": "cpp",
  ".hpp": "cpp",
  ".cs": "csharp",
  ".rb": "ruby",
  ".php": "php",
  ".sh": "shellscript",
  ".bash": "shellscript",
  ".json": "json",
  ".css": "css",
  ".html": "html",
  ".md": "markdown",
};

/** Language ids the sidecar recognises by file extension. */
export const KNOWN_LANGUAGES: string[] = [...new Set(Object.values(LANGUAGE_BY_EXTENSION))];

/** The language of a file from its extension; "plaintext" when unknown. */
export function languageOf(path: string): string {
  return LANGUAGE_BY_EXTENSION[extname(path).toLowerCase()] ?? "plaintext";
}

/** A file path for a URI: the path of a file:// URI, else the URI itself. */
export function pathOf(uri: string): string {
  if (!uri.startsWith("file:")) return uri;
  try {
    return fileURLToPath(uri);
  } catch {
    return uri;
  }
}

/**
 * The offset of a position in a text.
 *
 * @throws EngineError InvalidParams when the position lies outside the text.
 */
export function offsetAt(text: string, position: Position): number {
  let lineStart = 0;
  for (let line = 0; line < position.line; line++) {
    const newline = text.indexOf("\n", lineStart);
    if (newline === -1) {
      throw new EngineError(
        ErrorCode.InvalidParams,
        `Position past the end of the document: line ${position.line} requested, the document has ${
          line + 1
        } lines`,
      );
    }
    lineStart = newline + 1;
  }
  const lineEnd = text.indexOf("\n", lineStart);
  const lineLength = (lineEnd === -1 ? text.length : lineEnd) - lineStart;
  if (position.character > lineLength) {
    throw new EngineError(
      ErrorCode.InvalidParams,
      `Position past the end of the line: character ${position.character} requested, line ${position.line} has ${lineLength} characters`,
    );
  }
  return lineStart + position.character;
}

/** The position of a UTF-16 offset in a text. */
export function positionAt(text: string, offset: number): Position {
  const before = text.slice(0, offset);
  const line = before.split("\n").length - 1;
  return { line, character: offset - (before.lastIndexOf("\n") + 1) };
}

/** Characters of the prefix's end and the suffix's start matched against open buffers. */
const LOCATE_PREFIX_CHARS = 300;
const LOCATE_SUFFIX_CHARS = 100;

/**
 * Throws when a document is larger than `maxBytes` of UTF-8.
 *
 * @throws EngineError DocumentTooLarge, naming both sizes.
 */
export function checkDocumentSize(text: string, maxBytes: number): void {
  // A UTF-16 unit is at most 3 bytes of UTF-8: most documents need no encoding to tell.
  const bytes = text.length * 3 <= maxBytes ? 0 : new TextEncoder().encode(text).byteLength;
  if (bytes > maxBytes) {
    throw new EngineError(
      ErrorCode.DocumentTooLarge,
      `Document too large: ${(bytes / 1e6).toFixed(1)} MB exceeds the ${
        (maxBytes / 1e6).toFixed(1)
      } MB limit`,
    );
  }
}

/** Bounds on what one client's store holds. */
export interface DocumentLimits {
  /** Largest document, in UTF-8 bytes. */
  maxDocumentBytes: number;
  /** Documents held; past it the least recently synced is forgotten. */
  maxOpenDocuments: number;
  /** Total UTF-16 length held; past it the least recently synced are forgotten. */
  maxOpenDocumentChars: number;
}

/** Refusals remembered so a later request on that document says why it is unknown. */
const REMEMBERED_REFUSALS = 64;

/** The buffers a client has open, newest version wins, within the limits. */
export class DocumentStore {
  #documents = new Map<string, Document>();
  #limits: DocumentLimits;
  #chars = 0;
  #refused = new Map<string, string>();

  constructor(limits: DocumentLimits) {
    this.#limits = limits;
  }

  /**
   * Opens or replaces a buffer; an older version than the one held is ignored.
   *
   * @throws EngineError DocumentTooLarge; the buffer is then forgotten and the refusal remembered.
   */
  set(document: Document): void {
    const held = this.#documents.get(document.uri);
    if (held && document.version < held.version) return;
    try {
      checkDocumentSize(document.text, this.#limits.maxDocumentBytes);
    } catch (error) {
      this.delete(document.uri);
      this.#refused.set(document.uri, (error as Error).message);
      if (this.#refused.size > REMEMBERED_REFUSALS) {
        this.#refused.delete(this.#refused.keys().next().value!);
      }
      throw error;
    }
    this.delete(document.uri);
    // Insertion order is recency order: the first entries are evicted first.
    this.#documents.set(document.uri, document);
    this.#chars += document.text.length;
    while (
      this.#documents.size > this.#limits.maxOpenDocuments ||
      this.#chars > this.#limits.maxOpenDocumentChars
    ) {
      this.delete(this.#documents.keys().next().value!);
    }
  }

  /** The buffer for a URI, if open. */
  get(uri: string): Document | undefined {
    return this.#documents.get(uri);
  }

  /** Why the buffer for a URI was refused, if it was and is not open since. */
  refusal(uri: string): string | undefined {
    return this.#refused.get(uri);
  }

  /** How many buffers are held, and their total UTF-16 length. */
  size(): { documents: number; chars: number } {
    return { documents: this.#documents.size, chars: this.#chars };
  }

  /** Forgets a buffer. */
  delete(uri: string): void {
    const held = this.#documents.get(uri);
    this.#refused.delete(uri);
    if (!held) return;
    this.#documents.delete(uri);
    this.#chars -= held.text.length;
  }

  /**
   * The open buffer and cursor that an excerpt (text before and after a cursor, as
   * an editor's FIM prompt carries it) was cut from, if one holds it.
   */
  locate(prefix: string, suffix: string): { document: Document; position: Position } | undefined {
    const before = prefix.slice(-LOCATE_PREFIX_CHARS);
    const needle = before + suffix.slice(0, LOCATE_SUFFIX_CHARS);
    if (!needle.trim()) return undefined;
    for (const document of this.#documents.values()) {
      const found = document.text.indexOf(needle);
      if (found !== -1) {
        return { document, position: positionAt(document.text, found + before.length) };
      }
    }
    return undefined;
  }
}
