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
import { checkpointWeights, loadWeights, type ModelWeights } from "../src/eval/model/weights.ts";
import { GpuLimitError, gpuMemoryNeed } from "../src/eval/gpu/memory.ts";
import { defaultInvFreq } from "../src/core/rope/default.ts";
import { firstTokens, loadTokenizer } from "../src/eval/tokenizer.ts";
import { slidingWindows } from "../src/eval/windows.ts";
import { evalDocs, FIXTURES, fixtureWeights, writeGgufFixture, writeHfFixture, type Fixture } from "./support/family-fixtures.ts";
import { checkDecoding, familyDecodeCases } from "./support/decode-check.ts";
import { drift, passkey } from "../src/eval/tasks.ts";
import { fromFloat16Bits, toFloat16Bits } from "../src/core/float16.ts";

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

/** The weights with the matrices an f16 pass stores in f16 rounded to f16 (norms and biases stay f32, as there). */
function halfMatrices(w: ModelWeights): ModelWeights {
  const half = (a: Float32Array) => fromFloat16Bits(toFloat16Bits(a));
  const embed = half(w.embed);
  return {
    ...w, embed, lmHead: w.lmHead === w.embed ? embed : half(w.lmHead),
    layers: w.layers.map((l) => ({ ...l, q: half(l.q), k: half(l.k), v: half(l.v), o: half(l.o), gate: half(l.gate), up: half(l.up), down: half(l.down) })),
  };
}

// Measured on lavapipe over the seven fixtures: the f16 activations (normed state, Q/K/V, MLP gate and up) move the
// mean NLL by at most 7.8e-5 relative and a token's NLL (≈13) by at most 0.038. A 1% error in the f16 MLP product
// exceeds these bounds.
const F16_MEAN_REL = 1.5e-4, F16_TOKEN = 8e-2;

test("eval gpu: f16 activations (normed state, Q/K/V, MLP chunk) give the CPU pass's NLLs on its f16-rounded weights, every family; decoding equals the f16 full pass", async () => {
  const gpu = await gpuOrSkip();
  if (!gpu) return;
  try {
    if (!gpu.f16) return console.log("     (skipped: the adapter lacks shader-f16)");
    const text = evalDocs(1)[0]!;
    const L = 160;
    // The fixtures carry the tiny model's tokenizer.
    const tokens = Int32Array.from(firstTokens(loadTokenizer(modelDir), text, L));
    let worstMean = 0, worstToken = 0;
    for (const name of ["llama", "mistral", "qwen2", "qwen3", "gemma3", "phi3", "llama3"] as const) {
      const w = await heldFixture(FIXTURES[name]);
      const backend = await gpuBackend(w, { required: true, precision: "f16", gpu });
      try {
        const req = { tokens, rope: { invFreq: defaultInvFreq(w.shape.rotaryDim, 1e4), attentionFactor: 1 }, firstTarget: 1 };
        // The CPU on the same rounded weights: what differs is the f16 activations alone.
        const want = nllCpu(halfMatrices(w), req);
        const got = await backend.nll(req);
        const rel = Math.abs(sum(got) - sum(want)) / sum(want);
        worstMean = Math.max(worstMean, rel);
        assert.ok(rel < F16_MEAN_REL, `${name}: mean NLL off by ${rel}`);
        for (let i = 0; i < got.length; i++) {
          worstToken = Math.max(worstToken, Math.abs(got[i]! - want[i]!));
          assert.ok(Math.abs(got[i]! - want[i]!) < F16_TOKEN, `${name} token ${i}: ${got[i]} vs ${want[i]}`);
        }
      } finally {
        backend.release();
      }
    }
    console.log(`     (f16 activations: mean NLL within ${worstMean.toExponential(1)} relative, a token within ${worstToken.toExponential(1)})`);
    // Weights f16 can store (60000) whose queries it cannot (≈60000·Σh): the f16 pass refuses rather than return
    // infinities; the f32 pass gives finite NLLs on the same weights.
    const llama = await heldFixture(FIXTURES.llama);
    const loud = { ...llama, layers: llama.layers.map((l, i) => (i === 0 ? { ...l, q: new Float32Array(l.q.length).fill(60000) } : l)) };
    const req = { tokens, rope: { invFreq: defaultInvFreq(llama.shape.rotaryDim, 1e4), attentionFactor: 1 }, firstTarget: 1 };
    for (const precision of ["f16", "f32"] as const) {
      const backend = await gpuBackend(loud, { required: true, precision, gpu });
      try {
        if (precision === "f16") await assert.rejects(backend.nll(req), /f16 activations overflowed .*--precision f32/);
        else assert.ok((await backend.nll(req)).every(Number.isFinite));
      } finally {
        backend.release();
      }
    }
    for (const c of await familyDecodeCases(76)) {
      const backend = await gpuBackend(c.weights, { required: true, precision: "f16", gpu });
      try {
        await checkDecoding(backend, backend, c, 40, 30, 1e-2);
      } finally {
        backend.release();
      }
    }
  } finally {
    gpu.release();
  }
}, { timeoutMs: 300_000 });

