// Issue 15: every family as transformers reads it. Fixtures are written from the published config.json values
// (shapes and RoPE keys), never copied from model files.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGUFValueType } from "@huggingface/gguf";
import { patchedConfigText } from "../converters/hf/index.ts";
import { PlanError } from "../src/core/errors.ts";
import { plan } from "../src/core/plan.ts";
import { engineReports, inspect } from "../src/inspect.ts";
import { patch } from "../src/patch.ts";
import { inspectText, patchText } from "../src/report-text.ts";
import { makeGguf } from "./support/gguf-make.ts";
import { fromObject } from "./support/hf-fixtures.ts";
import { test } from "./support/harness.ts";

// microsoft/Phi-3.5-mini-instruct config.json: head_dim 3072/32 = 96 (48 pairs), longrope from 4096 to 131072.
const phi35 = {
  architectures: ["Phi3ForCausalLM"], model_type: "phi3", hidden_size: 3072, num_attention_heads: 32, num_key_value_heads: 32,
  max_position_embeddings: 131072, original_max_position_embeddings: 4096, rope_theta: 10000.0,
  rope_scaling: {
    type: "longrope",
    short_factor: Array.from({ length: 48 }, (_, j) => 1 + j * 0.05),
    long_factor: Array.from({ length: 48 }, (_, j) => 1 + j * 1.2),
  },
};
// microsoft/phi-4 (14B) config.json: model_type phi3, no scaling, 16384 tokens.
const phi4 = {
  architectures: ["Phi3ForCausalLM"], model_type: "phi3", hidden_size: 5120, num_attention_heads: 40, num_key_value_heads: 10,
  max_position_embeddings: 16384, original_max_position_embeddings: 16384, rope_theta: 250000.0, rope_scaling: null,
};

test("Phi-3/Phi-4: a YaRN patch is refused with transformers' reason (exit 3); NTK, which loads, is written", () => {
  for (const [name, cfgObj, target] of [["phi-3.5", phi35, { factor: 64, force: true }], ["phi-4", phi4, { factor: 4 }]] as const) {
    const cfg = fromObject(cfgObj);
    const p = plan(cfg.spec, target);
    assert.throws(
      () => patchedConfigText(cfg, p),
      (e: unknown) => e instanceof PlanError && e.exitCode === 3 && /Phi3Config renames rope_type "yarn" to "longrope"/.test((e as Error).message),
      name,
    );
    assert.throws(() => patchedConfigText(cfg, plan(cfg.spec, { ...target, method: "linear" })), PlanError);
    const ntk = JSON.parse(patchedConfigText(cfg, plan(cfg.spec, { ...target, method: "ntk" })));
    assert.equal(ntk.rope_scaling, null, name);
    assert.ok(ntk.rope_theta > cfgObj.rope_theta, name);
  }
});

test("Phi-3: inspect of a config that says yarn does not list transformers (nor vLLM, ORT GenAI) as agreeing", () => {
  const cfg = fromObject({ ...phi35, rope_scaling: { type: "yarn", rope_type: "yarn", factor: 2.0, original_max_position_embeddings: 4096, beta_fast: 32.0, beta_slow: 1.0 } });
  const { engines, warnings } = engineReports(cfg.stored, "hf");
  assert.equal(engines.transformers.agrees, false);
  assert.equal(engines.vllm.agrees, false);
  assert.equal(engines.ortGenai.agrees, false);
  assert.ok(warnings.some((w) => /transformers cannot read these parameters: fails to load this config: .*longrope/.test(w)), warnings.join("\n"));
  // The published longrope config still reads as before.
  const ok = engineReports(fromObject(phi35).stored, "hf");
  assert.equal(ok.engines.transformers.agrees, true);
});

