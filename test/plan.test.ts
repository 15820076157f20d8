import assert from "node:assert/strict";
import { PlanError } from "../src/core/errors.ts";
import { plan } from "../src/core/plan.ts";
import { statedTrainedContext, trainedContext } from "../src/core/rope/trained-context.ts";
import type { RopeSpec } from "../src/core/rope/types.ts";
import { test } from "./support/harness.ts";

const qwen: RopeSpec = { theta: 1e6, headDim: 128, rotaryDim: 128, context: 32768, originalContext: 32768, scaling: { method: "none" } };

test("factor and context give the same plan", () => {
  const a = plan(qwen, { factor: 4 });
  const b = plan(qwen, { context: 131072 });
  assert.equal(a.context, 131072);
  assert.equal(b.factor, 4);
  assert.deepEqual(a.invFreq, b.invFreq);
  assert.equal(a.attentionFactor, 0.1 * Math.log(4) + 1);
  assert.deepEqual(a.scaling, { method: "yarn", factor: 4, originalContext: 32768, betaFast: 32, betaSlow: 1 });
});

test("YaRN bands: extrapolated below low, interpolated from high, the trained range kept", () => {
  const p = plan(qwen, { factor: 4 });
  assert.deepEqual([p.correction!.low, p.correction!.high], [23, 40]);
  assert.deepEqual(p.bands, { extrapolated: [0, 24], ramped: [24, 40], interpolated: [40, 64] });
  // Interpolated pairs are the plain frequencies divided by the factor; extrapolated ones are unchanged.
  const plain = plan(qwen, { factor: 4, method: "linear" }).invFreq.map((x) => x * 4);
  assert.equal(p.invFreq[0], 1);
  assert.ok(Math.abs(p.invFreq[63] - plain[63] / 4) <= 1e-12);
});

test("linear, NTK-aware and dynamic plans", () => {
  const lin = plan(qwen, { factor: 2, method: "linear" });
  assert.equal(lin.attentionFactor, 1);
  assert.equal(lin.scaling.method, "linear");
  const ntk = plan(qwen, { factor: 4, method: "ntk" });
  assert.ok(Math.abs(ntk.theta - 1e6 * 4 ** (128 / 126)) < 1e-3);
  assert.equal(ntk.scaling.method, "none");
  const dyn = plan(qwen, { factor: 4, method: "dynamic" });
  assert.deepEqual(dyn.scaling, { method: "dynamic", factor: 4 });
});

test("bad targets are refused with a PlanError", () => {
  const bad: [object, RegExp][] = [
    [{ factor: 1 }, /greater than 1/],
    [{ factor: 0.5 }, /greater than 1/],
    [{ factor: Number.NaN }, /must be a number/],
    [{ factor: "four" }, /must be a number/],
    [{ context: 32768 }, /not above the original/],
    [{ context: 1000.5 }, /whole number/],
    [{}, /factor or a target context/],
    [{ factor: 2, context: 65536 }, /not both/],
    [{ factor: 2, betaFast: 1, betaSlow: 1 }, /beta_fast/],
    [{ factor: 2, method: "magic" }, /unknown method/],
  ];
  for (const [target, re] of bad) {
    assert.throws(() => plan(qwen, target), (e: unknown) => e instanceof PlanError && re.test((e as Error).message), JSON.stringify(target));
  }
});

test("existing scaling needs force; force re-plans from the original context and keeps mscale", () => {
  const ds: RopeSpec = {
    theta: 1e4, headDim: 192, rotaryDim: 64, context: 163840, originalContext: 4096,
    scaling: { method: "yarn", factor: 40, originalContext: 4096, mscale: 1, mscaleAllDim: 1, betaFast: 32, betaSlow: 1 },
  };
  assert.throws(() => plan(ds, { factor: 64 }), /already has yarn scaling/);
  const p = plan(ds, { factor: 64, force: true });
  assert.equal(p.originalContext, 4096);
  assert.equal(p.context, 262144);
  assert.equal(p.scaling.mscale, 1);
  assert.equal(p.attentionFactor, 1);
});

test("an explicit original context overrides the declared one (Qwen3 declares 40960, trained 32768)", () => {
  const q3: RopeSpec = { ...qwen, context: 40960, originalContext: 40960 };
  const p = plan(q3, { factor: 4, originalContext: 32768 });
  assert.equal(p.context, 131072);
  assert.equal(p.scaling.originalContext, 32768);
});

test("dynamic NTK keeps max_position_embeddings at the original context, so the scaling engages past it", () => {
  const p = plan(qwen, { factor: 4, method: "dynamic" });
  assert.equal(p.context, 131072);
  assert.ok(p.warnings.some((w) => w.includes("max_position_embeddings")));
  // The planned frequencies are those at the target length: not the plain ones.
  const plain = plan(qwen, { factor: 4, method: "linear" }).invFreq.map((x) => x * 4);
  assert.ok(p.invFreq[63] < plain[63] * 0.5);
});

test("trained context: the scaling's original, then the spec's, then the declared context (unknown warns)", () => {
  const scaled: RopeSpec = { ...qwen, context: 131072, originalContext: 40960, scaling: { method: "yarn", factor: 4, originalContext: 32768 } };
  assert.equal(trainedContext(scaled), 32768);
  assert.equal(trainedContext({ ...scaled, scaling: { method: "none" } }), 40960);
  const bare: RopeSpec = { ...qwen, originalContext: undefined };
  assert.equal(statedTrainedContext(bare), undefined);
  assert.equal(trainedContext(bare), 32768);
  assert.ok(plan(bare, { factor: 2 }).warnings.some((w) => w.startsWith("original context unknown")));
  assert.deepEqual(plan(bare, { factor: 4, originalContext: 16384 }).warnings, []);
});
