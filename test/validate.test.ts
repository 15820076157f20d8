// `yarnify validate`: an honest report of what was checked, on which adapter, with figures; a failed check
// exits non-zero; nothing unchecked passes.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "./harness.ts";
import { sharedPath } from "./shared.ts";
import { repoRoot, runCli } from "./cli-run.ts";

const tiny = sharedPath("models/tiny-llama-py");
const tmp = () => mkdtempSync(join(tmpdir(), "yarnify-validate-"));

test("patch --validate --json: every check passes on the patched tiny model, on a real WebGPU adapter", () => {
  const out = join(tmp(), "m");
  const r = runCli(["patch", tiny, "--factor", "4", "--out", out, "--validate", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout).validation;
  assert.equal(v.ok, true);
  assert.ok(v.adapter, `a WebGPU adapter was used (lavapipe in CI): ${JSON.stringify(v.checks)}`);
  const byName = Object.fromEntries(v.checks.map((c: { name: string }) => [c.name, c]));
  assert.deepEqual(Object.keys(byName).sort(), ["engines", "frequency-bands", "kernel", "real-weights"]);
  for (const c of v.checks) assert.equal(c.status, "pass", `${c.name}: ${c.detail}`);
  assert.ok(byName.kernel.relativeError <= 1e-4, `kernel error ${byName.kernel.relativeError}`);
  assert.deepEqual(byName["frequency-bands"].pairsOutOfRange, []);
  const w = byName["real-weights"];
  assert.ok(w.meanPatchedDrift < w.meanUnscaledDrift, "YaRN keeps attention entropy closer to the trained length than unscaled RoPE");
  assert.equal(w.heads.layer0.length, 4);
}, { timeoutMs: 180_000 });

test("validate fails (exit 5) a context raised without scaling: long wavelengths leave the trained range", () => {
  const dir = join(tmp(), "raised");
  mkdirSync(dir);
  copyFileSync(join(tiny, "model.safetensors"), join(dir, "model.safetensors"));
  const cfg = JSON.parse(readFileSync(join(tiny, "config.json"), "utf8"));
  cfg.max_position_embeddings = 1024;
  writeFileSync(join(dir, "config.json"), JSON.stringify(cfg, null, 2));
  // Plain RoPE declared at 1024 but trained at 256: the file itself does not say so, so the check needs the
  // original context from the user.
  const r = runCli(["validate", dir, "--original-context", "256", "--json"]);
  const v = JSON.parse(r.stdout);
  assert.equal(r.code, 5, r.stderr);
  assert.equal(v.ok, false);
  const bands = v.checks.find((c: { name: string }) => c.name === "frequency-bands");
  assert.equal(bands.status, "fail");
  assert.ok(bands.pairsOutOfRange.length > 0);
  const weights = v.checks.find((c: { name: string }) => c.name === "real-weights");
  assert.equal(weights.status, "fail", weights.detail);
}, { timeoutMs: 120_000 });

test("without WebGPU the kernel check is skipped with the reason, never passed", () => {
  // Hiding the Vulkan driver is not enough everywhere (Deno also finds llvmpipe through OpenGL): --no-gpu is.
  const r = runCli(["validate", join(repoRoot, "examples/qwen2.5-7b-instruct"), "--json", "--no-gpu"]);
  assert.equal(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout);
  assert.equal(v.adapter, null);
  const kernel = v.checks.find((c: { name: string }) => c.name === "kernel");
  assert.equal(kernel.status, "skipped");
  assert.match(kernel.detail, /WebGPU not used \(--no-gpu\)/);
  const text = runCli(["validate", join(repoRoot, "examples/qwen2.5-7b-instruct"), "--no-gpu"]);
  assert.match(text.stdout, /SKIPPED kernel: /);
  assert.match(text.stdout, /adapter\s+none/);
}, { timeoutMs: 120_000 });
