import assert from "node:assert/strict";
import { CompletionCache } from "../../engine/cache/mod.ts";

const before = "def area(radius):\n    return ";
const after = "\n\nprint(area(2))\n";
const key = (typed = "", rest = after) => ({
  uri: "file:///a.py",
  before: before + typed,
  after: rest,
  maxLines: 1,
});

Deno.test("CompletionCache answers the same cursor again", () => {
  const cache = new CompletionCache();
  assert.equal(cache.lookup(key())?.text, undefined);
  cache.remember(key(), "3.14159 * radius ** 2");
  assert.equal(cache.lookup(key())?.text, "3.14159 * radius ** 2");
  assert.equal(cache.lookup({ ...key(), maxLines: 5 })?.text, undefined, "another line limit");
  assert.equal(
    cache.lookup({ ...key(), uri: "file:///b.py" })?.text,
    undefined,
    "another document",
  );
});

Deno.test("CompletionCache types through: typing the start of a suggestion gives the rest", () => {
  const cache = new CompletionCache();
  cache.remember(key(), "3.14159 * radius ** 2");
  assert.equal(cache.lookup(key("3.14"))?.text, "159 * radius ** 2");
  assert.equal(cache.lookup(key("3.14159 * radius ** "))?.text, "2");
  assert.equal(cache.lookup(key("3.14159 * radius ** 2"))?.text, undefined, "nothing left");
  assert.equal(cache.lookup(key("3.2"))?.text, undefined, "typed something else");
  assert.equal(cache.lookup(key("3.14", "\nchanged\n"))?.text, undefined, "the text after changed");
});

Deno.test("CompletionCache notices an edit before the cursor and remembers empty answers", () => {
  const cache = new CompletionCache();
  cache.remember(key(), "radius");
  const edited = { ...key(), before: before.replace("area", "size") };
  assert.equal(cache.lookup(edited)?.text, undefined);
  cache.remember(edited, "");
  assert.equal(cache.lookup(edited)?.text, "", "nothing worth showing is an answer too");
});

Deno.test("CompletionCache evicts the least recently used beyond its capacity", () => {
  const cache = new CompletionCache(2);
  const at = (uri: string) => ({ ...key(), uri });
  cache.remember(at("a"), "1");
  cache.remember(at("b"), "2");
  cache.lookup(at("a"));
  cache.remember(at("c"), "3");
  assert.equal(cache.size, 2);
  assert.equal(cache.lookup(at("b"))?.text, undefined, "b was least recently used");
  assert.equal(cache.lookup(at("a"))?.text, "1");
  cache.forget("a");
  assert.equal(cache.lookup(at("a"))?.text, undefined);
});

Deno.test("CompletionCache keeps what an adapter made apart from what the base model made", () => {
  const cache = new CompletionCache();
  cache.remember(key(), "3.14159 * radius ** 2");
  const adapted = { ...key(), adapter: "/state/adapters/v1/adapter.gguf" };
  assert.equal(cache.lookup(adapted)?.text, undefined, "made without the adapter");
  cache.remember(adapted, "math.pi * radius ** 2");
  assert.equal(cache.lookup(adapted)?.text, "math.pi * radius ** 2");
  assert.equal(
    cache.lookup({ ...key("math"), adapter: adapted.adapter })?.text,
    ".pi * radius ** 2",
  );
  assert.equal(cache.lookup(key())?.text, "3.14159 * radius ** 2", "both are kept");
});

Deno.test("CompletionCache says when a suggestion came from a shortened prompt, until a full one replaces it", () => {
  const cache = new CompletionCache();
  cache.remember(key(), "3.14159 * radius ** 2", true);
  assert.deepEqual(cache.lookup(key("3.14")), { text: "159 * radius ** 2", shortened: true });
  cache.remember(key(), "math.pi * radius ** 2");
  assert.deepEqual(cache.lookup(key("math")), { text: ".pi * radius ** 2", shortened: false });
});