test("eval gpu: the MLP and LM head in tiny row chunks give the unchunked NLLs (qwen2 biases, qwen3 head norms, gemma3 post-norms)", async () => {
  const gpu = await gpuOrSkip();
  if (!gpu) return;
  try {
    const text = evalDocs(1)[0]!;
    const L = 70;
    for (const name of ["qwen2", "qwen3", "gemma3"] as const) {
      const f = FIXTURES[name];
      const w = await heldFixture(f);
      const tokens = Int32Array.from(firstTokens(loadTokenizer(modelDir), text, L));
      const req = { tokens, rope: { invFreq: defaultInvFreq(w.shape.rotaryDim, 1e4), attentionFactor: 1 }, firstTarget: 1 };
      const nlls: Float64Array[] = [];
      // 7 rows: chunks that are not whole 4-row matmul tiles, and a last chunk of 6.
      for (const rows of [undefined, 7]) {
        const backend = await gpuBackend(w, { required: true, precision: "f32", gpu, ...(rows && { mlpRows: rows, logitRows: rows }) });
        try {
          nlls.push(await backend.nll(req));
        } finally {
          backend.release();
        }
      }
      const [whole, chunked] = nlls as [Float64Array, Float64Array];
      assert.equal(chunked.length, L - 1);
      for (let i = 0; i < whole.length; i++) assert.ok(Math.abs(whole[i]! - chunked[i]!) < 1e-5, `${name} token ${i}: ${whole[i]} vs ${chunked[i]}`);
    }
  } finally {
    gpu.release();
  }
}, { timeoutMs: 240_000 });

test("eval gpu: weights streamed layer by layer from the file (safetensors, Q8_0 GGUF) within a tight budget give the resident NLLs; under it, a refusal before any read", async () => {
  const gpu = await gpuOrSkip();
  if (!gpu) return;
  const dir = mkdtempSync(join(tmpdir(), "yarnify-gpu-stream-"));
  try {
    const f = FIXTURES.llama;
    const fw = fixtureWeights(f);
    writeHfFixture(join(dir, "hf"), f, fw);
    await writeGgufFixture(join(dir, "q8.gguf"), f, fw, "Q8_0");
    const L = 64;
    for (const model of [join(dir, "hf"), join(dir, "q8.gguf")]) {
      const ck = await openCheckpoint(model);
      try {
        const tokens = Int32Array.from(firstTokens(ck.tokenizer(), evalDocs(1)[0]!, L));
        const req = { tokens, rope: modelRopeFor(ck.rope, "yarn", L, 2), firstTarget: 1 };
        const src = checkpointWeights(ck);
        let reads = 0;
        const counted = { ...src, globals: () => (reads++, src.globals()), layer: (i: number) => (reads++, src.layer(i)) };
        const need = gpuMemoryNeed({ shape: ck.shape, tokens: L, weightType: "f32", tiedEmbeddings: src.tied });
        const opts = { required: true, precision: "f32", gpu, maxTokens: L, model } as const;
        await assert.rejects(gpuBackend(counted, { ...opts, memoryBudget: need.streamed - 1 }), (err: Error) =>
          err instanceof GpuLimitError && /even streamed that is over the/.test(err.message) && err.message.includes(model));
        assert.equal(reads, 0, "refused before reading a weight");
        const resident = await gpuBackend(src, opts);
        const want = await resident.nll(req).finally(() => resident.release());
        assert.doesNotMatch(resident.name, /streamed/);
        const streamed = await gpuBackend(counted, { ...opts, memoryBudget: need.streamed });
        try {
          assert.match(streamed.name, /streamed layer by layer/);
          for (let pass = 0; pass < 2; pass++) {
            const before: number = reads;
            const got = await streamed.nll(req);
            assert.equal(reads - before, ck.shape.layers.length, "each window reads every layer from the file once");
            for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-6, `${model} token ${i}: ${got[i]} vs ${want[i]}`);
          }
        } finally {
          streamed.release();
        }
      } finally {
        await ck.close();
      }
    }
  } finally {
    gpu.release();
    rmSync(dir, { recursive: true, force: true });
  }
}, { timeoutMs: 240_000 });

