/**
 * The repo bench's sampler and scorer without a model: definitions found in
 * every language it measures, samples cut where a name defined in another
 * file is used, and its projects fetched only as pinned.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { zipSync } from "fflate";
import {
  type CodeFile,
  codeLines,
  definedNames,
  emptyOrTrivial,
  maskedText,
  pickRepoSamples,
  type RepoSample,
  scoreRuns,
} from "../../scripts/bench/repo.ts";
import type { Completion } from "../../engine/pipeline.ts";
import {
  type BenchProject,
  fetchProject,
  PROJECTS,
  projectsNamed,
  unpackZip,
} from "../../scripts/bench/projects.ts";

const GO_WIDGET = `package widget

// NewThing is not defined here: comments do not define.
type Widget struct {
	name string
}

const (
	DefaultWidth = 80
	defaultHeight
)

var registry = map[string]*Widget{}

func NewWidget(name string) *Widget {
	var local = 1
	return &Widget{name: name}
}

func (w *Widget) Render(out io.Writer) error { return nil }

func (w *Widget) string() string { return w.name }
`;

const GO_USE = `package widget

import (
	"fmt"
)

func show() {
	widget := NewWidget("main")
	widget.Render(os.Stdout)
	fmt.Println(DefaultWidth, registry)
	names := make([]string, 0)
	helper(names)
	label := widget.string()
}
`;

/** The names a file defines, members marked with a leading dot. */
function names(path: string, text: string): string[] {
  return definedNames(path, text).map(({ name, member }) => member ? `.${name}` : name);
}

Deno.test("Go definitions: functions, methods, types, grouped and package-level names", () => {
  const defined = names("widget.go", GO_WIDGET);
  assert.deepEqual(defined.sort(), [
    ".Render",
    ".string",
    "DefaultWidth",
    "NewWidget",
    "Widget",
    "defaultHeight",
    "registry",
  ], "no variable inside a function, nothing a comment mentions");
});

Deno.test("Rust definitions: items in modules and impls, const fn, static mut, macros", () => {
  const defined = names(
    "src/lib.rs",
    `pub struct Parser;
pub(crate) enum ArgKind { Flag }
trait Render {}
type Callback = fn();
static mut COUNTER: u32 = 0;
const LIMIT: usize = 4;
mod helpers;
macro_rules! bail { () => {} }
impl Parser {
    pub const fn new_parser() -> Self { Parser }
    pub fn parse_args(&self) {}
}
`,
  );
  assert.deepEqual(defined.sort(), [
    ".new_parser",
    ".parse_args",
    "ArgKind",
    "COUNTER",
    "Callback",
    "LIMIT",
    "Parser",
    "Render",
    "bail",
    "helpers",
  ]);
});

Deno.test("Python definitions: functions, classes, methods and module-level names", () => {
  const defined = names(
    "pkg/console.py",
    `# class Hidden: a comment
DEFAULT_WIDTH: int = 80
USAGE = """
console = Console()
"""
class Console:
    async def render_lines(self):
        width = 3
`,
  );
  assert.deepEqual(defined.sort(), [".render_lines", "Console", "DEFAULT_WIDTH", "USAGE"]);
});

Deno.test("Go samples are cut just before a name defined in another file of its package", () => {
  const files: CodeFile[] = [
    { path: "widget.go", text: GO_WIDGET },
    { path: "show.go", text: GO_USE },
    // Another package: its unexported name is out of reach, its exported one is not.
    { path: "doc/doc.go", text: "package doc\n\nfunc helper() {}\nfunc Println() {}\n" },
  ];
  const { samples } = pickRepoSamples(files, 10);
  const cuts = samples.map((sample) =>
    `${sample.path}:${sample.line}:${sample.text.split("\n")[sample.line].slice(0, sample.cut)}|${
      sample.expected.split("(")[0]
    }`
  ).sort();
  assert.deepEqual(cuts, [
    // `[]string` on line 10 is the language's type; after a dot, on line 12, the method.
    "show.go:12:\tlabel := widget.|string",
    "show.go:7:\twidget := |NewWidget",
    "show.go:8:\twidget.|Render",
    "show.go:9:\tfmt.|Println",
  ]);
  const render = samples.find((sample) => sample.expected.startsWith("Render"))!;
  assert.equal(render.expected, "Render(os.Stdout)");
  assert.deepEqual([...render.definedIn], ["widget.go"]);
  const println = samples.find((sample) => sample.expected.startsWith("Println"))!;
  assert.deepEqual([...println.definedIn], ["doc/doc.go"]);
  assert.equal(
    maskedText(render).split("\n")[render.line],
    "\twidget.",
    "the rest of the line is masked",
  );
});

