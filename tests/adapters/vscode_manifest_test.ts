/**
 * The VS Code extension's manifest: a setting that decides what the extension
 * runs, or what the sidecar loads, is machine-scoped, so VS Code ignores it in
 * a workspace's settings and a cloned repository cannot set it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { sidecarCommand } from "../../adapters/vscode/src/launch.ts";
import { readSettings } from "../../adapters/vscode/src/settings.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const PREFIX = "astComplete.";

interface SettingSchema {
  type: string;
  scope?: string;
}

const manifest = JSON.parse(await Deno.readTextFile(join(ROOT, "adapters/vscode/package.json")));
const properties: Record<string, SettingSchema> = manifest.contributes.configuration.properties;

/**
 * The settings whose value ends up in the sidecar's command line (the
 * executable, its arguments or its folder): each string setting gets a value
 * of its own, and the launcher's two ways to a sidecar run on them, a
 * configured binary and a checkout of this repository run with Deno.
 */
function settingsOnTheCommandLine(): Set<string> {
  const found = new Set<string>();
  const launch = (overrides: Record<string, string>, exists: (path: string) => boolean) => {
    const settings = readSettings(<T>(key: string, fallback: T): T => {
      if (properties[PREFIX + key]?.type !== "string") return fallback;
      return (overrides[key] ?? `/marker-${key}`) as T;
    });
    const command = sidecarCommand(
      { ...settings, workspaceRoot: "/workspace", extensionDir: "/extension" },
      exists,
    );
    const words = [command.command, ...command.args, command.cwd ?? ""];
    for (const [key, value] of Object.entries(settings)) {
      if (typeof value === "string" && value !== "" && words.includes(value)) found.add(key);
    }
  };
  launch({}, () => true);
  launch({ sidecarPath: "", repositoryPath: ROOT }, (path) => path.startsWith(ROOT));
  return found;
}

Deno.test("the VS Code settings that pick what runs or what the model is are machine-scoped", () => {
  const used = settingsOnTheCommandLine();
  // The launcher's inputs as the README describes them: if the probe misses one, it is broken.
  for (const key of ["sidecarPath", "repositoryPath", "denoPath", "model"]) {
    assert.ok(used.has(key), `astComplete.${key} reaches the command line`);
  }
  for (const key of used) {
    assert.equal(properties[PREFIX + key]?.scope, "machine", `astComplete.${key}`);
  }
});

Deno.test("every VS Code setting holding a path is machine-scoped", () => {
  const paths = Object.keys(properties).filter((name) => /Path$/.test(name));
  assert.ok(paths.length >= 3, `found ${paths.join(", ")}`);
  for (const name of paths) assert.equal(properties[name].scope, "machine", name);
});

Deno.test("the manifest declares each command the extension registers, and no other", async () => {
  const source = await Deno.readTextFile(join(ROOT, "adapters/vscode/src/extension.ts"));
  const registered = [...source.matchAll(/registerCommand\(\s*"(astComplete\.[A-Za-z]+)"/g)]
    .map((match) => match[1]);
  const declared = (manifest.contributes.commands as { command: string; title: string }[])
    .map((entry) => entry.command);
  // The internal command run when a suggestion is accepted is registered by its constant.
  assert.deepEqual(declared.toSorted(), registered.toSorted());
  assert.ok(declared.includes("astComplete.forgetLearning"), declared.join(", "));
  const forget = manifest.contributes.commands.find(
    (entry: { command: string }) => entry.command === "astComplete.forgetLearning",
  );
  assert.equal(forget.title, "ast-complete: Forget What Was Learned in This Project");
  const train = manifest.contributes.commands.find(
    (entry: { command: string }) => entry.command === "astComplete.trainAdapter",
  );
  assert.equal(train?.title, "ast-complete: Train This Project's Adapter Now");
});

Deno.test("Escape over a suggestion runs the extension's dismiss command, and only then", () => {
  const bindings = manifest.contributes.keybindings as {
    command: string;
    key: string;
    when: string;
  }[];
  const escape = bindings.find((binding) => binding.command === "astComplete.dismissed");
  assert.equal(escape?.key, "escape");
  assert.match(escape!.when, /\binlineSuggestionVisible\b/);
  assert.match(escape!.when, /!suggestWidgetVisible/, "Escape closes the suggest widget first");
});