test("eval gpu: the memory model's figure is what one window allocates (weights resident and streamed, f32 and f16)", async () => {
  const gpu = await gpuOrSkip();
  if (!gpu) return;
  const dev = gpu.device;
  const create = dev.createBuffer.bind(dev);
  let live = 0, peak = 0;
  // Every storage and staging buffer the pass makes (uniforms, a few bytes each, are left out as the model does).
  dev.createBuffer = (d: GPUBufferDescriptor) => {
    const b = create(d);
    if (d.usage & 0x40 || /rope frequencies/.test(d.label ?? "")) return b;
    live += b.size;
    peak = Math.max(peak, live);
    const destroy = b.destroy.bind(b);
    b.destroy = () => ((live -= b.size), destroy());
    return b;
  };
  try {
    const f = FIXTURES.qwen3;
    const w = await heldFixture(f);
    const L = 100;
    const tokens = Int32Array.from({ length: L }, (_, i) => (i * 37) % w.shape.vocab);
    const req = { tokens, rope: { invFreq: defaultInvFreq(w.shape.rotaryDim, 1e4), attentionFactor: 1 }, firstTarget: 1 };
    // f16: f16 weights and the normed state and MLP chunk in f16, as the model counts them.
    for (const precision of gpu.f16 ? (["f32", "f16"] as const) : (["f32"] as const)) {
      const need = gpuMemoryNeed({ shape: w.shape, tokens: L, weightType: precision, tiedEmbeddings: true, mlpRows: 32, logitRows: 16 });
      for (const [budget, want] of [[undefined, need.resident], [need.streamed, need.streamed]] as const) {
        live = peak = 0;
        const backend = await gpuBackend(w, { required: true, precision, gpu, maxTokens: L, mlpRows: 32, logitRows: 16, ...(budget && { memoryBudget: budget }) });
        try {
          await backend.nll(req);
        } finally {
          backend.release();
        }
        // Buffers are rounded up to 16 bytes: a few per window.
        assert.ok(peak >= want && peak - want < 16 * 32, `${precision}: peak ${peak} bytes, the model says ${want}`);
      }
    }
  } finally {
    dev.createBuffer = create;
    gpu.release();
  }
}, { timeoutMs: 120_000 });

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

/** A family fixture's weights in host memory (written as a Hugging Face directory and read back as eval reads it). */
async function heldFixture(f: Fixture): Promise<ModelWeights> {
  const dir = mkdtempSync(join(tmpdir(), `yarnify-gpu-${f.name}-`));
  try {
    writeHfFixture(dir, f, fixtureWeights(f));
    const ck = await openCheckpoint(dir);
    try {
      return await loadWeights(ck);
    } finally {
      await ck.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("eval gpu: decoding with weights streamed layer by layer and the MLP in 7-row chunks gives the CPU's logits; the plan counts the K/V cache", async () => {
  const gpu = await gpuOrSkip();
  if (!gpu) return;
  try {
    const cases = (await familyDecodeCases(76)).filter((c) => c.name === "qwen3" || c.name === "gemma3");
    for (const c of cases) {
      const L = c.tokens.length;
      const need = gpuMemoryNeed({ shape: c.weights.shape, tokens: L, weightType: "f32", tiedEmbeddings: c.weights.lmHead === c.weights.embed, mlpRows: 7, cacheTokens: L });
      assert.equal(need.cache, L * c.weights.shape.layers.length * c.weights.shape.kvHeads * c.weights.shape.headDim * 2 * 4);
      const opts = { required: true, precision: "f32", gpu, maxTokens: L, mlpRows: 7 } as const;
      const tight = await gpuBackend(c.weights, { ...opts, memoryBudget: need.streamed - 1 });
      try {
        // Windows alone fit; with the session's cache they do not.
        await assert.rejects(tight.decoder(c.rope, L), (err: Error) => err instanceof GpuLimitError && /K\/V cache/.test(err.message));
      } finally {
        tight.release();
      }
      const backend = await gpuBackend(c.weights, { ...opts, memoryBudget: need.streamed });
      try {
        const session = await backend.decoder(c.rope, 1);
        session.release();
        assert.match(backend.name, /streamed layer by layer/);
        await checkDecoding(backend, cpuBackend(c.weights), c, 40, 30, 1e-4);
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
