// The family quirks table (src/core/rope/family-quirks.ts): every entry has a public source and a test here.
import assert from "node:assert/strict";
import { FAMILY_QUIRKS, hfRopeTypeRefusal, quirksFor, trainedContextQuirk } from "../src/core/rope/family-quirks.ts";
import { plan } from "../src/core/plan.ts";
import { fromObject } from "./support/hf-fixtures.ts";
import { test } from "./support/harness.ts";

// Qwen/Qwen3-8B config.json (v4 layout as published): 40960 declared, no scaling.
export const qwen3 = {
  architectures: ["Qwen3ForCausalLM"], model_type: "qwen3", hidden_size: 4096, num_attention_heads: 32, num_key_value_heads: 8,
  head_dim: 128, max_position_embeddings: 40960, rope_theta: 1000000, rope_scaling: null,
};

test("quirks table: every entry has an id, a public https source and matches its own families", () => {
  const ids = new Set<string>();
  for (const q of FAMILY_QUIRKS) {
    assert.ok(!ids.has(q.id), q.id);
    ids.add(q.id);
    assert.match(q.source, /^https:\/\/(huggingface\.co|github\.com)\//, q.id);
    assert.ok(q.summary.length > 20, q.id);
  }
  assert.deepEqual(quirksFor("qwen3").map((q) => q.id), ["qwen3-trained-32k"]);
  assert.deepEqual(quirksFor("qwen3_moe").map((q) => q.id), ["qwen3-trained-32k"]);
  assert.deepEqual(quirksFor("qwen3moe").map((q) => q.id), ["qwen3-trained-32k"]); // GGUF architecture
  assert.deepEqual(quirksFor("qwen2").map((q) => q.id), []);
  assert.deepEqual(quirksFor(undefined), []);
});

test("quirk qwen3-trained-32k: Qwen3 plans from 32768 by default and says so; --original-context overrides", () => {
  const cfg = fromObject(qwen3);
  const p = plan(cfg.spec, { factor: 4 }, { family: cfg.stored.architecture });
  assert.deepEqual([p.originalContext, p.context, p.previousContext], [32768, 131072, 40960]);
  assert.equal(p.scaling.originalContext, 32768);
  assert.ok(p.warnings.some((w) => /original context 32768, not the declared 40960: Qwen3.*huggingface\.co\/Qwen\/Qwen3-8B.*--original-context overrides/.test(w)), p.warnings.join("\n"));
  const own = plan(cfg.spec, { factor: 4, originalContext: 40960 }, { family: "qwen3" });
  assert.deepEqual([own.originalContext, own.context], [40960, 163840]);
  // Qwen3-2507 (262144 declared and trained) is left alone; so is a Qwen3 file that already says its original.
  assert.equal(trainedContextQuirk("qwen3_moe", 262144), undefined);
  const withBlock = fromObject({ ...qwen3, rope_scaling: { rope_type: "yarn", factor: 4.0, original_max_position_embeddings: 32768 } });
  assert.equal(plan(withBlock.spec, { factor: 8, force: true }, { family: "qwen3" }).originalContext, 32768);
});

test("quirks phi3-longrope-only / phimoe-longrope-only: only default and longrope load in transformers", () => {
  assert.equal(hfRopeTypeRefusal("phi3", "longrope"), null);
  assert.equal(hfRopeTypeRefusal("phi3", "default"), null);
  assert.match(hfRopeTypeRefusal("phi3", "yarn") ?? "", /renames rope_type "yarn" to "longrope".*configuration_phi3\.py/);
  assert.match(hfRopeTypeRefusal("phimoe", "linear") ?? "", /short_mscale/);
  assert.equal(hfRopeTypeRefusal("llama", "yarn"), null);
});

test("a model card's YaRN block on Qwen3 (factor 4, original 32768, max 40960): inspect warns as transformers does", () => {
  const cfg = fromObject({ ...qwen3, rope_scaling: { rope_type: "yarn", factor: 4.0, original_max_position_embeddings: 32768 } });
  const w = cfg.warnings.find((x) => x.startsWith("YaRN factor 4 disagrees"));
  assert.ok(w, cfg.warnings.join("\n"));
  assert.match(w, /40960 \/ 32768 = 1\.25/);
  assert.match(w, /serve 40960 tokens, not 131072/);
  // A consistent block (max raised to 131072), or one that leaves max at the original, is silent.
  assert.ok(!fromObject({ ...qwen3, max_position_embeddings: 131072, rope_scaling: { rope_type: "yarn", factor: 4.0, original_max_position_embeddings: 32768 } }).warnings.some((x) => x.includes("disagrees")));
  assert.ok(!fromObject({ ...qwen3, max_position_embeddings: 32768, rope_scaling: { rope_type: "yarn", factor: 4.0, original_max_position_embeddings: 32768 } }).warnings.some((x) => x.includes("disagrees")));
});
