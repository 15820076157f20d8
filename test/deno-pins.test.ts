// deno.json's import map repeats package.json's pins by hand (Deno does not read package.json's versions into
// its npm: specifiers): every pin must match, and every package the code imports must be mapped.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./support/cli-run.ts";
import { test } from "./support/harness.ts";
import { sourceFiles } from "./support/layering.ts";

interface PackageJson {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as PackageJson;
const deno = JSON.parse(readFileSync(join(repoRoot, "deno.json"), "utf8")) as { imports?: Record<string, string> };
const pins: Record<string, string> = { ...pkg.devDependencies, ...pkg.dependencies };
const imports = deno.imports ?? {};

// Bare specifiers of static imports, re-exports and literal import(): "pkg", "@scope/pkg", "pkg/sub/path".
const BARE = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']((?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*)(?:\/[^"']*)?["']/g;

test("deno.json: every npm: import pins the version package.json pins", () => {
  const wrong: string[] = [];
  for (const [key, target] of Object.entries(imports)) {
    const m = /^npm:((?:@[^/@]+\/)?[^/@]+)@([^/]+)(\/.*)?$/.exec(target);
    if (!m) continue;
    const [, name, version] = m;
    if (name !== key) wrong.push(`${key}: maps to another package (${name})`);
    else if (pins[name] === undefined) wrong.push(`${key}: not in package.json`);
    else if (pins[name] !== version) wrong.push(`${key}: deno.json ${version}, package.json ${pins[name]}`);
  }
  assert.ok(Object.keys(imports).length > 0, "deno.json has no imports");
  assert.deepEqual(wrong, []);
});

test("deno.json: every package the sources, tests and benches import is in its import map", () => {
  const files = ["src", "converters", "kernels", "test", "bench", "scripts"].flatMap((d) => sourceFiles(join(repoRoot, d)));
  const used = new Set<string>();
  for (const file of files) {
    for (const m of readFileSync(file, "utf8").matchAll(BARE)) {
      if (m[1] !== pkg.name) used.add(m[1]); // a self-reference ("yarnify") resolves through the package itself
    }
  }
  assert.ok(used.has("@huggingface/gguf"), "the scan found no package imports");
  assert.deepEqual([...used].filter((name) => imports[name] === undefined).sort(), []);
});
