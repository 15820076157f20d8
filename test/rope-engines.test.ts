// Engine profiles against the figures and pitfalls of ../shared/docs/rope-engines.md (§7, §9, §11).
import assert from "node:assert/strict";
import { compareEngines } from "../src/core/engine-compare.ts";
import { correctionRange, engineViews, getMscale, llamacppView, mlxView, ortGenaiView, type StoredRope, transformersView, vllmView, yarnAttentionFactor } from "../src/core/rope/index.ts";
import { test } from "./support/harness.ts";

const base = (rope: Record<string, unknown> | null, extra: Partial<StoredRope> = {}): StoredRope => ({
  theta: 1e6,
  headDim: 128,
  rotaryDim: 128,
  maxPositionEmbeddings: 131072,
  ropeScaling: rope,
  ropeParameters: null,
  ...extra,
});

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test("correction range matches the spec's test vectors (§11)", () => {
  const cases: [number, number, number, number, boolean, number, number, number, number][] = [
    [128, 1e6, 32768, 4, true, 23.5959476, 39.6508807, 23, 40],
    [64, 150000, 4096, 32, false, 8.0927791155, 17.3980245016, 8.0927791155, 17.3980245016],
    [64, 1e4, 4096, 40, true, 10.4722408, 22.5134406, 10, 23],
    [128, 1e4, 4096, 16, true, 20.9444816, 45.0268813, 20, 46],
  ];
  for (const [d, b, L, , truncate, lowRaw, highRaw, low, high] of cases) {
    const r = correctionRange(d, b, L, 32, 1, truncate);
    close(r.lowRaw, lowRaw, 1e-6, "lowRaw");
    close(r.highRaw, highRaw, 1e-6, "highRaw");
    close(r.low, low, 1e-6, "low");
    close(r.high, high, 1e-6, "high");
  }
});

test("attention factor rules: default, DeepSeek ratio, explicit", () => {
  close(yarnAttentionFactor(4), 1.1386294361, 1e-10, "0.1 ln 4 + 1");
  assert.equal(yarnAttentionFactor(40, { mscale: 1, mscaleAllDim: 1 }), 1);
  close(yarnAttentionFactor(8, { mscale: 1 }), 1 + 0.1 * Math.log(8), 1e-15, "lone mscale uses get_mscale(s)");
  assert.equal(yarnAttentionFactor(4, { attentionFactor: 1 }), 1);
  assert.equal(getMscale(0.5), 1);
});

test("llama.cpp reproduces transformers' YaRN within float32 noise for Qwen2.5 ×4", () => {
  const s = base({ type: "yarn", factor: 4.0, original_max_position_embeddings: 32768 });
  const r = compareEngines(engineViews(s));
  assert.ok(r.llamacpp.agrees, `llama.cpp rel diff ${r.llamacpp.maxInvFreqRelDiff}`);
  assert.ok(r.llamacpp.maxInvFreqRelDiff > 0, "llama.cpp's repeated float32 products are not bit-identical");
  close(r.llamacpp.attentionFactor, transformersView(s).attentionFactor, 1e-6, "attention");
});

test("gpt-oss truncate:false: transformers keeps the fractional range, llama.cpp and mlx floor/ceil", () => {
  const s = base({ rope_type: "yarn", factor: 32.0, original_max_position_embeddings: 4096, beta_fast: 32.0, beta_slow: 1.0, truncate: false }, { theta: 150000, headDim: 64, rotaryDim: 64 });
  const r = compareEngines(engineViews(s));
  assert.equal(r.llamacpp.agrees, false);
  assert.ok(r.llamacpp.warnings.some((w) => w.includes("truncate")));
  assert.ok(r.mlx.warnings.some((w) => w.includes("truncate")));
  assert.ok(r.ortGenai.agrees, "ORT GenAI never truncates, like gpt-oss");
  const t = transformersView(s).invFreq;
  const expectFirst = [1.0, 0.6890443, 0.47478205, 0.32714584];
  expectFirst.forEach((v, j) => close(t[j], v, 1e-7, `inv_freq[${j}]`));
});

