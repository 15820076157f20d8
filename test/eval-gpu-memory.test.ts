// The WebGPU evaluator's memory model on real model shapes (examples/ configs): the weights it counts equal the
// models' published parameter counts, activations grow linearly with the context, and the plan keeps Llama-3.1-8B
// at 32k tokens within 24 GiB, streams it in less, and refuses with the figures below that. No GPU needed.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "./support/harness.ts";
import { repoRoot, runCli } from "./support/cli-run.ts";
import { GpuLimitError, gpuMemoryBudget, gpuMemoryNeed, planGpuMemory } from "../src/eval/gpu/memory.ts";
import { evalMemory } from "../src/eval/memory-plan.ts";
import { readHfShape } from "../src/eval/model/hf-shape.ts";
import { FIXTURES, fixtureWeights, writeGgufFixture, writeHfFixture } from "./support/family-fixtures.ts";

const GiB = 2 ** 30;
const llama8b = join(repoRoot, "examples/llama-3.1-8b");
const qwen05b = join(repoRoot, "examples/qwen2.5-0.5b");
const H100 = { maxBufferSize: 2 * GiB, maxStorageBufferBindingSize: 2 * GiB };

test("gpu memory: weights are the published parameter counts (8,030,261,248 and 494,032,768) in f16, vectors in f32", () => {
  const llama = readHfShape(llama8b).shape;
  const qwen = readHfShape(qwen05b).shape;
  // Norms (and Qwen2's Q/K/V biases) stay f32: 2 more bytes each than the f16 matrices.
  const llamaVectors = 4096 * (2 * 32 + 1);
  const qwenVectors = 896 * (2 * 24 + 1) + (896 + 2 * 128) * 24;
  assert.equal(gpuMemoryNeed({ shape: llama, tokens: 2, weightType: "f16", tiedEmbeddings: false }).weights, 8_030_261_248 * 2 + llamaVectors * 2);
  assert.equal(gpuMemoryNeed({ shape: qwen, tokens: 2, weightType: "f16", tiedEmbeddings: true }).weights, 494_032_768 * 2 + qwenVectors * 2);
  assert.equal(gpuMemoryNeed({ shape: qwen, tokens: 2, weightType: "f32", tiedEmbeddings: true }).weights, 494_032_768 * 4);
});

test("gpu memory: activations grow linearly with the context (no tokens² buffer), the MLP and logits chunks are fixed", () => {
  for (const dir of [llama8b, qwen05b]) {
    const shape = readHfShape(dir).shape;
    const at = (tokens: number) => gpuMemoryNeed({ shape, tokens, weightType: "f16", tiedEmbeddings: false }).activations;
    // Past the chunk sizes every buffer is a per-token row or fixed: equal steps.
    assert.equal(at(65536) - at(32768), at(32768) - at(16384) + (at(32768) - at(16384)));
    assert.equal(at(32768) - at(16384), 2 * (at(16384) - at(8192)));
    const perToken = (at(16384) - at(8192)) / 8192;
    const { hidden: H, heads, kvHeads, headDim: D } = shape;
    // Residual stream and attention output in f32, the normed state, Q, K and V in f16 (f16 weights), and four u32
    // per token (ids, positions, NLL, staging).
    assert.equal(perToken, 4 * (H + heads * D) + 2 * (H + heads * D + 2 * kvHeads * D) + 16);
  }
});

test("gpu memory: Llama-3.1-8B at 32k tokens fits 24 GiB with weights resident, streams in 8 GiB, is refused in 4 GiB with the figures", () => {
  const shape = readHfShape(llama8b).shape;
  const p = { shape, tokens: 32768, weightType: "f16" as const, tiedEmbeddings: false };
  const plan = planGpuMemory("llama-8b", p, { ...H100, budget: 24 * GiB });
  assert.equal(plan.weights, "resident");
  assert.ok(plan.need.resident < 24 * GiB, `${plan.need.resident / GiB} GiB`);
  assert.equal(plan.need.largest.what, "embeddings");
  assert.equal(planGpuMemory("llama-8b", p, { ...H100, budget: 8 * GiB }).weights, "streamed");
  assert.throws(() => planGpuMemory("llama-8b", p, { ...H100, budget: 4 * GiB }), (err: Error) => {
    assert.ok(err instanceof GpuLimitError);
    assert.match(err.message, /^llama-8b: 32768 tokens with f16 weights need 16\.\d\d GiB resident .* 4\.\d\d GiB streamed .*over the 4\.00 GiB budget \(adapter maxBufferSize 2\.00 GiB, maxStorageBufferBindingSize 2\.00 GiB\)/);
    assert.equal(err.message.split("\n").length, 1);
    return true;
  });
  // A 128k window's residual stream alone is over a 1 GiB binding limit, whatever the budget.
  assert.throws(() => planGpuMemory("llama-8b", { ...p, tokens: 131072 }, { maxBufferSize: 4 * GiB, maxStorageBufferBindingSize: GiB }), /the hidden state buffer is over the adapter's buffer limit/);
});

test("gpu memory: --gpu-memory and YARNIFY_GPU_MEMORY in GiB; eval --dry-run prints the plan from config.json alone", async () => {
  assert.equal(gpuMemoryBudget("24", {}), 24 * GiB);
  assert.equal(gpuMemoryBudget(undefined, { YARNIFY_GPU_MEMORY: "1.5" }), 1.5 * GiB);
  assert.equal(gpuMemoryBudget(undefined, {}), undefined);
  assert.throws(() => gpuMemoryBudget("lots", {}), /--gpu-memory: "lots" is not a positive number of GiB/);
  const r = await evalMemory({ model: llama8b, contexts: [4096, 32768], gpuMemory: 4 * GiB });
  assert.deepEqual(r.rows.map((x) => x.weights), ["streamed", "refused"]);
  const cli = runCli(["eval", llama8b, "--context", "32768", "--gpu-memory", "24", "--dry-run"]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /32768 tokens: need 16\.\d\d GiB resident .*: weights resident/);
});

test("gpu memory: --dry-run reads a GGUF's header as it reads a config.json (tied Qwen2, untied Llama)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-gpu-memory-"));
  try {
    for (const name of ["qwen2", "llama"] as const) {
      const f = FIXTURES[name];
      const w = fixtureWeights(f);
      writeHfFixture(join(dir, name), f, w);
      await writeGgufFixture(join(dir, `${name}.gguf`), f, w, "F16");
      const [hf, gguf] = await Promise.all([join(dir, name), join(dir, `${name}.gguf`)].map((model) => evalMemory({ model, contexts: [256] })));
      assert.deepEqual(gguf!.rows, hf!.rows);
      const { hidden: H, vocab: V } = readHfShape(join(dir, name)).shape;
      // Untied: the LM head is a second vocab × hidden matrix.
      const untied = gpuMemoryNeed({ shape: readHfShape(join(dir, name)).shape, tokens: 256, weightType: "f16", tiedEmbeddings: false }).weights;
      assert.equal(untied - hf!.rows[0]!.need.weights, name === "qwen2" ? V * H * 2 : 0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
