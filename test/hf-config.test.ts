// config.json in every layout: read into the right RopeSpec, written back in the same layout with nothing else
// changed.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { interpretHfConfig, patchedConfigText, readHfConfig } from "../converters/hf/index.ts";
import { parseJsonText, stringifyJsonText } from "../src/core/hf-config/json-text.ts";
import { plan } from "../src/core/plan.ts";
import { test } from "./support/harness.ts";
import { sharedPath } from "./support/shared.ts";
import { repoRoot } from "./support/cli-run.ts";

const fromObject = (obj: unknown) => interpretHfConfig("config.json", parseJsonText(JSON.stringify(obj, null, 2)));

test("JSON text round-trips byte for byte, keeping 10000.0 and 1e-05", () => {
  for (const f of [sharedPath("models/tiny-llama-py/config.json"), join(repoRoot, "examples/deepseek-v3/config.json")]) {
    const text = readFileSync(f, "utf8");
    const p = parseJsonText(text);
    assert.equal(stringifyJsonText(p.value, { literals: p.literals, trailingNewline: p.trailingNewline }), text);
  }
});

test("reads the tiny model's v5 rope_parameters", () => {
  const c = readHfConfig(sharedPath("models/tiny-llama-py"));
  assert.equal(c.layout, "rope_parameters");
  assert.deepEqual([c.spec.theta, c.spec.headDim, c.spec.rotaryDim, c.spec.context], [10000, 64, 64, 256]);
  assert.equal(c.spec.scaling.method, "none");
});

test("v4 rope_scaling with type or rope_type", () => {
  const withType = fromObject({ hidden_size: 4096, num_attention_heads: 32, max_position_embeddings: 131072, rope_theta: 1e6, rope_scaling: { type: "yarn", factor: 4.0, original_max_position_embeddings: 32768 } });
  assert.equal(withType.layout, "rope_scaling");
  assert.equal(withType.spec.scaling.method, "yarn");
  assert.equal(withType.spec.headDim, 128);
  const withRopeType = fromObject({ head_dim: 64, hidden_size: 4096, num_attention_heads: 32, max_position_embeddings: 8192, rope_theta: 1e4, rope_scaling: { rope_type: "linear", type: "yarn", factor: 2.0 } });
  assert.equal(withRopeType.spec.scaling.method, "linear", "rope_type wins over type");
  assert.equal(withRopeType.spec.headDim, 64, "head_dim wins over hidden_size / heads");
});

test("per-layer-type rope_parameters, text_config nesting, partial rotary, DeepSeek's qk_rope_head_dim", () => {
  const gemma = fromObject({
    text_config: {
      head_dim: 256, hidden_size: 2560, num_attention_heads: 8, max_position_embeddings: 131072,
      layer_types: ["sliding_attention", "full_attention"],
      rope_parameters: { sliding_attention: { rope_type: "default", rope_theta: 10000.0 }, full_attention: { rope_type: "linear", factor: 8.0, rope_theta: 1000000.0 } },
    },
  });
  assert.equal(gemma.nesting, "text_config");
  assert.equal(gemma.perLayerType, true);
  assert.equal(gemma.spec.theta, 1e6);
  assert.equal(gemma.spec.scaling.method, "linear");
  const partial = fromObject({ hidden_size: 2560, num_attention_heads: 32, max_position_embeddings: 2048, rope_theta: 10000.0, partial_rotary_factor: 0.4 });
  assert.equal(partial.spec.rotaryDim, 32);
  const ds = readHfConfig(join(repoRoot, "examples/deepseek-v3"));
  assert.deepEqual([ds.spec.headDim, ds.spec.rotaryDim], [192, 64]);
});

test("writes YaRN in the file's own layout; v4 gets type too; other keys untouched", () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-hf-"));
  const v4 = readFileSync(join(repoRoot, "examples/qwen2.5-7b-instruct/config.json"), "utf8");
  writeFileSync(join(dir, "config.json"), v4);
  const cfg = readHfConfig(dir);
  const text = patchedConfigText(cfg, plan(cfg.spec, { factor: 4 }));
  const out = JSON.parse(text);
  assert.deepEqual(out.rope_scaling, { type: "yarn", rope_type: "yarn", factor: 4, original_max_position_embeddings: 32768, beta_fast: 32, beta_slow: 1 });
  assert.match(text, /"factor": 4\.0,/);
  assert.equal(out.max_position_embeddings, 131072);
  const before = v4.split("\n").filter((l) => !/max_position_embeddings/.test(l));
  const after = text.split("\n").map((l) => l.replace(/,$/, ""));
  for (const line of before) assert.ok(after.includes(line.replace(/,$/, "")), `line kept: ${line}`);
  // Key order is kept: rope_scaling is appended where the file had none.
  assert.deepEqual(Object.keys(out).slice(0, -1), Object.keys(JSON.parse(v4)));
  const reread = fromObject(out);
  assert.equal(reread.spec.scaling.factor, 4);
});

test("a v5 file stays v5 (rope_theta kept inside rope_parameters)", () => {
  const cfg = readHfConfig(sharedPath("models/tiny-llama-py"));
  const out = JSON.parse(patchedConfigText(cfg, plan(cfg.spec, { factor: 4 })));
  assert.equal(out.rope_scaling, undefined);
  assert.deepEqual(out.rope_parameters, { rope_theta: 10000, rope_type: "yarn", factor: 4, original_max_position_embeddings: 256, beta_fast: 32, beta_slow: 1 });
});

test("per-layer-type files get YaRN in full_attention only", () => {
  const p = parseJsonText(JSON.stringify({ head_dim: 128, hidden_size: 4096, num_attention_heads: 32, max_position_embeddings: 32768, layer_types: ["sliding_attention", "full_attention"], rope_parameters: { sliding_attention: { rope_type: "default", rope_theta: 10000.0 }, full_attention: { rope_type: "default", rope_theta: 1000000.0 } } }, null, 2));
  const cfg = interpretHfConfig("config.json", p);
  const out = JSON.parse(patchedConfigText(cfg, plan(cfg.spec, { factor: 2 })));
  assert.deepEqual(out.rope_parameters.sliding_attention, { rope_type: "default", rope_theta: 10000 });
  assert.equal(out.rope_parameters.full_attention.rope_type, "yarn");
  assert.equal(out.rope_parameters.full_attention.rope_theta, 1e6);
});

test("--force replaces an existing scaling's keys (no stale llama3 keys left)", () => {
  const cfg = readHfConfig(join(repoRoot, "examples/llama-3.1-8b"));
  const out = JSON.parse(patchedConfigText(cfg, plan(cfg.spec, { factor: 16, force: true, allowShrink: true })));
  assert.deepEqual(out.rope_scaling, { type: "yarn", rope_type: "yarn", factor: 16, original_max_position_embeddings: 8192, beta_fast: 32, beta_slow: 1 });
  assert.equal(out.max_position_embeddings, 131072);
});

test("a dynamic NTK patch writes rope_type dynamic and keeps max_position_embeddings", () => {
  const cfg = readHfConfig(join(repoRoot, "examples/qwen2.5-7b-instruct"));
  const out = JSON.parse(patchedConfigText(cfg, plan(cfg.spec, { factor: 4, method: "dynamic" })));
  assert.deepEqual(out.rope_scaling, { type: "dynamic", rope_type: "dynamic", factor: 4 });
  assert.equal(out.max_position_embeddings, 32768);
});
