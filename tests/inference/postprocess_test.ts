import assert from "node:assert/strict";
import {
  completionMode,
  type CursorContext,
  isFinished,
  postprocess,
} from "../../engine/inference/mod.ts";
import type { PromptFormat } from "../../engine/inference/mod.ts";

/** Builds the cursor context from a source with `║` where the cursor is. */
function at(
  source: string,
  options: { format?: PromptFormat; maxLines?: number } = {},
): CursorContext {
  const cursor = source.indexOf("║");
  const prefix = source.slice(0, cursor);
  const suffix = source.slice(cursor + 1);
  const linePrefix = prefix.slice(prefix.lastIndexOf("\n") + 1);
  const lineEnd = suffix.indexOf("\n");
  const lineSuffix = lineEnd === -1 ? suffix : suffix.slice(0, lineEnd);
  const maxLines = options.maxLines ?? 12;
  return {
    prefix,
    linePrefix,
    lineSuffix,
    suffix,
    mode: completionMode(linePrefix, lineSuffix, maxLines),
    maxLines,
    format: options.format ?? "fim",
  };
}

Deno.test("completionMode() is single-line in the middle of a line", () => {
  assert.equal(at("x = foo(║a)\n").mode, "line");
  assert.equal(at("x = 1 + ║\n").mode, "line");
});

Deno.test("completionMode() is multi-line on an empty line or after a block opener", () => {
  assert.equal(at("def f():\n    ║\n").mode, "block");
  assert.equal(at("function f() {║\n}").mode, "block");
  assert.equal(at("const xs = [║]").mode, "block");
});

Deno.test("completionMode() is single-line inside a string or a comment", () => {
  assert.equal(completionMode("", "", 12, true), "line");
  assert.equal(completionMode("", "", 12, false), "block");
});

Deno.test("completionMode() honours maxLines 1", () => {
  assert.equal(at("def f():\n    ║\n", { maxLines: 1 }).mode, "line");
});

Deno.test("postprocess() ends a line completion at the end of the line", () => {
  assert.equal(postprocess("a, b)\nprint(x)\n", at("x = foo(║\n")), "a, b)");
});

Deno.test("postprocess() drops a repeat of the rest of the line", () => {
  assert.equal(postprocess("a, b)", at("x = foo(║)\n")), "a, b");
  assert.equal(postprocess("a, b):", at("if foo(║):\n")), "a, b");
});

Deno.test("postprocess() cuts at special tokens", () => {
  assert.equal(postprocess("n - 1<|endoftext|>junk", at("return ║\n")), "n - 1");
  assert.equal(postprocess("x<|file_sep|>other.py", at("y = ║\n")), "x");
  assert.equal(postprocess("x</s>", at("y = ║\n")), "x");
});

Deno.test("postprocess() stops a block at a blank line", () => {
  const raw = "x = 1\n    return x\n\nprint(f())\n";
  assert.equal(postprocess(raw, at("def f():\n    ║\n")), "x = 1\n    return x");
});

Deno.test("postprocess() stops a block at a dedent out of the cursor's block", () => {
  const raw = "if a:\n        return 1\n    return 2\nprint(f(1))";
  assert.equal(
    postprocess(raw, at("def f(a):\n    ║")),
    "if a:\n        return 1\n    return 2",
  );
});

Deno.test("postprocess() keeps the closing bracket of a block it opened", () => {
  const raw = "\n  return 1;\n}\nconsole.log(f());";
  assert.equal(postprocess(raw, at("function f() {║\n")), "\n  return 1;\n}");
});

Deno.test("postprocess() never repeats the next line of the suffix", () => {
  const raw = "\n  return 1;\n}\n";
  assert.equal(postprocess(raw, at("function f() {║\n}\n")), "\n  return 1;");
});

Deno.test("postprocess() caps a block at maxLines", () => {
  const raw = "a = 1\n    b = 2\n    c = 3\n    d = 4";
  assert.equal(postprocess(raw, at("def f():\n    ║\n", { maxLines: 2 })), "a = 1\n    b = 2");
});

Deno.test("postprocess() shows nothing for whitespace", () => {
  assert.equal(postprocess("   \n  ", at("def f():\n    ║\n")), "");
  assert.equal(postprocess("\nfoo()", at("x = ║\n")), "");
});

Deno.test("postprocess() reduces a chat answer to the new code", () => {
  const context = at("def add(a, b):\n    return ║\n", { format: "chat" });
  const raw = "```python\ndef add(a, b):\n    return a + b\n```\n\nThis adds the numbers.";
  assert.equal(postprocess(raw, context), "a + b");
});

Deno.test("postprocess() drops a chat answer that rewrites the line", () => {
  const context = at('def greet(name):\n    print("Hello, " + ║\n', { format: "chat" });
  assert.equal(postprocess('```python\n    print(f"Hello, {name}!")\n```', context), "");
});

Deno.test("postprocess() strips the cursor marker, even cut short, from chat answers", () => {
  const context = at("xs = [1, 2]\nys = ║\n", { format: "chat" });
  assert.equal(postprocess("ys = sorted(xs)<CURSOR>", context), "sorted(xs)");
  assert.equal(postprocess("ys = sorted(xs) <CUR", context), "sorted(xs)");
});

Deno.test("isFinished() stops FIM generation once the completion has ended", () => {
  const line = at("x = ║\n");
  assert.equal(isFinished("foo(1)", line), false);
  assert.equal(isFinished("foo(1)\n", line), true);
  assert.equal(isFinished("foo<|endoftext|>", line), true);
  const block = at("def f():\n    ║\n");
  assert.equal(isFinished("x = 1\n    y = 2\n", block), false);
  assert.equal(isFinished("x = 1\n\n", block), true);
  assert.equal(isFinished("x = 1\nprint", block), true);
});

Deno.test("isFinished() lets chat answers finish their fence", () => {
  assert.equal(isFinished("```python\nx\n\n", at("y = ║\n", { format: "chat" })), false);
});

Deno.test("postprocess() never closes a bracket that is not open", () => {
  assert.equal(postprocess("3, 4)", at("items = [1, 2║\n")), "3, 4", "a ( where [ is open");
  assert.equal(
    postprocess("x)) + 1", at("print(len(║)\n")),
    "x)",
    "the ) after the cursor closes print(",
  );
  assert.equal(postprocess("x))", at("print(len(║\n")), "x))", "both open, nothing after");
  assert.equal(
    postprocess("x]", at('data = {"a": f("[", ║\n')),
    "x",
    "brackets inside strings do not count",
  );
});

Deno.test("postprocess() lets a block close what the lines before it opened", () => {
  const context = at("run(function () {\n  work();\n║\n", { maxLines: 1 });
  assert.equal(postprocess("});", context), "});");
});
