/**
 * The bearer token of the OpenAI-compatible endpoint. There is always one:
 * `AST_COMPLETE_HTTP_TOKEN` when set, else the token file in the cache
 * directory, made with 32 random bytes on first use and kept (mode 0600) so an
 * editor is configured once. Never from the command line, which every local
 * user can read in /proc/<pid>/cmdline.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { dirname, join } from "node:path";
import { makePrivateDir } from "../config/mod.ts";

/** The environment variable that overrides the token file. */
export const TOKEN_ENV = "AST_COMPLETE_HTTP_TOKEN";
/** A token taken from the environment must be at least this long. */
const MIN_ENV_TOKEN_CHARS = 16;
/** What the token file holds: 32 random bytes in base64url. */
const FILE_TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** Printable ASCII without spaces: what an `Authorization` header can carry as one word. */
const HEADER_SAFE = /^[\x21-\x7e]+$/;

/** A token and where it came from, for the log (never the token itself). */
export interface HttpToken {
  token: string;
  /** `AST_COMPLETE_HTTP_TOKEN`, or the path of the token file. */
  source: string;
}

/** The token file's path under the cache directory. */
export function tokenPath(cacheDir: string): string {
  return join(cacheDir, "http-token");
}

/**
 * The endpoint's token: `AST_COMPLETE_HTTP_TOKEN` if set (and strong enough),
 * else the token file, created when absent and replaced when another user
 * could have read it.
 *
 * @param cacheDir The cache directory holding `http-token`.
 * @param warn Told when an unsafe token file was replaced.
 */
export async function resolveHttpToken(
  cacheDir: string,
  warn: (message: string) => void,
): Promise<HttpToken> {
  const fromEnv = Deno.env.get(TOKEN_ENV);
  if (fromEnv) {
    if (fromEnv.length < MIN_ENV_TOKEN_CHARS || !HEADER_SAFE.test(fromEnv)) {
      throw new Error(
        `${TOKEN_ENV} must be at least ${MIN_ENV_TOKEN_CHARS} printable ASCII characters without spaces`,
      );
    }
    return { token: fromEnv, source: TOKEN_ENV };
  }
  const path = tokenPath(cacheDir);
  return { token: await readOrCreateTokenFile(path, warn), source: path };
}

/**
 * Reads the token file, or creates it. A file that is not a regular file with
 * no group or other permissions is replaced: its token may have been read by
 * someone else. (Another user's private file cannot be read at all, so it
 * fails here rather than being trusted.)
 */
async function readOrCreateTokenFile(
  path: string,
  warn: (message: string) => void,
): Promise<string> {
  const info = await Deno.lstat(path).catch((error) => {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  });
  if (!info) return await createTokenFile(path);
  const safe = info.isFile && (info.mode === null || (info.mode & 0o077) === 0);
  const token = safe ? (await Deno.readTextFile(path)).trim() : "";
  if (FILE_TOKEN.test(token)) return token;
  const fresh = await writeTokenFile(path, (temp) => Deno.rename(temp, path));
  warn(
    safe
      ? `Token file ${path} held no valid token: wrote a new one`
      : `Token file ${path} was open to other users (not mode 0600): replaced it with a new ` +
        "token; give that to your editor (`ast-complete http-token` prints it)",
  );
  return fresh;
}

/**
 * Creates the token file unless another process just did (two editors may
 * start at once): the first file linked into place wins and everyone reads it.
 */
async function createTokenFile(path: string): Promise<string> {
  await makePrivateDir(dirname(path));
  try {
    return await writeTokenFile(path, (temp) => Deno.link(temp, path));
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    return (await Deno.readTextFile(path)).trim();
  }
}

/**
 * Writes a new token to a private temporary file beside `path` and moves it
 * into place with `place`, so `path` never holds a partial or readable token.
 */
async function writeTokenFile(
  path: string,
  place: (temp: string) => Promise<void>,
): Promise<string> {
  const token = newToken();
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(temp, `${token}\n`, { createNew: true, mode: 0o600 });
    await place(temp);
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
  return token;
}

/** 32 random bytes, base64url without padding. */
function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/**
 * Compares a presented token with the expected one in constant time: both are
 * hashed first, so neither their contents nor their lengths show in the timing.
 *
 * @returns A function that says whether a presented token is the right one.
 */
export function tokenMatcher(expected: string): (presented: string) => boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  const wanted = digest(expected);
  return (presented) => timingSafeEqual(digest(presented), wanted);
}
