// The package as users get it: packed from this checkout's build, installed into an empty project from the
// tarball (production dependencies only, from the npm registry), then used there. One install serves every check;
// it runs under Node (whose tests run from the fresh build in dist/), and drives Bun and Deno from the same install.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
      assert.deepEqual(files.filter((f) => /^dist\/(test|bench|scripts)\//.test(f) || /^(src|converters|kernels|test|bench)\//.test(f)), [], "no tests, benches or sources");
      assert.match(readFileSync(join(repoRoot, "LICENSE"), "utf8"), /Apache License\s+Version 2\.0, January 2004/);

      const project = join(dir, "project");
      mkdirSync(project);
      writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
      const install = run("npm", ["install", "--no-audit", "--no-fund", "--omit=dev", join(dir, packed[0].filename)], project);
      ok(install, "npm install <tarball>");
      assert.doesNotMatch(install.stderr, /yarnify@[^ ]+ \((prepare|install|postinstall)/, "no install script of ours");
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
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, { timeoutMs: 180_000 });
}