test("ORT GenAI needs beta_fast to turn YaRN on; Qwen's recommended block gives plain RoPE there", () => {
  const v = ortGenaiView(base({ type: "yarn", factor: 4.0, original_max_position_embeddings: 32768 }));
  assert.equal(v.attentionFactor, 1);
  assert.ok(v.warnings.some((w) => w.includes("beta_fast")));
  const withBetas = ortGenaiView(base({ rope_type: "yarn", factor: 4.0, original_max_position_embeddings: 32768, beta_fast: 32.0, beta_slow: 1.0 }));
  close(withBetas.attentionFactor, 1.1386294361, 1e-9, "attention");
});

test("mscale-only: transformers uses get_mscale(s), ORT GenAI the mscale itself, mlx get_mscale(s, mscale)", () => {
  const s = base({ rope_type: "yarn", factor: 8.0, original_max_position_embeddings: 4096, mscale: 0.707, beta_fast: 32.0, beta_slow: 1.0 }, { theta: 1e4, headDim: 64, rotaryDim: 64 });
  close(transformersView(s).attentionFactor, getMscale(8), 1e-15, "transformers");
  assert.equal(ortGenaiView(s).attentionFactor, 0.707);
  close(mlxView(s).attentionFactor, getMscale(8, 0.707), 1e-15, "mlx");
});

test("Ministral-style mscale = mscale_all_dim: transformers 1.0, older vLLM 1.2773 with a warning", () => {
  const s = base({ rope_type: "yarn", factor: 16.0, original_max_position_embeddings: 16384, mscale: 1.0, mscale_all_dim: 1.0 }, { architecture: "mistral3" });
  assert.equal(transformersView(s).attentionFactor, 1);
  const v = vllmView(s);
  close(v.attentionFactor, 1.2772588722, 1e-9, "vLLM");
  assert.ok(v.warnings.some((w) => w.includes("PR #56446")));
});

test("mlx-lm assumes an original context of 4096 and ignores rope_parameters", () => {
  const s = base({ type: "yarn", factor: 4.0 }, { maxPositionEmbeddings: 32768 });
  assert.ok(mlxView(s).warnings.some((w) => w.includes("4096")));
  const v5 = base(null, { ropeParameters: { rope_type: "yarn", factor: 4.0, original_max_position_embeddings: 32768, rope_theta: 1e6 } });
  assert.equal(mlxView(v5).attentionFactor, 1);
  assert.ok(compareEngines(engineViews(v5)).mlx.agrees === false);
});

test("llama.cpp reads a GGUF's keys: original context falls back to context_length, betas only for grok", () => {
  const gguf = { architecture: "qwen2", contextLength: 131072, scalingType: "yarn", factor: 4, yarnBetaFast: 16 };
  const v = llamacppView(base(null, { gguf }));
  assert.ok(v.warnings.some((w) => w.includes("original_context_length")));
  assert.ok(v.warnings.some((w) => w.includes("grok")));
  const good = llamacppView(base(null, { gguf: { architecture: "qwen2", contextLength: 131072, scalingType: "yarn", factor: 4, originalContextLength: 32768 } }));
  const hf = transformersView(base({ rope_type: "yarn", factor: 4.0, original_max_position_embeddings: 32768 }));
  good.invFreq.forEach((x, j) => close(x, hf.invFreq[j], 1e-5 * hf.invFreq[j], `inv_freq[${j}]`));
});

test("DeepSeek2 GGUF: yarn_log_multiplier = 0.1·mscale_all_dim gives attention factor 1", () => {
  const v = llamacppView(base(null, { theta: 1e4, headDim: 64, rotaryDim: 64, gguf: { architecture: "deepseek2", contextLength: 163840, scalingType: "yarn", factor: 40, originalContextLength: 4096, yarnLogMultiplier: 0.1 } }));
  close(v.attentionFactor, 1, 1e-6, "attention");
});
