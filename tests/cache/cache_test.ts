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
  assert.equal(cache.lookup(key()), undefined);
  cache.remember(key(), "3.14159 * radius ** 2");
  assert.equal(cache.lookup(key()), "3.14159 * radius ** 2");
  assert.equal(cache.lookup({ ...key(), maxLines: 5 }), undefined, "another line limit");
  assert.equal(cache.lookup({ ...key(), uri: "file:///b.py" }), undefined, "another document");
});

Deno.test("CompletionCache types through: typing the start of a suggestion gives the rest", () => {
  const cache = new CompletionCache();
  cache.remember(key(), "3.14159 * radius ** 2");
  assert.equal(cache.lookup(key("3.14")), "159 * radius ** 2");
  assert.equal(cache.lookup(key("3.14159 * radius ** ")), "2");
  assert.equal(cache.lookup(key("3.14159 * radius ** 2")), undefined, "nothing left");
  assert.equal(cache.lookup(key("3.2")), undefined, "typed something else");
  assert.equal(cache.lookup(key("3.14", "\nchanged\n")), undefined, "the text after changed");
});

Deno.test("CompletionCache notices an edit before the cursor and remembers empty answers", () => {
  const cache = new CompletionCache();
  cache.remember(key(), "radius");
  const edited = { ...key(), before: before.replace("area", "size") };
  assert.equal(cache.lookup(edited), undefined);
  cache.remember(edited, "");
  assert.equal(cache.lookup(edited), "", "nothing worth showing is an answer too");
});

Deno.test("CompletionCache evicts the least recently used beyond its capacity", () => {
  const cache = new CompletionCache(2);
  const at = (uri: string) => ({ ...key(), uri });
  cache.remember(at("a"), "1");
  cache.remember(at("b"), "2");
  cache.lookup(at("a"));
  cache.remember(at("c"), "3");
  assert.equal(cache.size, 2);
  assert.equal(cache.lookup(at("b")), undefined, "b was least recently used");
  assert.equal(cache.lookup(at("a")), "1");
  cache.forget("a");
  assert.equal(cache.lookup(at("a")), undefined);
});

Deno.test("CompletionCache keeps what an adapter made apart from what the base model made", () => {
  const cache = new CompletionCache();
  cache.remember(key(), "3.14159 * radius ** 2");
  const adapted = { ...key(), adapter: "/state/adapters/v1/adapter.gguf" };
  assert.equal(cache.lookup(adapted), undefined, "made without the adapter");
  cache.remember(adapted, "math.pi * radius ** 2");
  assert.equal(cache.lookup(adapted), "math.pi * radius ** 2");
  assert.equal(cache.lookup({ ...key("math"), adapter: adapted.adapter }), ".pi * radius ** 2");
  assert.equal(cache.lookup(key()), "3.14159 * radius ** 2", "both are kept");
});
