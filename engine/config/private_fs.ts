/**
 * Everything the engine writes is the user's alone: folders 0700, files 0600.
 * The process umask (set at start) makes that the default; these helpers also
 * repair what an older version or another tool left readable, and refuse a
 * folder that belongs to someone else.
 */
import { join } from "node:path";
import process from "node:process";

/** Creates `dir` (and its parents) if needed and makes it private to this user. */
export async function makePrivateDir(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await Deno.stat(dir);
  const uid = Deno.uid();
  if (uid !== null && info.uid !== null && info.uid !== uid) {
    throw new Error(`Cannot keep private data in ${dir}: it belongs to another user`);
  }
  if (info.mode !== null && (info.mode & 0o777) !== 0o700) await Deno.chmod(dir, 0o700);
}

/** Makes every file directly in `dir` private (0600), e.g. an index written before umask. */
export async function makePrivateFiles(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile) continue;
    const path = join(dir, entry.name);
    const { mode } = await Deno.lstat(path);
    if (mode !== null && (mode & 0o077) !== 0) await Deno.chmod(path, mode & 0o700);
  }
}

/** Makes files and folders this process creates private: the umask every write starts from. */
export function restrictUmask(): void {
  // Deno.umask is unstable; node:process's umask is the same system call.
  process.umask(0o077);
}
