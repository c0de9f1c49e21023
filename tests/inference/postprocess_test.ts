import assert from "node:assert/strict";
import {
  completionMode,
  type CursorContext,
  isFinished,
  lineMayGrow,
  postprocess,
} from "../../engine/inference/mod.ts";
import type { PromptFormat } from "../../engine/inference/mod.ts";

/** Builds the cursor context from a source with `║` where the cursor is. */
function at(
  source: string,
  options: { format?: PromptFormat; maxLines?: number; languageId?: string; inLiteral?: boolean } =
    {},
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
    lineMayGrow: lineMayGrow(lineSuffix, maxLines),
    maxLines,
    format: options.format ?? "fim",
    languageId: options.languageId,
    inLiteral: options.inLiteral,
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
  assert.equal(postprocess("}).catch(log);", context), "}).catch(log);");
});

Deno.test("postprocess() never shows punctuation alone", () => {
  assert.equal(postprocess("[", at("items = ║\n")), "");
  assert.equal(postprocess(");", at("print(x║\n")), "");
  assert.equal(postprocess("  ", at("x = ║\n")), "");
  assert.equal(postprocess("[]", at("items = ║\n")), "");
  assert.equal(postprocess("0", at("count = ║\n")), "0", "one character of substance is shown");
});

Deno.test("postprocess() goes on past a line that opens a construct, to where it closes", () => {
  const list = postprocess('[\n    "apple",\n    "pear",\n]\n\nprint(items)', at("items = ║\n"));
  assert.equal(list, '[\n    "apple",\n    "pear",\n]');
  const block = postprocess(":\n    start()\n    wait()\nelse:\n", at("if ready║\n"));
  assert.equal(block, ":\n    start()\n    wait()");
  assert.equal(
    postprocess("[\n    1,\n]", at("items = ║\n", { maxLines: 1 })),
    "",
    "one line allowed: the bracket alone is not shown",
  );
  assert.equal(
    postprocess("[\n    1,\n]", at("f(items = ║, 2)\n")),
    "",
    "code after the cursor keeps it on its line",
  );
  assert.equal(postprocess("total(x)\nmore()", at("y = ║\n")), "total(x)", "a closed line ends");
});

Deno.test("isFinished() waits for a construct the line opened to close", () => {
  const context = at("items = ║\n");
  assert.equal(isFinished("[\n    1,", context), false);
  assert.equal(isFinished("[\n    1,\n]\n\n", context), true);
  assert.equal(isFinished("total(x)\n", at("y = ║\n")), true);
});

Deno.test("postprocess() never repeats the line above", () => {
  assert.equal(postprocess("total += price", at("    total += price\n    ║\n")), "");
  assert.equal(postprocess("+= price", at("    total += price\n    total ║\n")), "");
  assert.equal(postprocess("total += tax", at("    total += price\n    ║\n")), "total += tax");
});

Deno.test("postprocess() cuts what restates the text already typed", () => {
  assert.equal(
    postprocess("cheapest_item = min(items, key=price)", at("cheapest = ║\n")),
    "min(items, key=price)",
  );
  assert.equal(postprocess("total = sum(prices)", at("    total = ║\n")), "sum(prices)");
  assert.equal(postprocess("sum(prices)", at("total = ║\n")), "sum(prices)");
  assert.equal(
    postprocess("y == 2", at("if x = ║\n")),
    "y == 2",
    "a comparison is not an assignment target",
  );
  assert.equal(postprocess("other = 1", at("total = ║\n")), "other = 1", "a different name stays");
  assert.equal(
    postprocess("returned_value", at("    return ║\n")),
    "returned_value",
    "a longer word that starts alike is new code",
  );
  assert.equal(postprocess("return total", at("    return ║\n")), "total");
});

Deno.test("postprocess() indents a Python block's first line under its opener", () => {
  const below =
    "def pick(items):\n    for item in items:\n        if item.ok:\n║\n        done()\n";
  const cases: [string, string, string, string][] = [
    // [suggestion, source, shown, why]
    ["        return item", below, "            return item", "the opener's depth is an error"],
    ["return item", below, "            return item", "nothing typed on the line"],
    ["return item", "def f(x):\n    if x:\n    ║\n", "    return item", "what is typed counts"],
    ["return item", "def f(x):\n    if x:\n        ║\n", "return item", "typed deep enough"],
    ["            return item", below, "            return item", "deep enough already"],
    ["  a = 1\n  b = 2", "def f():\n  if x:\n║\n", "    a = 1\n    b = 2", "its 2-space step"],
    ["\treturn 1", "def f():\n\tif x:\n║\n", "\t\treturn 1", "a file indented with tabs"],
    ["        pass", "    if (a and\n            b):\n║\n", "        pass", "a multi-line opener"],
    ["\n    pass", "    if x:\n    ║\n", "\n        pass", "the block starts on the next line"],
    ["    return x", "def f(x):\n    y = x\n║\n", "    return x", "not an opener"],
    ["    return x", "def f(x):\n    # note:\n║\n", "    return x", "a comment"],
    ["    return x", "def f(x):\n    y = 1  # 3:\n║\n", "    return x", "a comment's colon"],
    ["    y = 1", "def f(x):\n    if x:  # why\n║\n", "        y = 1", "an opener's comment"],
    ["    y = 1", "def f(x):\n    if x == '#':\n║\n", "        y = 1", "a # in a string"],
  ];
  for (const [suggestion, source, shown, why] of cases) {
    const context = at(source, { languageId: "python", maxLines: 12 });
    assert.equal(postprocess(suggestion, context), shown, why);
  }
  const ifX = "def f(x):\n    if x:\n║\n";
  assert.equal(postprocess("    y", at(ifX, { maxLines: 1 })), "    y", "another language");
  assert.equal(
    postprocess("    y", at(ifX, { languageId: "python", maxLines: 1, inLiteral: true })),
    "    y",
    "inside a string",
  );
});