// moonshotai/Kimi-K2-Instruct config.json (DeepSeek-V3 layout): YaRN ×32 from 4096 with beta_fast = beta_slow = 1.
const kimiK2 = {
  architectures: ["DeepseekV3ForCausalLM"], model_type: "kimi_k2", hidden_size: 7168, num_attention_heads: 64,
  qk_nope_head_dim: 128, qk_rope_head_dim: 64, v_head_dim: 128, max_position_embeddings: 131072, rope_theta: 50000.0,
  rope_scaling: { beta_fast: 1.0, beta_slow: 1.0, factor: 32.0, mscale: 1.0, mscale_all_dim: 1.0, original_max_position_embeddings: 4096, type: "yarn" },
};

test("Kimi-K2 --force keeps the model's own betas (1/1); only a user's inconsistent pair is refused", () => {
  const cfg = fromObject(kimiK2);
  const p = plan(cfg.spec, { factor: 64, force: true });
  assert.deepEqual([p.scaling.betaFast, p.scaling.betaSlow], [1, 1]);
  assert.equal(p.context, 262144);
  const out = JSON.parse(patchedConfigText(cfg, p));
  assert.deepEqual([out.rope_scaling.beta_fast, out.rope_scaling.beta_slow], [1, 1]);
  assert.throws(() => plan(cfg.spec, { factor: 64, force: true, betaSlow: 1 }), (e: unknown) => e instanceof PlanError && /beta_fast \(1\) must be greater than beta_slow \(1\)/.test((e as Error).message));
  assert.throws(() => plan(cfg.spec, { factor: 64, force: true, betaFast: 2, betaSlow: 4 }), PlanError);
  assert.equal(plan(cfg.spec, { factor: 64, force: true, betaFast: 32 }).scaling.betaFast, 32);
});

// openai/gpt-oss-20b config.json: head_dim 64, YaRN ×32 from 4096 to 131072, truncate false.
const gptOss = {
  architectures: ["GptOssForCausalLM"], model_type: "gpt_oss", hidden_size: 2880, num_attention_heads: 64, head_dim: 64,
  max_position_embeddings: 131072, rope_theta: 150000,
  rope_scaling: { beta_fast: 32.0, beta_slow: 1.0, factor: 32.0, original_max_position_embeddings: 4096, rope_type: "yarn", truncate: false },
};
// meta-llama/Llama-4-Scout-17B-16E config.json text_config: llama3 ×16 from 8192, 10485760 declared.
const llama4Scout = {
  architectures: ["Llama4ForConditionalGeneration"], model_type: "llama4",
  text_config: {
    model_type: "llama4_text", hidden_size: 5120, num_attention_heads: 40, head_dim: 128, max_position_embeddings: 10485760, rope_theta: 500000.0,
    rope_scaling: { factor: 16.0, high_freq_factor: 1.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: "llama3" },
  },
};

test("--force never shrinks the declared context silently: refused (exit 3) naming both figures unless allowShrink", () => {
  const cases: [string, object, number, number][] = [
    ["gpt-oss", gptOss, 16384, 131072],
    ["Llama-4-Scout", llama4Scout, 32768, 10485760],
  ];
  for (const [name, obj, shrunk, declared] of cases) {
    const cfg = fromObject(obj);
    assert.throws(
      () => plan(cfg.spec, { factor: 4, force: true }),
      (e: unknown) => e instanceof PlanError && e.exitCode === 3 && (e as Error).message.includes(`target context ${shrunk} is not above the ${declared} tokens`) && /--allow-shrink/.test((e as Error).message),
      name,
    );
    const p = plan(cfg.spec, { factor: 4, force: true, allowShrink: true });
    assert.deepEqual([p.previousContext, p.context], [declared, shrunk], name);
    assert.ok(p.warnings.some((w) => w.includes(`context shrinks from ${declared} to ${shrunk}`)), name);
  }
  // Growing is as before, and the plan says what the context was.
  const grown = plan(fromObject(gptOss).spec, { factor: 64, force: true });
  assert.deepEqual([grown.previousContext, grown.context], [131072, 262144]);
  assert.equal(grown.scaling.truncate, false);
});

