// Issue 15 points 10 and 11: sliding-window layers (where the scaling goes, per layer kind, in config.json and in the
// GGUF keys llama.cpp reads) and "will it fit?" (weights and each engine's KV cache). Fixtures are written from the
// published configs' values (Gemma 3 4B, OLMo 3 7B, Llama 3.1 8B) and GGUF headers shaped like theirs.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGUFValueType } from "@huggingface/gguf";
import { inspect } from "../src/inspect.ts";
import { patch } from "../src/patch.ts";
import { inspectText, patchText } from "../src/report-text.ts";
import { makeGguf, modelKv } from "./support/gguf-make.ts";
import { test } from "./support/harness.ts";
import { sharedPath } from "./support/shared.ts";

const F32 = GGUFValueType.FLOAT32;

// google/gemma-3-4b-it config.json text_config (transformers v4 layout): 34 layers, every 6th full, window 1024,
// sliding layers at rope_local_base_freq 10000, full ones linear ×8 at 1e6.
const gemma3 = {
  architectures: ["Gemma3ForConditionalGeneration"], model_type: "gemma3",
  text_config: {
    model_type: "gemma3_text", hidden_size: 2560, intermediate_size: 10240, num_hidden_layers: 34, num_attention_heads: 8,
    num_key_value_heads: 4, head_dim: 256, max_position_embeddings: 131072, rope_theta: 1000000.0, rope_local_base_freq: 10000.0,
    rope_scaling: { factor: 8.0, rope_type: "linear" }, sliding_window: 1024, sliding_window_pattern: 6, vocab_size: 262208,
  },
  torch_dtype: "bfloat16",
};
// allenai/Olmo-3-7B config.json: 32 layers, 3 sliding (window 4096) then 1 full, YaRN ×8 from 8192 on full layers.
const olmo3 = {
  architectures: ["Olmo3ForCausalLM"], model_type: "olmo3", hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32,
  num_attention_heads: 32, num_key_value_heads: 32, max_position_embeddings: 65536, rope_theta: 500000, sliding_window: 4096,
  layer_types: Array.from({ length: 32 }, (_, i) => (i % 4 === 3 ? "full_attention" : "sliding_attention")), vocab_size: 100278,
  rope_scaling: { attention_factor: 1.2079441541679836, beta_fast: 32, beta_slow: 1, factor: 8.0, original_max_position_embeddings: 8192, rope_type: "yarn" },
  torch_dtype: "bfloat16",
};
// meta-llama/Llama-3.1-8B-Instruct config.json: 8,030,261,248 parameters, 16,060,522,496 bytes of bf16 safetensors.
const llama31 = {
  architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32,
  num_attention_heads: 32, num_key_value_heads: 8, max_position_embeddings: 131072, rope_theta: 500000.0, vocab_size: 128256,
  tie_word_embeddings: false, torch_dtype: "bfloat16",
  rope_scaling: { factor: 8.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: "llama3" },
};

// The GGUF headers convert_hf_to_gguf.py writes for the same models (arch gemma3; OLMo 3 as olmo2 with a sliding window).
const gemma3Gguf = (kv: Parameters<typeof makeGguf>[0]["kv"] = {}) =>
  makeGguf({
    arch: "gemma3",
    kv: {
      ...modelKv("gemma3", {
        context: 131072, embedding: 2560, blocks: 34, heads: 8, headsKv: 4, keyLength: 256, valueLength: 256, slidingWindow: 1024,
        theta: 1000000, scaling: { type: "linear", factor: 8 },
      }),
      ...kv,
    },
    tensors: [{ name: "token_embd.weight", shape: [256, 10] }, { name: "blk.0.attn_q.weight", shape: [64, 32] }],
  });
const olmo3Gguf = (kv: Parameters<typeof makeGguf>[0]["kv"] = {}) =>
  makeGguf({
    arch: "olmo2",
    kv: {
      ...modelKv("olmo2", {
        context: 65536, embedding: 4096, blocks: 32, heads: 32, headsKv: 32, slidingWindow: 4096, theta: 500000,
        scaling: { type: "yarn", factor: 8, originalContext: 8192 },
      }),
      ...kv,
    },
    tensors: [{ name: "token_embd.weight", shape: [128, 16] }],
  });

