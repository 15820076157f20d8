// The package as users get it: packed from this checkout's build, installed into an empty project from the
// tarball (production dependencies only, from the npm registry), then used there: the CLI, the README's library
// block and every entry point, imported and type-checked. One install serves every check; it runs under Node
// (whose tests run from the fresh build in dist/) and drives Bun and Deno on the same install. And deno.json's
// JSR package passes `deno publish --dry-run`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runtimeName } from "../src/core/runtime.ts";
import { repoRoot } from "./support/cli-run.ts";
import { test } from "./support/harness.ts";

/** The README's promise: `npm install yarnify` without dev dependencies stays under this. */
const INSTALL_LIMIT_BYTES = 40 * 1024 * 1024;

/** Disk usage of a tree as `du` counts it (allocated blocks), links not followed. */
function diskUsage(path: string): number {
  const st = lstatSync(path);
  const own = st.blocks !== undefined ? st.blocks * 512 : st.size;
  if (!st.isDirectory()) return own;
  return readdirSync(path).reduce((sum, name) => sum + diskUsage(join(path, name)), own);
}

/** The README's library block, exactly as the README shows it. */
function readmeLibraryBlock(): string {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const block = /## Library\n\n```ts\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, "README has a ## Library section opening with a ts block");
  return block[1];
}

/**
 * A consumer of every entry point, valid as JavaScript and TypeScript alike (Node 20 runs it as .mjs). The
 * @ts-expect-error lines fail the type check if the types were `any` or the API took a bare path.
 */
const CONSUMER = `import { inspect, YarnifyError } from "yarnify";
import { patchGguf, readGgufHeader } from "yarnify/gguf";
import { evaluate, perplexityTable } from "yarnify/eval";
import { parseHubSource } from "yarnify/hub";
import { yarnInvFreq } from "yarnify/rope";

const r = await inspect({ model: "./model" });
// @ts-expect-error inspect takes a params object, not a path
const wrong = () => inspect("./model");
// @ts-expect-error the result is typed: no such field
const missing = r.rope.noSuchField;
const functions = [patchGguf, readGgufHeader, evaluate, perplexityTable, YarnifyError, wrong].every((f) => typeof f === "function");
console.log(r.format, r.rope.originalContext, yarnInvFreq({ dim: 8, base: 10000, factor: 4, originalContext: 256 }).invFreq.length, parseHubSource("org/name@v1")?.revision, functions, missing);
`;

