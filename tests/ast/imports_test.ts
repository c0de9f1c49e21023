import assert from "node:assert/strict";
import { importedModules } from "../../engine/ast/mod.ts";

Deno.test("importedModules() resolves relative TypeScript imports to candidate files", () => {
  const [module] = importedModules(
    "typescript",
    ['import { createUserSession, type UserSession as Session } from "./session.js";'],
    "web/checkout.ts",
  );
  assert.deepEqual(module.names, ["createUserSession", "Session"]);
  assert.equal(module.paths[0], "web/session.js");
  assert.ok(module.paths.includes("web/session.ts"));
  assert.ok(module.paths.includes("web/session/index.ts"));
  const [namespace] = importedModules("typescript", ['import * as rpc from "../rpc";'], "a/b.ts");
  assert.deepEqual(namespace.names, ["rpc"]);
  assert.ok(namespace.paths.includes("rpc.ts"));
  const [required] = importedModules(
    "javascript",
    ['const { read, write } = require("./io");'],
    "lib/x.js",
  );
  assert.deepEqual(required.names, ["read", "write"]);
  assert.ok(required.paths.includes("lib/io.js"));
  const [pkg] = importedModules("typescript", ['import React from "react";'], "app.tsx");
  assert.deepEqual(pkg.paths, [], "a package is not a project file");
});

Deno.test("importedModules() reads Python's absolute, relative and from-imports", () => {
  const [fromModule] = importedModules(
    "python",
    ["from billing import invoice as inv, refunds"],
    "app.py",
  );
  assert.deepEqual(fromModule.names, ["inv", "refunds"]);
  assert.ok(fromModule.paths.includes("billing/__init__.py"));
  assert.ok(fromModule.paths.includes("billing/invoice.py"), "the name may be a module");
  assert.ok(fromModule.suffixes.includes("billing/invoice.py"), "src/ layouts match by ending");
  const [relative] = importedModules(
    "python",
    ["from ..utils import (\n    slugify,\n)"],
    "pkg/sub/mod.py",
  );
  assert.deepEqual(relative.names, ["slugify"]);
  assert.ok(relative.paths.includes("pkg/utils.py"));
  assert.deepEqual(relative.suffixes, []);
  const plain = importedModules("python", ["import os.path, email.parser as parser"], "x.py");
  assert.deepEqual(plain.map((module) => module.names), [["os"], ["parser"]]);
  assert.ok(plain[1].suffixes.includes("email/parser.py"));
});

Deno.test("importedModules() covers Rust, Go, Java, C, Ruby and PHP", () => {
  const [rust] = importedModules("rust", ["use crate::cart::{Cart, total};"], "src/main.rs");
  assert.deepEqual(rust.names, ["Cart", "total"]);
  assert.deepEqual(rust.paths.slice(0, 2), ["src/cart.rs", "src/cart/mod.rs"]);
  const [external] = importedModules("rust", ["use std::fs;"], "src/main.rs");
  assert.deepEqual(external.paths, []);
  const go = importedModules("go", ['import (\n\t"fmt"\n\tdb "example.com/shop/store"\n)'], "x.go");
  assert.deepEqual(go.map((module) => module.names[0]), ["fmt", "db"]);
  assert.deepEqual(go[1].suffixes, ["shop/store/"]);
  const [java] = importedModules("java", ["import com.shop.billing.Invoice;"], "A.java");
  assert.deepEqual(java.names, ["Invoice"]);
  assert.equal(java.suffixes[0], "com/shop/billing/Invoice.java");
  const [header] = importedModules("c", ['#include "util/strings.h"'], "src/main.c");
  assert.deepEqual(header.paths, ["src/util/strings.h"]);
  const [ruby] = importedModules("ruby", ["require_relative '../lib/cart'"], "bin/run.rb");
  assert.deepEqual(ruby.paths, ["lib/cart.rb"]);
  const [php] = importedModules("php", ["use App\\Models\\User as Member;"], "index.php");
  assert.deepEqual(php.names, ["Member"]);
  assert.deepEqual(php.suffixes, ["Models/User.php"]);
  assert.deepEqual(importedModules("cobol", ["COPY X."], "a.cbl"), []);
});
