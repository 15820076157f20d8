// How each family's config.json becomes the forward pass's layers, as transformers builds its masks and RoPE: the
// window rules (Mistral on every layer, Qwen from max_window_layers, Gemma's pattern or layer_types), Gemma's local
// base and softmax scale, Phi-3's partial rotary.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readHfShape } from "../src/eval/model/hf-shape.ts";
import { defaultInvFreq } from "../src/core/rope/default.ts";
import { trainedContext } from "../src/core/rope/trained-context.ts";
import { test } from "./support/harness.ts";
import { FIXTURES, type FixtureName } from "./support/family-fixtures.ts";

function readWith(name: FixtureName, changes: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-shape-"));
  try {
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...FIXTURES[name].config, ...changes }));
    return readHfShape(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const shapeOf = (name: FixtureName, changes: Record<string, unknown>) => readWith(name, changes).shape;

const windows = (s: ReturnType<typeof shapeOf>) => s.layers.map((l) => `${l.rope[0]}${l.window}`).join(" ");

test("window rules: Mistral and Phi-3 slide every layer, Qwen from max_window_layers when use_sliding_window, none for Llama", () => {
  assert.equal(windows(shapeOf("mistral", { sliding_window: 64 })), "g64 g64");
  assert.equal(windows(shapeOf("mistral", { sliding_window: null })), "g0 g0");
  assert.equal(windows(shapeOf("phi3", { sliding_window: 2047 })), "g2047 g2047");
  assert.equal(windows(shapeOf("qwen2", { use_sliding_window: true, sliding_window: 32, max_window_layers: 1 })), "g0 g32");
  assert.equal(windows(shapeOf("qwen2", { use_sliding_window: false, sliding_window: 32, max_window_layers: 0 })), "g0 g0");
  assert.equal(windows(shapeOf("qwen3", { layer_types: ["full_attention", "sliding_attention"], sliding_window: 16 })), "g0 g16");
  assert.equal(windows(shapeOf("llama", { sliding_window: 64 })), "g0 g0");
});

test("Gemma 3: sliding layers rotate with the local base, the 6th of each 6 is global; query_pre_attn_scalar sets the scale", () => {
  const noTypes = shapeOf("gemma3", { layer_types: undefined, sliding_window_pattern: 3 });
  assert.equal(windows(noTypes), "l64 l64 g0 l64 l64 g0");
  const s = shapeOf("gemma3", { query_pre_attn_scalar: 144 });
  assert.equal(windows(s), "l64 l64 l64 l64 l64 g0");
  assert.equal(s.attentionScale, Math.fround(1 / 12));
  assert.equal(s.embedScale, Math.fround(8));
  assert.deepEqual(s.localRope?.invFreq, defaultInvFreq(32, 1e3));
  assert.throws(() => shapeOf("gemma3", { final_logit_softcapping: 30 }), /final_logit_softcapping is set: logit soft-capping is not supported/);
  assert.throws(() => shapeOf("gemma3", { hidden_activation: "gelu" }), /gemma3: hidden activation gelu is not supported \(gelu_pytorch_tanh\)/);
});

test("Phi-3: partial rotary from partial_rotary_factor, longrope over the top-level original context", () => {
  const { shape, rope } = readWith("phi3", {});
  assert.deepEqual([shape.headDim, shape.rotaryDim], [32, 16]);
  assert.deepEqual([rope.spec.scaling.method, trainedContext(rope.spec), rope.spec.context], ["longrope", 256, 512]);
});
