import assert from "node:assert/strict";
import { taskArgs } from "../_helpers/sidecar.ts";

Deno.test("deno task compile says clearly when denort cannot be had", async () => {
  const env = {
    ...Deno.env.toObject(),
    AST_COMPLETE_DENORT_CHECK_URL: "http://127.0.0.1:9/",
    NO_COLOR: "1",
  };
  delete (env as Record<string, string>).DENORT_BIN;
  const output = await new Deno.Command(Deno.execPath(), {
    args: await taskArgs("compile"),
    env,
    clearEnv: true,
    stdin: "null",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 1);
  assert.match(stderr, /needs Deno's denort runtime/);
  assert.match(stderr, /DENORT_BIN=\/path\/to\/denort/);
});
