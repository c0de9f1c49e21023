/**
 * Where the sidecar's Unix socket lives: a private directory (0700) under
 * $XDG_RUNTIME_DIR or the temp dir, one socket per process, stale sockets of
 * dead processes removed.
 */
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makePrivateDir } from "../config/mod.ts";

/** Creates the private socket directory and returns a fresh socket path in it. */
export async function prepareSocketPath(): Promise<string> {
  const base = Deno.env.get("XDG_RUNTIME_DIR") || tmpdir();
  const dir = join(base, `ast-complete-${Deno.uid() ?? "user"}`);
  await makePrivateDir(dir);
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
