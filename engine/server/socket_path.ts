/**
 * Where the sidecar's Unix socket lives: a private directory (0700) under
 * $XDG_RUNTIME_DIR or the temp dir, one socket per process, stale sockets of
 * dead processes removed.
 */
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Creates the private socket directory and returns a fresh socket path in it. */
export async function prepareSocketPath(): Promise<string> {
  const base = Deno.env.get("XDG_RUNTIME_DIR") || tmpdir();
  const dir = join(base, `ast-complete-${Deno.uid() ?? "user"}`);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await Deno.stat(dir);
  if (info.uid !== null && info.uid !== Deno.uid()) {
    throw new Error(`Socket directory ${dir} belongs to another user`);
  }
  await Deno.chmod(dir, 0o700);
  await removeStaleSockets(dir);
  return join(dir, `sidecar-${Deno.pid}.sock`);
}

/** Removes sockets in `dir` that nobody listens on any more. */
async function removeStaleSockets(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".sock")) continue;
    const path = join(dir, entry.name);
    if (!(await isListening(path))) await Deno.remove(path).catch(() => undefined);
  }
}

function isListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
