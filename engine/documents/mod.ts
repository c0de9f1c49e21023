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

/** The buffers a client has open, newest version wins. */
export class DocumentStore {
  #documents = new Map<string, Document>();

  /** Opens or replaces a buffer; an older version than the one held is ignored. */
  set(document: Document): void {
    const held = this.#documents.get(document.uri);
    if (held && document.version < held.version) return;
    this.#documents.set(document.uri, document);
  }

  /** The buffer for a URI, if open. */
  get(uri: string): Document | undefined {
    return this.#documents.get(uri);
  }

  /** Forgets a buffer. */
  delete(uri: string): void {
    this.#documents.delete(uri);
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
