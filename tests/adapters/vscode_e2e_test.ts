/**
 * End to end in a real VS Code in a real browser: the packaged .vsix installed
 * into code-server, a real project open in Chromium, the real sidecar and
 * model behind it. Ghost text appears as the user types, a quick suggestion
 * gives way to the full one, Tab accepts it, the
 * saved file holds it and the sidecar records the `accepted` feedback; killing
 * the sidecar makes the extension restart it. Screenshots and the measured
 * latencies land in test-artifacts/vscode-e2e/.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ensureCodeServer, run } from "../_helpers/code_server.ts";
import { taskArgs, tempCacheDir } from "../_helpers/sidecar.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const ARTIFACTS = join(ROOT, "test-artifacts", "vscode-e2e");
const FILE = "app.py";

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

Deno.test({
  name: "VS Code end to end: ghost text from the real sidecar, Tab, save, feedback, restart",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const tools = await ensureCodeServer();
    const codeServer = join(tools, "node_modules", ".bin", "code-server");
    const packaged = await run(Deno.execPath(), await taskArgs("package-vscode"), { cwd: ROOT });
    const vsix = packaged.stdout.trim().split("\n").at(-1)!;

    const base = await Deno.makeTempDir({ prefix: "ace2e-" });
    const workspace = join(base, "ws");
    await run("cp", ["-r", join(ROOT, "tests", "fixtures", "shop"), workspace]);
    await run("cp", ["-rT", join(ROOT, "tests", "fixtures", "e2e"), workspace]);
    const userData = join(base, "ud");
    const extensions = join(base, "ext");
    await Deno.mkdir(join(userData, "User"), { recursive: true });
    await Deno.writeTextFile(
      join(userData, "User", "settings.json"),
      JSON.stringify({
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": false,
        "extensions.autoCheckUpdates": false,
        "extensions.autoUpdate": false,
        "telemetry.telemetryLevel": "off",
        "update.mode": "none",
        "security.workspace.trust.enabled": false,
        // Keystrokes land exactly as typed, and Tab goes to the ghost text.
        "editor.autoClosingBrackets": "never",
        "editor.autoClosingQuotes": "never",
        "editor.quickSuggestions": { other: false, comments: false, strings: false },
        "editor.suggestOnTriggerCharacters": false,
        "editor.wordBasedSuggestions": "off",
        "astComplete.repositoryPath": ROOT,
        "astComplete.denoPath": Deno.execPath(),
        "astComplete.maxLines": 8,
      }),
    );
    const cacheDir = await tempCacheDir();
    const env = {
      ...Deno.env.toObject(),
      XDG_CONFIG_HOME: join(base, "xdg-config"),
      XDG_DATA_HOME: join(base, "xdg-data"),
      XDG_CACHE_HOME: join(base, "xdg-cache"),
      XDG_RUNTIME_DIR: join(base, "run"),
      TMPDIR: join(base, "tmp"),
      AST_COMPLETE_CACHE_DIR: cacheDir,
      // A first suggestion where the prompt is not evaluated yet is the quick one, whatever this
      // host's speed.
      AST_COMPLETE_FIRST_SUGGESTION_MS: "1",
      NO_COLOR: "1",
    };
    for (const dir of [env.XDG_RUNTIME_DIR, env.TMPDIR, ARTIFACTS]) {
      await Deno.mkdir(dir, { recursive: true });
    }
    const dirs = ["--user-data-dir", userData, "--extensions-dir", extensions];
    await run(codeServer, [...dirs, "--install-extension", vsix], { env });

    // setsid: code-server and everything it starts share one process group, stopped together.
    const server = new Deno.Command("setsid", {
      args: [
        codeServer,
        "--bind-addr",
        "127.0.0.1:0",
        "--auth",
        "none",
        "--disable-telemetry",
        "--disable-update-check",
        "--disable-workspace-trust",
        ...dirs,
        workspace,
      ],
      env,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const serverLog: string[] = [];
    const port = Promise.withResolvers<string>();
    (async () => {
      for await (const chunk of server.stdout.pipeThrough(new TextDecoderStream())) {
        serverLog.push(chunk);
        const found = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(serverLog.join(""));
        if (found) port.resolve(found[1]);
      }
    })();
    const serverErrors = new Response(server.stderr).text();
    try {
      const driver = await new Deno.Command("node", {
        args: [join(ROOT, "tests", "adapters", "vscode_e2e_driver.cjs")],
        env: {
          ...env,
          PORT: await port.promise,
          WORKSPACE: workspace,
          FILE,
          SHOTS: ARTIFACTS,
          E2E_MODULES: tools,
        },
        stdout: "piped",
        stderr: "inherit",
      }).output();
      const lines = new TextDecoder().decode(driver.stdout).trim().split("\n");
      const result = JSON.parse(lines.at(-1)!);
      await Deno.writeTextFile(join(ARTIFACTS, "result.json"), JSON.stringify(result, null, 2));
      assert.ok(result.ok, `the browser session failed: ${result.error}`);

      assert.ok(
        result.latenciesMs.length >= 4,
        `ghost text on most of the typed lines; none after ${JSON.stringify(result.noSuggestion)}`,
      );
      const firstLine = (text: string) => text.split("\n")[0].trimEnd();
      assert.ok(firstLine(result.ghost).length > 0, "ghost text was shown");
      const disk = await Deno.readTextFile(join(workspace, FILE));
      assert.ok(
        disk.includes(firstLine(result.accepted)),
        `the saved file holds ${result.accepted}`,
      );

      const projects = join(cacheDir, "projects");
      const [project] = await Array.fromAsync(Deno.readDir(projects));
      const events = (await Deno.readTextFile(join(projects, project.name, "feedback.jsonl")))
        .trim().split("\n").map((line) => JSON.parse(line));
      const accepted = events.filter((event) => event.outcome === "accepted");
      assert.ok(
        accepted.some((event) => firstLine(event.text) === firstLine(result.ghost)),
        `the sidecar recorded the accepted suggestion: ${JSON.stringify(events.slice(-3))}`,
      );
      assert.ok(
        events.some((event) => event.outcome === "rejected"),
        "dismissed suggestions are rejected",
      );

      // The line typed in a file just opened: its quick answer (the first suggestion's budget is
      // 1 ms), then the full one, which the extension asked for, in its place when it differs.
      const { line: quickLine, ghosts } = result.quickThenFull;
      const atQuickLine = events.filter((event) =>
        event.kind === "shown" && event.prefix.endsWith(`\n${quickLine}`)
      );
      const quick = atQuickLine.find((event) => event.shortened);
      assert.ok(quick, `a quick answer: ${JSON.stringify(atQuickLine)}`);
      const full = atQuickLine.find((event) =>
        !event.shortened && event.time >= quick.time && event.prefix === quick.prefix &&
        event.suffix === quick.suffix
      );
      const replaced = full !== undefined && full.text !== quick.text;
      if (replaced) {
        assert.equal(ghosts.length, 2, `the quick ghost text, then the full one: ${ghosts}`);
        assert.ok(ghosts[0].startsWith(firstLine(quick.text)), `${ghosts[0]} is the quick one`);
        assert.ok(ghosts[1].startsWith(firstLine(full.text)), `${ghosts[1]} is the full one`);
        assert.ok(
          !events.some((event) => event.kind === "outcome" && event.id === quick.id),
          "the quick suggestion its full one replaced gets no outcome",
        );
      } else {
        assert.ok(ghosts.length <= 1, `nothing to replace, nothing replaced: ${ghosts}`);
      }

      assert.ok(result.killed.length > 0, "the sidecar process was found and killed");
      assert.ok(
        firstLine(result.ghostAfterRestart).length > 0,
        "completions come back after the restart",
      );
      console.log(
        `quick${replaced ? ", replaced by the full one" : ", the full one the same"} at ${
          JSON.stringify(quickLine)
        }: ${JSON.stringify(ghosts)}; ` +
          `last keystroke → ghost text: median ${
            median(result.latenciesMs)
          } ms over ${result.latenciesMs.length} lines, none after ${result.noSuggestion.length} ` +
          `(${
            result.latenciesMs.join(", ")
          }); ready again ${result.restartMs} ms after the kill; ` +
          `screenshots: ${result.screenshots.join(", ")}`,
      );
    } finally {
      await new Deno.Command("kill", { args: ["--", `-${server.pid}`] }).output();
      await server.status;
      await serverErrors;
      let left = "";
      for (let i = 0; i < 100; i++) {
        const pgrep = await new Deno.Command("pgrep", {
          args: ["-f", `main.ts serve .*--workspace ${workspace}$`],
        })
          .output();
        left = new TextDecoder().decode(pgrep.stdout).trim();
        if (!left) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(left, "", "no sidecar outlives VS Code");
      await Deno.remove(base, { recursive: true }).catch(() => undefined);
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});
