// The WebGPU forward pass against the float32 CPU path. Without an adapter these tests FAIL (a GPU test
// that passes without a GPU proves nothing) unless YARNIFY_ALLOW_NO_GPU=1, for machines known to lack one.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "./support/harness.ts";
import { sharedPath } from "./support/shared.ts";
import { cpuBackend, logitRowsCpu, nllCpu } from "../src/eval/cpu/forward.ts";
import { requestGpu, NoGpuError, type Gpu } from "../kernels/gpu.ts";
import { gpuBackend } from "../src/eval/gpu/backend.ts";
import { openCheckpoint } from "../src/eval/model/checkpoint.ts";
import { modelRopeFor } from "../src/eval/model/model-rope.ts";
import { loadWeights } from "../src/eval/model/weights.ts";
import { firstTokens, loadTokenizer } from "../src/eval/tokenizer.ts";
import { slidingWindows } from "../src/eval/windows.ts";
import { evalDocs, FIXTURES, fixtureWeights, writeHfFixture } from "./support/family-fixtures.ts";
import { checkDecoding, familyDecodeCases } from "./support/decode-check.ts";
import { drift, passkey } from "../src/eval/tasks.ts";

const modelDir = sharedPath("models/tiny-llama-py");
const allowNoGpu = process.env.YARNIFY_ALLOW_NO_GPU === "1";

async function gpuOrSkip(): Promise<Gpu | null> {
  try {
    return await requestGpu();
  } catch (err) {
    if (err instanceof NoGpuError && allowNoGpu) {
      console.log(`     (skipped: ${err.message}; YARNIFY_ALLOW_NO_GPU=1)`);
      return null;
    }
    throw err;
  }
}

const sum = (a: Float64Array) => a.reduce((s, x) => s + x, 0);

test("eval gpu: WebGPU NLLs equal the CPU path (f32 to 1e-4, f16 weights to 1%) for plain RoPE, YaRN and sliding windows", async () => {
  const gpu = await gpuOrSkip();
  if (!gpu) return;
  try {
    const ck = await openCheckpoint(modelDir);
    const w = await loadWeights(ck);
    await ck.close();
    const tok = loadTokenizer(modelDir);
    const docs = (JSON.parse(readFileSync(sharedPath("data/eval-docs.json"), "utf8")) as { docs: { text: string }[] }).docs;
    const L = 96;
    const tokens = Int32Array.from(firstTokens(tok, docs[0]!.text, 2 * L));
    // YaRN factor 4 with a 96-token window exercises the frequencies and the attention factor (≈1.14).
    const cases = [
      { rope: modelRopeFor(ck.rope, "none", L), start: 0, firstTarget: 1 },
      { rope: modelRopeFor(ck.rope, "yarn", L, 4), start: 0, firstTarget: 1 },
      ...slidingWindows(2 * L, L, 48).slice(1, 3).map((win) => ({ rope: modelRopeFor(ck.rope, "none", L), start: win.start, firstTarget: win.firstTarget })),
    ];
    const precisions = gpu.f16 ? (["f32", "f16"] as const) : (["f32"] as const);
    for (const precision of precisions) {
      const backend = await gpuBackend(w, { required: true, precision, gpu });
      try {
        for (const c of cases) {
          const req = { tokens: tokens.subarray(c.start, c.start + L), rope: c.rope, firstTarget: c.firstTarget };
          const want = nllCpu(w, req);
          const got = await backend.nll(req);
          assert.equal(got.length, want.length);
          const rel = Math.abs(sum(got) - sum(want)) / sum(want);
          assert.ok(rel < (precision === "f32" ? 1e-4 : 1e-2), `${precision} window@${c.start}: mean NLL off by ${rel}`);
          if (precision === "f32") for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 2e-3, `token ${i}: ${got[i]} vs ${want[i]}`);
        }
      } finally {
        backend.release();
      }
    }
  } finally {
    gpu.release();
  }
}, { timeoutMs: 240_000 });