async function withModels<T>(models: Record<string, object | Uint8Array>, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-layers-"));
  try {
    for (const [name, m] of Object.entries(models)) {
      if (m instanceof Uint8Array) writeFileSync(join(dir, name), m);
      else {
        mkdirSync(join(dir, name));
        writeFileSync(join(dir, name, "config.json"), JSON.stringify(m, null, 2));
      }
    }
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("Gemma 3 (config.json and GGUF): sliding layers keep their own plain RoPE; a YaRN patch reaches only the full-attention layers", async () => {
  await withModels({ gemma3, "gemma3.gguf": gemma3Gguf() }, async (dir) => {
    for (const model of [join(dir, "gemma3"), join(dir, "gemma3.gguf")]) {
      const r = await inspect({ model });
      assert.deepEqual(r.sliding && [r.sliding.layers, r.sliding.of, r.sliding.window, r.sliding.rope, r.sliding.theta, r.sliding.scaling], [29, 34, 1024, "plain", 10000, "none"], model);
      assert.match(inspectText(r), /sliding layers {4}29 of 34 \(window 1024\): their own plain RoPE \(theta 10000\): the scaling reaches only the full-attention layers/);
      const p = await patch({ model, factor: 2, force: true, out: join(dir, `out-${r.format}`) });
      assert.deepEqual(p.sliding && [p.sliding.rope, p.sliding.theta, p.sliding.scaling], ["plain", 10000, "none"], model);
      assert.equal(p.plan.method, "yarn");
      assert.equal(p.engines.llamacpp.agrees, true, model);
    }
    // config.json: YaRN goes into rope_scaling (transformers' global rotary embedding); the local base and pattern stay.
    const text = JSON.parse(readFileSync(join(dir, "out-hf", "config.json"), "utf8")).text_config;
    assert.deepEqual([text.rope_scaling.rope_type, text.rope_local_base_freq, text.sliding_window_pattern], ["yarn", 10000, 6]);
    // GGUF: only the keys llama.cpp applies to the full layers change; nothing per sliding layer is written.
    const g = await inspect({ model: join(dir, "out-gguf") });
    const keys = Object.keys(g.details?.["keys"] as object);
    assert.ok(!keys.some((k) => /swa/.test(k)), keys.join(", "));
    assert.deepEqual([g.rope.method, g.sliding?.theta, g.sliding?.scaling], ["yarn", 10000, "none"]);
  });
});

test("OLMo 3 (config.json and olmo2 GGUF): sliding layers unscaled at the model's base; llama.cpp's rope.freq_base_swa is read when present", async () => {
  await withModels({ olmo3, "olmo3.gguf": olmo3Gguf(), "swa.gguf": olmo3Gguf({ "olmo2.rope.freq_base_swa": { value: 10000, type: F32 } }) }, async (dir) => {
    for (const model of [join(dir, "olmo3"), join(dir, "olmo3.gguf")]) {
      const r = await inspect({ model });
      assert.deepEqual(r.sliding && [r.sliding.layers, r.sliding.of, r.sliding.window, r.sliding.rope, r.sliding.theta, r.sliding.scaling], [24, 32, 4096, "plain", 500000, "none"], model);
      assert.equal(r.rope.method, "yarn");
      const p = await patch({ model, factor: 16, force: true, out: join(dir, `x16-${r.format}`) });
      assert.deepEqual(p.sliding && [p.sliding.rope, p.sliding.scaling], ["plain", "none"], model);
      // NTK is a new base: both engines rotate the sliding layers with it too (transformers' sliding rotary embedding
      // reads rope_theta; llama.cpp's rope_freq_base_train_swa defaults to rope.freq_base).
      const ntk = await patch({ model, factor: 16, force: true, method: "ntk", out: join(dir, `ntk-${r.format}`) });
      assert.equal(ntk.sliding?.theta, ntk.plan.theta, model);
    }
    const swa = await inspect({ model: join(dir, "swa.gguf") });
    assert.equal(swa.sliding?.theta, 10000);
  });
});

test("fit: weights and each engine's KV cache from config.json (estimate, index total_size, safetensors headers) and from a GGUF header", async () => {
  const index = { metadata: { total_size: 16060522496 }, weight_map: {} };
  await withModels({ llama31, indexed: llama31, "gemma3.gguf": gemma3Gguf() }, async (dir) => {
    writeFileSync(join(dir, "indexed", "model.safetensors.index.json"), JSON.stringify(index));
    const r = await inspect({ model: join(dir, "llama31") });
    // Parameters counted from the shapes equal the published count; bf16 → 2 bytes each.
    assert.deepEqual([r.fit?.weights?.source, r.fit?.weights?.bytes], ["estimate", 8030261248 * 2]);
    // layers × KV heads × head dim × 2 (K and V) × context × bytes, the same for every engine without sliding layers.
    const kv = 32 * 8 * 128 * 2 * 131072;
    assert.deepEqual(r.fit?.kvCache.map((k) => [k.engine, k.f16, k.q8_0, k.slidingTokens]), ["transformers", "llamacpp", "vllm", "mlx"].map((e) => [e, kv * 2, (kv * 34) / 32, null]));
    assert.match(inspectText(r), /weights {11}15 GiB \(estimate from config\.json's shapes: 8\.03B parameters/);
    assert.match(inspectText(r), /KV cache @131072 {2}16 GiB f16, 8\.5 GiB q8_0: transformers, llama\.cpp, vLLM, mlx-lm/);
    const indexed = await inspect({ model: join(dir, "indexed") });
    assert.deepEqual([indexed.fit?.weights?.source, indexed.fit?.weights?.bytes], ["safetensors", 16060522496]);
    const tiny = await inspect({ model: sharedPath("models/tiny-llama-py") });
    assert.deepEqual([tiny.fit?.weights?.source, tiny.fit?.weights?.bytes], ["safetensors", 6819072 * 2]);
    // patch sizes the cache for the new context.
    const p = await patch({ model: join(dir, "llama31"), factor: 32, force: true, dryRun: true, out: join(dir, "x32") });
    assert.equal(p.fit?.context, 262144);
    assert.equal(p.fit?.kvCache[0].f16, 2 * kv * 2);
    assert.match(patchText(p), /KV cache @262144 {2}32 GiB f16/);
    // GGUF: tensor sizes from the header; sliding layers capped where each engine caps them.
    const g = await inspect({ model: join(dir, "gemma3.gguf") });
    assert.deepEqual([g.fit?.weights?.source, g.fit?.weights?.bytes], ["gguf", (256 * 10 + 64 * 32) * 4]);
    const perToken = 4 * (256 + 256) * 2; // KV heads × (key + value dims) × f16 bytes, per layer
    const caps = { transformers: 1023, llamacpp: 1536, vllm: 1023 + 8192 };
    for (const row of g.fit?.kvCache ?? []) {
      const sliding = caps[row.engine as keyof typeof caps];
      assert.equal(row.slidingTokens, sliding, row.engine);
      assert.equal(row.f16, (5 * 131072 + 29 * sliding) * perToken, row.engine);
    }
    assert.deepEqual(g.fit?.kvCache.map((k) => k.engine), ["transformers", "llamacpp", "vllm"]);
  });
});