function run(cmd: string, args: string[], cwd: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function ok(r: { code: number; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.code, 0, `${what} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

if (runtimeName() === "node") {
  test("package: the packed tarball installs light, holds only what users run, and patches the bundled example", () => {
    const dir = mkdtempSync(join(tmpdir(), "yarnify-package-"));
    try {
      // The build is this run's own (dist/ is what the Node tests run from): pack it without building again.
      const packed = JSON.parse(ok(run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", dir], repoRoot), "npm pack")) as Array<{
        filename: string;
        files: Array<{ path: string }>;
      }>;
      const files = packed[0].files.map((f) => f.path);
      assert.ok(files.includes("LICENSE") && files.includes("README.md") && files.includes("bin/yarnify.cjs"), "LICENSE, README, launcher");
      assert.ok(files.includes("dist/cli/cli.js") && files.includes("dist/src/index.js") && files.includes("dist/src/index.d.ts"));
      assert.ok(files.includes("web/dist/index.html") && files.includes("web/dist/main.js"), "the page `yarnify web` serves");
      assert.deepEqual(files.filter((f) => /^dist\/(test|bench|scripts)\//.test(f) || /^(src|converters|kernels|test|bench)\//.test(f)), [], "no tests, benches or sources");
      assert.match(readFileSync(join(repoRoot, "LICENSE"), "utf8"), /Apache License\s+Version 2\.0, January 2004/);

      const project = join(dir, "project");
      mkdirSync(project);
      writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
      const install = run("npm", ["install", "--no-audit", "--no-fund", "--omit=dev", join(dir, packed[0].filename)], project);
      ok(install, "npm install <tarball>");
      // No install script of ours runs for a consumer. The checkout's `prepare` (its build on `npm install` there)
      // travels in package.json; npm runs it only for a linked folder or a git clone, never for a tarball or a
      // registry install, though npm ≥ 11.19 lists it for review when the source is a tarball file.
      assert.doesNotMatch(install.stderr, /yarnify@[^ ]+ \((preinstall|install|postinstall):/, "no install script of ours");
      for (const line of install.stderr.split("\n").filter((l) => /^npm warn install-scripts\s+yarnify@/.test(l))) {
        assert.match(line, /yarnify@[^ ]+ \(prepare: npm run -s build\)$/, "only the checkout's build is listed, and it did not run");
      }
      const modules = join(project, "node_modules");
      for (const heavy of ["webgpu", "onnx-proto", "protobufjs"]) assert.ok(!existsSync(join(modules, heavy)), `${heavy} is not installed`);
      const size = diskUsage(modules);
      assert.ok(size <= INSTALL_LIMIT_BYTES, `node_modules takes ${(size / 2 ** 20).toFixed(1)} MiB > 40 MiB`);

      const example = join(modules, "yarnify", "examples", "qwen2.5-7b-instruct");
      const out = join(dir, "qwen-128k");
      const patched = ok(run("npx", ["--no-install", "yarnify", "patch", example, "--factor", "4", "--out", out], project), "npx yarnify patch");
      assert.match(patched, /factor\s+4 \(32768 → 131072 tokens\)/);
      const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as { rope_scaling: { factor: number }; max_position_embeddings: number };
      assert.equal(config.rope_scaling.factor, 4);
      assert.equal(config.max_position_embeddings, 131072);

      // The library from every runtime: the README's block as it stands and a consumer of every entry point, on a
      // copy of the example as ./model; Deno through node_modules and through npm: specifiers.
      cpSync(example, join(project, "model"), { recursive: true });
      const snippet = readmeLibraryBlock();
      const npmSpecifiers = (text: string) => text.replace(/from "yarnify/g, 'from "npm:yarnify');
      const sources: Record<string, string> = {
        "snippet.ts": snippet,
        "snippet.mjs": snippet,
        "consumer.ts": CONSUMER,
        "consumer.mjs": CONSUMER,
        "consumer-npm.ts": npmSpecifiers(CONSUMER),
        "snippet-npm.ts": npmSpecifiers(snippet),
      };
      for (const [name, text] of Object.entries(sources)) writeFileSync(join(project, name), text);
      const bin = (name: string) => join(repoRoot, "node_modules", ".bin", name);
      const runs: Array<[string, string[]]> = [
        [process.execPath, ["snippet.mjs"]],
        [process.execPath, ["consumer.mjs"]],
        [bin("bun"), ["snippet.ts"]],
        [bin("bun"), ["consumer.ts"]],
        [bin("deno"), ["run", "-A", "snippet.ts"]],
        [bin("deno"), ["run", "-A", "consumer.ts"]],
        [bin("deno"), ["run", "-A", "snippet-npm.ts"]],
        [bin("deno"), ["run", "-A", "consumer-npm.ts"]],
      ];
      for (const [exe, args] of runs) {
        rmSync(join(project, "model-yarn"), { recursive: true, force: true });
        const what = `${exe.split("/").pop()} ${args.join(" ")}`;
        const expected = args.at(-1)!.startsWith("snippet") ? "32768 131072 4" : "hf 32768 4 v1 true undefined";
        assert.equal(ok(run(exe, args, project), what).trim(), expected, what);
      }
      // Types: tsc, strict, with the library's own .d.ts checked too (skipLibCheck off); Node's types are the
      // checkout's @types/node, as a Node project has them. Then Deno's checker on the same files.
      writeFileSync(join(project, "tsconfig.json"), JSON.stringify({
        compilerOptions: { module: "nodenext", target: "es2022", strict: true, noEmit: true, skipLibCheck: false, types: ["node"], typeRoots: [join(repoRoot, "node_modules", "@types")] },
        files: ["snippet.ts", "consumer.ts"],
      }));
      ok(run(bin("tsc"), ["-p", "."], project), "tsc");
      ok(run(bin("deno"), ["check", "snippet.ts", "consumer.ts", "consumer-npm.ts", "snippet-npm.ts"], project), "deno check");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, { timeoutMs: 180_000 });

  test("package: deno.json's JSR package passes deno publish --dry-run (no errors, only the known warning)", () => {
    const r = run(join(repoRoot, "node_modules", ".bin", "deno"), ["publish", "--dry-run", "--allow-dirty"], repoRoot);
    const text = r.stdout + r.stderr;
    assert.equal(r.code, 0, text);
    assert.doesNotMatch(text, /^error/m);
    // The optional webgpu package is imported by a computed name on purpose (README: Library); nothing else warns.
    assert.deepEqual([...text.matchAll(/^warning\[([\w-]+)\][\s\S]*?--> (\S+?):\d+/gm)].map((m) => `${m[1]} ${m[2].slice(repoRoot.length + 1)}`), ["unanalyzable-dynamic-import kernels/gpu.ts"]);
    assert.match(text, /Simulating publish of @yarnify\/yarnify@0\.1\.0/);
  }, { timeoutMs: 120_000 });
}
