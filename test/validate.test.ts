// `yarnify validate`: an honest report of what was checked, on which adapter, with figures; a failed check
// exits non-zero; nothing unchecked passes.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "./support/harness.ts";
import { sharedPath } from "./support/shared.ts";
import { repoRoot, runCli } from "./support/cli-run.ts";
import { ggufHeaderBytes } from "./support/gguf-make.ts";
import { toFloat16Bits } from "../src/core/float16.ts";
import { openGgufSource } from "../src/weights/gguf-source.ts";
import { checkpointProbe } from "../src/validate/probe-weights.ts";
import { FIXTURES, fixtureWeights, writeGgufFixture, writeHfFixture } from "./support/family-fixtures.ts";

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

test("real-weights reads GGUF (F32, F16): the tiny model's GGUF copies give the safetensors figures", () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-probe-gguf-"));
  const figures = (model: string, out: string) => {
    assert.equal(runCli(["patch", model, "--factor", "4", "--out", out, "--no-verify"]).code, 0);
    const r = runCli(["validate", out, "--json", "--no-gpu"]);
    assert.equal(r.code, 0, r.stderr);
    const check = JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === "real-weights");
    assert.equal(check.status, "pass", check.detail);
    return check as { meanPatchedDrift: number; meanUnscaledDrift: number; probeLength: number };
  };
  const hf = figures(sharedPath("models/tiny-llama-py"), join(dir, "hf"));
  for (const [file, tolerance] of [["tiny-llama-f32.gguf", 1e-4], ["tiny-llama-f16.gguf", 1e-2]] as const) {
    const g = figures(sharedPath(`models/tiny-llama-py/${file}`), join(dir, file));
    assert.equal(g.probeLength, hf.probeLength);
    // Q and K only line up with the safetensors rows once llama.cpp's interleaved head layout is undone.
    for (const k of ["meanPatchedDrift", "meanUnscaledDrift"] as const) {
      assert.ok(Math.abs(g[k] / hf[k] - 1) < tolerance, `${file} ${k}: ${g[k]} vs ${hf[k]}`);
    }
  }
}, { timeoutMs: 240_000 });

test("GGUF tensor rows: Q8_0 blocks decode to scale × int8; an architecture the probe does not know is skipped", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-q8-"));
  const width = 64;
  const rows = 3;
  const { header } = ggufHeaderBytes({ tensors: [{ name: "w", shape: [width, rows], type: 8 }] });
  const data = new Uint8Array(rows * (width / 32) * 34);
  const view = new DataView(data.buffer);
  const want = new Float32Array(rows * width);
  for (let b = 0; b < (rows * width) / 32; b++) {
    const scale = 0.5 + b; // exact in f16
    view.setUint16(b * 34, toFloat16Bits(new Float32Array([scale]))[0]!, true);
    for (let i = 0; i < 32; i++) {
      const q = ((b * 37 + i * 11) % 255) - 127;
      view.setInt8(b * 34 + 2 + i, q);
      want[b * 32 + i] = scale * q;
    }
  }
  const file = join(dir, "q8.gguf");
  writeFileSync(file, Buffer.concat([header, data]));
  const source = await openGgufSource(file);
  try {
    assert.deepEqual(await source.read("w"), want);
    assert.deepEqual(await source.rows("w", [2, 0]), Float32Array.from([...want.subarray(2 * width), ...want.subarray(0, width)]));
    await assert.rejects(source.rows("w", [3]), /row 3 outside w/);
  } finally {
    await source.close();
  }
  // ggufHeaderBytes names the architecture llama by default; another one the evaluator does not run.
  writeFileSync(join(dir, "phi2.gguf"), Buffer.concat([ggufHeaderBytes({ arch: "phi2", tensors: [{ name: "w", shape: [width, rows], type: 8 }] }).header, data]));
  const probe = await checkpointProbe(join(dir, "phi2.gguf"));
  assert.ok("skipped" in probe && /weights not probed: GGUF architecture phi2 is not supported by the evaluator \(supported: llama, qwen2, qwen3, gemma3, phi3\)/.test(probe.skipped), JSON.stringify(probe));
});

test("real-weights probes every family through the evaluator's description: Gemma 3's global layers, Qwen2's biases, Qwen3's head norms", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-probe-families-"));
  for (const name of ["gemma3", "qwen2", "qwen3", "llama"] as const) {
    const f = FIXTURES[name];
    const w = fixtureWeights(f);
    writeHfFixture(join(dir, name), f, w);
    await writeGgufFixture(join(dir, `${name}.gguf`), f, w);
    const checks: Record<string, { status: string; detail: string; meanPatchedDrift: number; heads: Record<string, unknown[]> }> = {};
    for (const [format, model] of [["hf", join(dir, name)], ["gguf", join(dir, `${name}.gguf`)]]) {
      const out = join(dir, `${name}-${format}-x4${format === "gguf" ? ".gguf" : ""}`);
      const p = runCli(["patch", model!, "--factor", "4", "--out", out]);
      assert.equal(p.code, 0, p.stderr);
      const r = runCli(["validate", out, "--json", "--no-gpu"]);
      const check = JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === "real-weights");
      assert.ok(check.status === "pass" || check.status === "fail", `${name} ${format}: ${check.detail}`);
      checks[format!] = check;
    }
    // Gemma 3's fixture has one global layer (5): the sliding layers keep their RoPE, so they are not probed.
    assert.deepEqual(Object.keys(checks.hf!.heads), name === "gemma3" ? ["layer5"] : ["layer0", "layer1"]);
    // The same weights in both formats: the GGUF's converted Q/K (Llama's permutation, Gemma's norms + 1) read back.
    assert.ok(Math.abs(checks.gguf!.meanPatchedDrift / checks.hf!.meanPatchedDrift - 1) < 1e-4, `${name}: ${checks.gguf!.meanPatchedDrift} vs ${checks.hf!.meanPatchedDrift}`);
  }
}, { timeoutMs: 240_000 });
