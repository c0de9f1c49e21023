/**
 * The sidecar's life outside the happy path: missing or corrupt models,
 * signals, stale sockets.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ErrorCode } from "../../engine/protocol/mod.ts";
import {
  connectWithRetry,
  rpc,
  shutdown,
  spawnSidecar,
  waitForState,
} from "../_helpers/sidecar.ts";

const FIB = "def fibonacci(n):\n    return \n";

Deno.test("serve with a missing model stays up and says how to fetch it", async () => {
  const cacheDir = await Deno.makeTempDir({ prefix: "ast-complete-empty-" });
  const sidecar = await spawnSidecar({ cacheDir });
  const { socket } = await connectWithRetry(sidecar.expectedSocketPath, sidecar.child);
  const connection = rpc(socket);
  const status = await waitForState(connection, "error");
  assert.match(status.error ?? "", /Model missing: .*deno task models pull/);
  assert.equal(status.models[0].loaded, false);
  await assert.rejects(
    connection.sendRequest("complete", {
      uri: "file:///a.py",
      text: FIB,
      position: { line: 1, character: 11 },
    }),
    (error: { code: number; message: string }) => {
      assert.equal(error.code, ErrorCode.ModelMissing);
      assert.match(error.message, /deno task models pull/);
      return true;
    },
  );
  assert.equal((await waitForState(connection, "error")).state, "error", "still serving");
  assert.equal(await shutdown(connection, sidecar), 0);
});

Deno.test("serve with a corrupt model reports it instead of loading it", async () => {
  const cacheDir = await Deno.makeTempDir({ prefix: "ast-complete-corrupt-" });
  await Deno.mkdir(join(cacheDir, "models"));
  // Right size, wrong bytes: only the sha256 can tell.
  using file = await Deno.create(join(cacheDir, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"));
  await file.truncate(98362432);
  const sidecar = await spawnSidecar({ cacheDir, model: "smollm2-135m-instruct-q4_1" });
  const { socket } = await connectWithRetry(sidecar.expectedSocketPath, sidecar.child);
  const connection = rpc(socket);
  const status = await waitForState(connection, "error");
  assert.match(status.error ?? "", /Model corrupt: .*sha256 is [0-9a-f]{64}, expected b179c952/);
  assert.equal(await shutdown(connection, sidecar), 0);
});

Deno.test("SIGTERM stops the sidecar cleanly and removes its socket; stale sockets are cleaned", async () => {
  const first = await spawnSidecar();
  const socketDir = join(first.runtimeDir, `ast-complete-${Deno.uid()}`);
  const socketPath = await first.firstLine;
  await connectWithRetry(socketPath, first.child).then(({ socket }) => socket.destroy());
  first.child.kill("SIGTERM");
  assert.equal((await first.child.status).code, 0, await first.stderr);
  await assert.rejects(Deno.stat(socketPath));
  assert.equal(await first.stdout, `${socketPath}\n`);

  // A socket left by a killed process is removed by the next sidecar.
  await Deno.writeTextFile(join(socketDir, "sidecar-1.sock"), "");
  const env = { XDG_RUNTIME_DIR: first.runtimeDir };
  const second = await spawnSidecar({ env });
  await second.firstLine;
  await assert.rejects(Deno.stat(join(socketDir, "sidecar-1.sock")));
  second.child.kill("SIGINT");
  assert.equal((await second.child.status).code, 0, await second.stderr);
});