Deno.test("Samples skip import lists, bindings, docstrings and files outside the sources", () => {
  const files: CodeFile[] = [
    { path: "src/parser.rs", text: "pub struct Parser;\npub fn parse_all() {}\n" },
    {
      path: "src/main.rs",
      text: `use crate::{
    parser::Parser,
    parse_all,
};

fn main() {
    let parser = Parser::default();
    let parse_all = 1;
}
`,
    },
    {
      path: "src/tool.py",
      text: `def describe():
    """Uses Parser::default in prose."""
    return 1
`,
    },
    { path: "examples/demo.rs", text: "fn demo() { let p = Parser::default(); }\n" },
    { path: "src/status.py", text: "class Status:\n    def console(self):\n        return 1\n" },
    {
      path: "src/live.py",
      // A method's name alone is a local or a parameter; after a dot it may be the method.
      text: 'def show(console):\n    console.print("x")\n    return self.console.print("y")\n',
    },
  ];
  const lines = codeLines("src/main.rs", files[1].text);
  assert.deepEqual(lines.slice(0, 5), [false, false, false, false, true]);
  const { samples, candidates } = pickRepoSamples(files, 10, "src");
  assert.equal(candidates, 2);
  assert.deepEqual(
    samples.map((sample) => `${sample.path}:${sample.line}:${sample.expected}`).sort(),
    [
      'src/live.py:2:console.print("y")',
      "src/main.rs:6:Parser::default();",
    ],
  );
});

Deno.test("Empty or trivial: whitespace and punctuation alone, as the engine drops them", () => {
  const sample: RepoSample = {
    path: "a.ts",
    text: "const x = makeThing(1);\n",
    line: 0,
    cut: 10,
    expected: "makeThing(1);",
    definedIn: new Set(["b.ts"]),
  };
  for (const text of ["", "  ", "(", ");"]) assert.ok(emptyOrTrivial(text, sample), text);
  assert.ok(!emptyOrTrivial("makeThing(", sample));
});

/** A completion as the pipeline returns it, with the context it used and its lowest log-probability. */
function completion(text: string, contextPaths: string[] = [], min = -0.1): Completion {
  return {
    logprobs: { mean: min / 2, min },
    text,
    timings: {
      astMs: 1,
      retrieveMs: 2,
      promptMs: 1,
      generateMs: 10,
      totalMs: 14,
      promptTokens: 300,
      reusedTokens: 0,
      generatedTokens: 5,
      cached: false,
    },
    context: contextPaths.map((path) => ({
      path,
      startLine: 1,
      endLine: 2,
      score: 1,
      kind: "definition" as const,
    })),
  };
}

