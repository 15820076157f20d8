// The public entry points: package.json's exports (npm) and deno.json's (JSR) name the same modules, and every
// function reachable from them carries TSDoc with an example. Under Node only: the TypeScript program it builds
// costs seconds, and the answer does not depend on the runtime.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type ts from "typescript";
import { runtimeName } from "../src/core/runtime.ts";
import { repoRoot } from "./support/cli-run.ts";
import { test } from "./support/harness.ts";

interface Entry {
  types: string;
  default: string;
}

const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { exports: Record<string, Entry | string> };
const deno = JSON.parse(readFileSync(join(repoRoot, "deno.json"), "utf8")) as { exports: Record<string, string> };

/** package.json's subpaths with the source each one is built from ("./dist/src/index.d.ts" → "./src/index.ts"). */
function npmEntries(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [subpath, entry] of Object.entries(pkg.exports)) {
    if (typeof entry === "string") continue;
    assert.equal(entry.default.replace(/\.js$/, ".d.ts"), entry.types, `${subpath}: types beside the code`);
    out[subpath] = entry.types.replace(/^\.\/dist\//, "./").replace(/\.d\.ts$/, ".ts");
  }
  return out;
}

test("exports: npm and JSR publish the same entry points, built from the same sources", () => {
  const npm = npmEntries();
  assert.deepEqual(npm, deno.exports);
  for (const subpath of ["./rope", "./gguf", "./eval", "./hub"]) assert.ok(npm[subpath], `${subpath} exported`);
});

if (runtimeName() === "node") {
  test("exports: every function the entry points export has TSDoc with an @example", async () => {
    const ts = (await import("typescript")).default;
    const entries = Object.values(deno.exports).map((f) => join(repoRoot, f));
    const program = ts.createProgram(entries, {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      allowImportingTsExtensions: true,
      noEmit: true,
      types: [],
      lib: ["lib.es2022.d.ts"],
    });
    const checker = program.getTypeChecker();
    const seen = new Set<string>();
    const missing: string[] = [];
    const visit = (module: ts.Symbol): void => {
      for (const exported of checker.getExportsOfModule(module)) {
        const s = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
        // `export * as hub from "./hub/index.ts"`: the namespace's own exports count too.
        if (s.flags & ts.SymbolFlags.ValueModule && s.valueDeclaration && ts.isSourceFile(s.valueDeclaration)) {
          visit(s);
          continue;
        }
        const decl = s.flags & ts.SymbolFlags.Function ? s.declarations?.[0] : undefined;
        if (!decl) continue;
        const where = `${decl.getSourceFile().fileName.slice(repoRoot.length + 1)} ${s.name}`;
        if (seen.has(where)) continue;
        seen.add(where);
        if (!ts.getJSDocTags(decl).some((t) => t.tagName.text === "example")) missing.push(where);
      }
    };
    for (const entry of entries) visit(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!);
    assert.ok(seen.size > 100, `only ${seen.size} exported functions found: is the scan following re-exports?`);
    assert.deepEqual(missing.sort(), []);
  }, { timeoutMs: 120_000 });
}