test("eval gpu: every family's fixture (biases, head norms, sliding windows, local RoPE, GELU, partial rotary) gives the CPU pass's NLLs, model RoPE and YaRN x2", async () => {
  const gpu = await gpuOrSkip();
  if (!gpu) return;
  const dir = mkdtempSync(join(tmpdir(), "yarnify-gpu-families-"));
  try {
    const text = evalDocs(1)[0]!;
    // 160 tokens: three 64-row tiles, Gemma's 64-token window skips whole tiles.
    const L = 160;
    for (const name of ["llama", "mistral", "qwen2", "qwen3", "gemma3", "phi3", "llama3"] as const) {
      const f = FIXTURES[name];
      writeHfFixture(join(dir, name), f, fixtureWeights(f));
      const ck = await openCheckpoint(join(dir, name));
      const w = await loadWeights(ck);
      await ck.close();
      const tokens = Int32Array.from(firstTokens(ck.tokenizer(), text, L));
      const backend = await gpuBackend(w, { required: true, precision: "f32", gpu });
      try {
        for (const [method, factor] of [["model", undefined], ["yarn", 2]] as const) {
          const req = { tokens, rope: modelRopeFor(ck.rope, method, L, factor), firstTarget: 1 };
          const want = nllCpu(w, req);
          const got = await backend.nll(req);
          const rel = Math.abs(sum(got) - sum(want)) / sum(want);
          assert.ok(rel < 1e-5, `${name} ${method}: mean NLL off by ${rel}`);
          for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-3, `${name} ${method} token ${i}: ${got[i]} vs ${want[i]}`);
        }
      } finally {
        backend.release();
      }
    }
  } finally {
    gpu.release();
    rmSync(dir, { recursive: true, force: true });
  }
}, { timeoutMs: 300_000 });

test("eval gpu: decoding over the device K/V cache (a prefill, a chunk, single tokens) and the logit rows of a window give the CPU pass's logits, every family", async () => {
  const gpu = await gpuOrSkip();
  if (!gpu) return;
  try {
    // 76 tokens: Gemma's sliding layers drop keys from position 64 on, during the single steps.
    for (const c of await familyDecodeCases(76)) {
      const backend = await gpuBackend(c.weights, { required: true, precision: "f32", gpu });
      try {
        const cpu = cpuBackend(c.weights);
        await checkDecoding(backend, cpu, c, 40, 30, 1e-4);
        const want: Float32Array[] = [];
        logitRowsCpu(c.weights, c.tokens, c.rope, 10, (_row, n, logits) => {
          for (let r = 0; r < n; r++) want.push(logits.slice(r * 4096, (r + 1) * 4096));
        });
        let rows = 0;
        await backend.logitRows({ tokens: c.tokens, rope: c.rope, firstRow: 10 }, (row, n, logits) => {
          for (let r = 0; r < n; r++, rows++) {
            assert.equal(row + r, 10 + rows);
            const w = want[rows]!;
            for (let i = 0; i < 4096; i++) assert.ok(Math.abs(logits[r * 4096 + i]! - w[i]!) < 1e-3, `${c.name} row ${row + r} logit ${i}: ${logits[r * 4096 + i]} vs ${w[i]}`);
          }
        });
        assert.equal(rows, c.tokens.length - 10);
      } finally {
        backend.release();
      }
    }
  } finally {
    gpu.release();
  }
}, { timeoutMs: 120_000 });

test("eval gpu: passkey and drift on WebGPU give the CPU's continuations and drift figures (tiny model, 256 tokens)", async () => {
  const gpu = await gpuOrSkip();
  if (!gpu) return;
  const texts = evalDocs(1);
  // The test's device serves both models of the drift (a second Dawn instance would keep Node from exiting).
  const onDevice = (device: "gpu" | "cpu") => (device === "gpu" ? { backend: (w: Parameters<typeof gpuBackend>[0]) => gpuBackend(w, { required: true, precision: "f32", gpu }) } : { device });
  const run = async (device: "gpu" | "cpu") => ({
    passkey: await passkey({ model: modelDir, contexts: [256], methods: ["yarn"], factor: 2, trials: 1, seed: 5, ...onDevice(device) }),
    drift: await drift({ model: modelDir, baseline: modelDir, texts, contexts: [96], ...onDevice(device) }),
  });
  let onGpu: Awaited<ReturnType<typeof run>>;
  try {
    onGpu = await run("gpu");
  } finally {
    gpu.release();
  }
  const onCpu = await run("cpu");
  assert.match(onGpu.passkey.device, /^webgpu/);
  assert.equal(onCpu.passkey.device, "cpu");
  assert.deepEqual(onGpu.passkey.results[0]!.trials.map((t) => t.continuation), onCpu.passkey.results[0]!.trials.map((t) => t.continuation));
  const [g, c] = [onGpu.drift.results[0]!, onCpu.drift.results[0]!];
  assert.match(onGpu.drift.device, /^webgpu/);
  assert.ok(Math.abs(g.kl) < 1e-6 && Math.abs(g.perplexity / c.perplexity - 1) < 1e-4, `gpu kl ${g.kl} ppl ${g.perplexity}, cpu ppl ${c.perplexity}`);
  assert.equal(g.tokens, c.tokens);
}, { timeoutMs: 120_000 });