Deno.test("Scores side by side: exact match and its ratio, trivial rate, context hits, losses", () => {
  const sample = (expected: string): RepoSample => ({
    path: "a.ts",
    text: `const x = ${expected}\n`,
    line: 0,
    cut: 10,
    expected,
    definedIn: new Set(["b.ts"]),
  });
  const samples = ["makeThing(1);", "makeOther(2);", "makeMore(3);"].map(sample);
  const scores = scoreRuns(samples, {
    with: [completion("makeThing(1);", ["b.ts"]), completion("("), completion("makeMore(3);")],
    always: [
      completion("makeThing(1);", ["b.ts"]),
      completion("(", ["b.ts"]),
      completion("x", [], -2),
    ],
    definitions: [completion("makeThing(1);"), completion("makeOther(2);"), completion("x")],
    without: [
      completion("makeThing(1);"),
      completion("makeOther(2);", [], -2),
      completion("makeMore(3);", [], -0.7),
    ],
  });
  assert.deepEqual(scores.withRetrieval.exactMatch, { count: 2, rate: 0.667 });
  assert.deepEqual(scores.withoutRetrieval.exactMatch, { count: 3, rate: 1 });
  assert.equal(scores.exactMatchRatio, 0.667);
  assert.deepEqual(scores.alwaysRetrieval.exactMatch, { count: 1, rate: 0.333 });
  assert.equal(scores.alwaysRatio, 0.333);
  assert.deepEqual(scores.withRetrieval.contextUsed, { count: 1, rate: 0.333 });
  // Cold, the sample that used context paid for both prompts.
  assert.deepEqual([scores.withRetrieval.coldMs.median, scores.withRetrieval.coldMs.max], [14, 28]);
  // At -0.5 only the first sample stands alone; at -1 the third too; at -3 all three.
  assert.deepEqual(
    scores.thresholds.filter(({ threshold }) => [-0.5, -1, -3].includes(threshold)).map((
      { exactMatch, contextUsed },
    ) => [exactMatch.count, contextUsed.count]),
    [[1, 2], [2, 1], [3, 0]],
  );
  // Where the file alone was unsure, the surer answer: at -0.5 the third sample's own
  // (mean -0.35 against the context's -1), the second's with context (-1 against -0.05).
  assert.deepEqual(
    scores.thresholds.filter(({ threshold }) => threshold === -0.5).map((entry) =>
      entry.surerExactMatch.count
    ),
    [2],
  );
  assert.deepEqual(scores.perSample[2], {
    with: { exact: true, min: -0.1, mean: -0.05 },
    always: { exact: false, min: -2, mean: -1, hit: false },
    definitions: { exact: false, min: -0.1, mean: -0.05 },
    without: { exact: true, min: -0.7, mean: -0.35 },
  });
  assert.deepEqual(scores.definitionsOnly.exactMatch, { count: 2, rate: 0.667 });
  assert.equal(scores.definitionsOnlyRatio, 0.667);
  assert.deepEqual(scores.withRetrieval.emptyOrTrivial, { count: 1, rate: 0.333 });
  assert.deepEqual(scores.withoutRetrieval.emptyOrTrivial, { count: 0, rate: 0 });
  assert.deepEqual(scores.withRetrieval.contextHits, { count: 1, rate: 0.333 });
  assert.deepEqual(scores.failures.lostToWithout.first, [{
    path: "a.ts",
    line: 1,
    typed: "const x = ",
    expected: "makeOther(2);",
    with: "(",
    always: "(",
    definitions: "makeOther(2);",
    without: "makeOther(2);",
    contextHit: false,
  }]);
  assert.equal(scores.failures.emptyOrTrivialWith.count, 1);
  const none = scoreRuns(samples.slice(0, 1), {
    with: [completion("makeThing(1);")],
    always: [completion("makeThing(1);")],
    definitions: [completion("")],
    without: [completion("")],
  });
  assert.equal(none.exactMatchRatio, null, "no ratio over nothing");
});

Deno.test("The pinned projects: four, in four languages, each with a sha256", () => {
  assert.equal(projectsNamed(["all"]).length, 4);
  assert.equal(new Set(PROJECTS.map((project) => project.language)).size, 4);
  for (const project of PROJECTS) assert.match(project.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(projectsNamed(["rich", "all"])[0].name, "rich");
  assert.throws(() => projectsNamed(["nope"]), /Unknown project: nope \(projects: .*all\)/);
});

Deno.test("A project is unpacked only when its archive has the pinned sha256", async () => {
  const archive = zipSync({ "demo@v1/go.mod": new TextEncoder().encode("module demo\n") });
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    requests++;
    return new Response(archive.slice());
  });
  const cacheDir = await Deno.makeTempDir();
  try {
    const project: BenchProject = {
      name: "demo",
      language: "go",
      version: "1",
      url: `http://127.0.0.1:${server.addr.port}/demo.zip`,
      sha256: "0".repeat(64),
      root: "demo@v1",
      sources: "",
    };
    await assert.rejects(fetchProject(project, cacheDir), /has sha256 [0-9a-f]{64}, pinned 0{64}/);
    await assert.rejects(
      Deno.stat(join(cacheDir, "bench-projects", "demo@1")),
      Deno.errors.NotFound,
    );

    project.sha256 = createHash("sha256").update(archive).digest("hex");
    const root = await fetchProject(project, cacheDir);
    assert.equal(root, join(cacheDir, "bench-projects", "demo@1", "demo@v1"));
    assert.equal(await Deno.readTextFile(join(root, "go.mod")), "module demo\n");
    const { mode } = await Deno.stat(join(cacheDir, "bench-projects", "demo@1"));
    assert.equal(mode! & 0o777, 0o700);
    assert.equal(await fetchProject(project, cacheDir), root);
    assert.equal(requests, 2, "the unpacked project is used again without a download");
  } finally {
    await server.shutdown();
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("A zip entry climbing out of the folder is refused", async () => {
  const into = await Deno.makeTempDir();
  try {
    const archive = zipSync({ "../escaped.txt": new Uint8Array([1]) });
    await assert.rejects(unpackZip(archive, into), /outside the archive's folder/);
  } finally {
    await Deno.remove(into, { recursive: true });
  }
});