// google/gemma-4 config.json text_config (transformers' Gemma4TextConfig defaults): head_dim 256, global_head_dim 512,
// full-attention layers "proportional" over 512 with partial_rotary_factor 0.25, sliding layers plain at 10000.
const gemma4 = {
  architectures: ["Gemma4ForConditionalGeneration"], model_type: "gemma4",
  text_config: {
    model_type: "gemma4_text", hidden_size: 2560, num_attention_heads: 8, num_key_value_heads: 2, head_dim: 256, global_head_dim: 512,
    max_position_embeddings: 131072, sliding_window: 512,
    layer_types: ["sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "full_attention"],
    rope_parameters: {
      full_attention: { partial_rotary_factor: 0.25, rope_theta: 1000000.0, rope_type: "proportional" },
      sliding_attention: { rope_theta: 10000.0, rope_type: "default" },
    },
  },
};

test("Gemma 4: proportional RoPE reads as transformers computes it; patch divides its full-attention layers (linear)", () => {
  const cfg = fromObject(gemma4);
  assert.deepEqual([cfg.spec.scaling.method, cfg.spec.headDim, cfg.spec.rotaryDim, cfg.spec.theta], ["proportional", 512, 128, 1e6]);
  const { engines, warnings } = engineReports(cfg.stored, "hf");
  // 64 rotated pairs, exponents over the whole 512-wide head: 1/1e6^(2j/512).
  assert.equal(engines.transformers.invFreq.length, 64);
  assert.equal(engines.transformers.invFreq[0], 1);
  assert.ok(Math.abs(engines.transformers.invFreq[1] - 1e6 ** (-2 / 512)) < 1e-7);
  assert.ok(Math.abs(engines.transformers.invFreq[63] - 1e6 ** (-126 / 512)) < 1e-8);
  assert.ok(warnings.some((w) => /llamacpp: yarnify does not model its reading of proportional RoPE/.test(w)));
  // Plain (factor 1) is not "already scaled": no --force needed; YaRN is refused with the reason.
  assert.throws(() => plan(cfg.spec, { factor: 2 }), (e: unknown) => e instanceof PlanError && /proportional RoPE.*--method linear/.test((e as Error).message));
  const p = plan(cfg.spec, { factor: 2, method: "linear" });
  assert.equal(p.context, 262144);
  assert.ok(Math.abs(p.invFreq[1] - engines.transformers.invFreq[1] / 2) < 1e-9);
  const out = JSON.parse(patchedConfigText(cfg, p));
  assert.deepEqual(out.text_config.rope_parameters.full_attention, { partial_rotary_factor: 0.25, rope_theta: 1e6, rope_type: "proportional", factor: 2 });
  assert.deepEqual(out.text_config.rope_parameters.sliding_attention, gemma4.text_config.rope_parameters.sliding_attention);
  assert.equal(out.text_config.max_position_embeddings, 262144);
  const again = fromObject(out);
  assert.deepEqual([again.spec.scaling.method, again.spec.scaling.factor], ["proportional", 2]);
  assert.throws(() => plan(again.spec, { factor: 4, method: "linear" }), /already has proportional scaling/);
});

// google/gemma-3-4b-it as transformers v5 saves it: per-layer-type rope_parameters (linear ×8 on full attention).
const gemma3v5 = {
  architectures: ["Gemma3ForConditionalGeneration"], model_type: "gemma3",
  text_config: {
    model_type: "gemma3_text", hidden_size: 2560, num_attention_heads: 8, num_key_value_heads: 4, head_dim: 256,
    max_position_embeddings: 131072, sliding_window: 1024,
    layer_types: ["sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "full_attention"],
    rope_parameters: {
      full_attention: { rope_type: "linear", factor: 8.0, rope_theta: 1000000.0 },
      sliding_attention: { rope_type: "default", rope_theta: 10000.0 },
    },
  },
};

test("per-layer configs (Gemma 3): transformers reads truncate from the outer dict, so it truncates; --no-truncate is refused", () => {
  const full = { rope_type: "yarn", factor: 8.0, original_max_position_embeddings: 16384, beta_fast: 32.0, beta_slow: 1.0, truncate: false, rope_theta: 1000000.0 };
  const obj = structuredClone(gemma3v5);
  (obj.text_config.rope_parameters as Record<string, unknown>).full_attention = full;
  const cfg = fromObject(obj);
  assert.equal(cfg.spec.scaling.truncate, undefined);
  const { engines, warnings } = engineReports(cfg.stored, "hf");
  const truncated = plan({ ...cfg.spec, context: 16384, originalContext: 16384, scaling: { method: "none" } }, { factor: 8 });
  assert.deepEqual(engines.transformers.invFreq, truncated.invFreq);
  assert.equal(engines.llamacpp.agrees, true);
  assert.ok(engines.transformers.warnings.some((w) => /reads truncate from the outer dict/.test(w)));
  assert.ok(!warnings.some((w) => /llamacpp reads this differently/.test(w)), warnings.join("\n"));
  // The writer refuses to store a truncate: false transformers would not read; a truncating YaRN is written.
  const plain = fromObject(gemma3v5);
  assert.throws(() => patchedConfigText(plain, plan(plain.spec, { factor: 2, force: true, truncate: false })), (e: unknown) => e instanceof PlanError && /reads truncate from the outer rope_parameters/.test((e as Error).message));
  const out = JSON.parse(patchedConfigText(plain, plan(plain.spec, { factor: 2, force: true })));
  assert.equal(out.text_config.rope_parameters.full_attention.truncate, undefined);
  assert.deepEqual(Object.keys(out.text_config.rope_parameters), ["full_attention", "sliding_attention"]);
});

// Qwen/Qwen3-VL-8B-Instruct config.json text_config: M-RoPE sections in rope_scaling (rope_type default).
const qwen3vl = {
  architectures: ["Qwen3VLForConditionalGeneration"], model_type: "qwen3_vl",
  text_config: {
    model_type: "qwen3_vl_text", hidden_size: 4096, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 128,
    max_position_embeddings: 262144, rope_theta: 5000000,
    rope_scaling: { mrope_interleaved: true, mrope_section: [24, 20, 20], rope_type: "default" },
  },
};

test("M-RoPE (Qwen3-VL): a YaRN patch keeps mrope_section and mrope_interleaved beside the YaRN keys", () => {
  const cfg = fromObject(qwen3vl);
  const out = JSON.parse(patchedConfigText(cfg, plan(cfg.spec, { factor: 2 })));
  const rs = out.text_config.rope_scaling;
  assert.deepEqual(rs.mrope_section, [24, 20, 20]);
  assert.equal(rs.mrope_interleaved, true);
  assert.equal(rs.rope_type, "yarn");
  assert.equal(rs.original_max_position_embeddings, 262144);
  assert.equal(out.text_config.max_position_embeddings, 524288);
});

// Qwen/Qwen2.5-VL-7B-Instruct config.json: M-RoPE sections 16/24/24 in a v4 rope_scaling with type "mrope".
const qwen25vl = {
  architectures: ["Qwen2_5_VLForConditionalGeneration"], model_type: "qwen2_5_vl", hidden_size: 3584, num_attention_heads: 28,
  num_key_value_heads: 4, num_hidden_layers: 28, max_position_embeddings: 128000, rope_theta: 1000000.0, sliding_window: 32768,
  use_sliding_window: false, torch_dtype: "bfloat16", vocab_size: 152064, rope_scaling: { type: "mrope", mrope_section: [16, 24, 24] },
};

test("M-RoPE read-back: after a YaRN patch transformers, llama.cpp, vLLM and mlx-lm apply it; ORT GenAI computes plain RoPE", () => {
  for (const [name, obj] of [["Qwen2.5-VL", qwen25vl], ["Qwen3-VL", qwen3vl]] as const) {
    const cfg = fromObject(obj);
    const before = engineReports(cfg.stored, "hf");
    assert.equal(before.mrope?.scaling, "none", name);
    assert.deepEqual([before.mrope?.applies, before.mrope?.ignores], [[], []], name);
    assert.equal(before.engines.ortGenai.agrees, true, name);
    const out = fromObject(JSON.parse(patchedConfigText(cfg, plan(cfg.spec, { factor: 2 }))));
    const after = engineReports(out.stored, "hf");
    assert.deepEqual(after.mrope?.section, name === "Qwen3-VL" ? [24, 20, 20] : [16, 24, 24], name);
    assert.equal(after.mrope?.interleaved, name === "Qwen3-VL", name);
    assert.equal(after.mrope?.scaling, "yarn", name);
    assert.deepEqual(after.mrope?.applies, ["transformers", "llamacpp", "vllm", "mlx"], name);
    assert.deepEqual(after.mrope?.ignores, ["ortGenai"], name);
    for (const e of ["llamacpp", "vllm", "mlx"] as const) assert.equal(after.engines[e].agrees, true, `${name} ${e}`);
    // ORT GenAI's builder keeps the trained frequencies: its reading is plain RoPE, and it is flagged as differing.
    assert.deepEqual(after.engines.ortGenai.invFreq, before.engines.transformers.invFreq, name);
    assert.equal(after.engines.ortGenai.agrees, false, name);
    assert.ok(after.warnings.some((w) => /ORT GenAI ignores yarn scaling on M-RoPE/.test(w)), after.warnings.join("\n"));
  }
});

test("M-RoPE read-back in inspect/patch text and JSON, and from a GGUF's rope.dimension_sections", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-mrope-"));
  try {
    const model = join(dir, "qwen2.5-vl");
    mkdirSync(model);
    writeFileSync(join(model, "config.json"), JSON.stringify(qwen25vl, null, 2));
    const r = await patch({ model, factor: 2, out: join(dir, "out") });
    assert.deepEqual(r.mrope?.applies, ["transformers", "llamacpp", "vllm", "mlx"]);
    const text = patchText(r);
    assert.match(text, /M-RoPE {12}sections 16\/24\/24; YaRN applied by transformers, llama\.cpp, vLLM, mlx-lm\n {20}ignored by ONNX Runtime GenAI/);
    const again = await inspect({ model: join(dir, "out") });
    assert.deepEqual(again.mrope, r.mrope);
    assert.match(inspectText(again), /M-RoPE {12}sections 16\/24\/24; YaRN/);
    // A GGUF of the same model (convert_hf_to_gguf.py: qwen2vl arch, dimension_sections [t, h, w, 0]) patched to YaRN.
    const gguf = join(dir, "qwen2.5-vl.gguf");
    writeFileSync(gguf, makeGguf({
      arch: "qwen2vl",
      kv: {
        "qwen2vl.context_length": { value: 128000, type: GGUFValueType.UINT32 },
        "qwen2vl.embedding_length": { value: 3584, type: GGUFValueType.UINT32 },
        "qwen2vl.attention.head_count": { value: 28, type: GGUFValueType.UINT32 },
        "qwen2vl.rope.freq_base": { value: 1000000, type: GGUFValueType.FLOAT32 },
        "qwen2vl.rope.dimension_sections": { value: [16, 24, 24, 0], type: GGUFValueType.ARRAY, subType: GGUFValueType.INT32 },
      },
      tensors: [{ name: "token_embd.weight", shape: [8, 4] }],
    }));
    const g = await patch({ model: gguf, factor: 2, out: join(dir, "x2.gguf") });
    assert.deepEqual([g.mrope?.section, g.mrope?.scaling, g.mrope?.applies, g.mrope?.ignores], [[16, 24, 24], "yarn", ["transformers", "llamacpp", "vllm"], []]);
    assert.equal((await inspect({ model: gguf })).mrope?.scaling, "none");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
