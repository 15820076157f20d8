// The three rotary export styles, built small, patched, and run in ONNX Runtime before and after:
// cos/sin (or rotated vectors) beyond the original context must equal the plan's float64 reference.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspectOnnx, patchOnnx, verifyOnnx } from "../converters/onnx/index.ts";
import { readLayout } from "../converters/onnx/layout.ts";
import { halfToNumber, numberToHalf, readTensorValues } from "../converters/onnx/tensor.ts";
import { FileSource } from "../converters/onnx/wire.ts";
import { plan } from "../src/core/plan.ts";
import { computeRope } from "../src/core/rope/compute.ts";
import type { RopeSpec } from "../src/core/rope/types.ts";
import { test } from "./support/harness.ts";
import {
  BFLOAT16,
  FLOAT,
  FLOAT16,
  externalise,
  int64Tensor,
  intAttr,
  invFreqGraphNodes,
  maxAbsDiff,
  node,
  plainInvFreq,
  referenceRow,
  rotate,
  tempDir,
  tensor,
  tensorAttr,
  valueInfo,
  writeModel,
} from "./support/onnx-fixtures.ts";
import * as ort from "onnxruntime-node";
import { positions, runOrt } from "./support/onnx-ort.ts";

const THETA = 10000;
const DIM = 64;
const CONTEXT = 256;
const spec: RopeSpec = { theta: THETA, headDim: DIM, rotaryDim: DIM, context: CONTEXT, originalContext: CONTEXT, scaling: { method: "none" } };
const yarn4 = plan(spec, { factor: 4 });
const PROBE = [0, 1, 100, 255, 256, 700, 1023];

function writeConfig(dir: string): void {
  writeFileSync(join(dir, "config.json"), JSON.stringify({ max_position_embeddings: CONTEXT, head_dim: DIM, rope_theta: THETA }));
}

/** Max |ORT − reference| over the probe positions for the cos and sin outputs. */
function trigError(out: Record<string, ArrayLike<number>>, invFreq: number[], af: number, cosName = "cos", sinName = "sin"): number {
  let err = 0;
  PROBE.forEach((p, i) => {
    const ref = referenceRow(invFreq, af, p);
    err = Math.max(err, maxAbsDiff(Array.from(out[cosName]).slice(i * DIM, (i + 1) * DIM), ref.cos));
    err = Math.max(err, maxAbsDiff(Array.from(out[sinName]).slice(i * DIM, (i + 1) * DIM), ref.sin));
  });
  return err;
}

const trigOutputs = [valueInfo("cos", FLOAT, [1, "seq", DIM]), valueInfo("sin", FLOAT, [1, "seq", DIM])];
const posInput = [valueInfo("position_ids", 7, [1, "seq"])];

test("onnx inv_freq graph: found by value, patched, ORT cos/sin equal the YaRN reference", async () => {
  const dir = tempDir("invfreq");
  writeConfig(dir);
  const model = join(dir, "model.onnx");
  writeModel({
    path: model,
    nodes: invFreqGraphNodes({ inv: "some_constant_7" }),
    initializers: [tensor("some_constant_7", [1, DIM / 2, 1], FLOAT, plainInvFreq(THETA, DIM)), int64Tensor("axes_1", [1])],
    inputs: posInput,
    outputs: trigOutputs,
  });
  const info = inspectOnnx(model);
  assert.equal(info.found.style, "inv-freq");
  assert.deepEqual([info.spec.theta, info.spec.rotaryDim, info.spec.context], [THETA, DIM, CONTEXT]);
  assert.deepEqual(info.found.tensors.map((t) => t.name), ["some_constant_7"]);

  const before = await runOrt(model, { position_ids: positions(PROBE) });
  assert.ok(trigError(before, plainInvFreq(THETA, DIM), 1) < 1e-4);

  const res = patchOnnx({ source: model, plan: yarn4, out: `${dir}-out` });
  const after = await runOrt(res.model, { position_ids: positions(PROBE) });
  assert.ok(yarn4.attentionFactor > 1.1);
  const err = trigError(after, yarn4.invFreq, yarn4.attentionFactor);
  assert.ok(err < 2e-4, `max error ${err}`);
  assert.ok(trigError(after, plainInvFreq(THETA, DIM), 1) > 0.1, "patched output must differ from plain RoPE");
  // The config.json beside the model went through the HF converter.
  const config = JSON.parse(readFileSync(join(`${dir}-out`, "config.json"), "utf8"));
  assert.equal(config.max_position_embeddings, 4 * CONTEXT);
  assert.equal((config.rope_scaling ?? config.rope_parameters).rope_type, "yarn");
  assert.match(res.diff, /max_position_embeddings/);

  // The patched model says what it is, and can be inspected again.
  const again = inspectOnnx(res.model);
  assert.equal(again.spec.scaling.method, "yarn");
  assert.equal(again.spec.context, 4 * CONTEXT);
  assert.equal(again.spec.originalContext, CONTEXT);
  assert.ok(Math.abs(again.found.attentionFactor - yarn4.attentionFactor) < 1e-6);
  // The validate check reads the values back: right for this plan, wrong for another.
  assert.equal(verifyOnnx({ model: res.model, ...yarn4 }).status, "pass");
  const other = verifyOnnx({ model: res.model, ...plan(spec, { factor: 2 }) });
  assert.equal(other.status, "fail");
  assert.match(other.detail, /inv_freq off by .*attention factor/);
}, { timeoutMs: 60_000 });

test("onnx inv_freq graph with external data and a shared scale constant: data file kept, factor updated", async () => {
  const dir = tempDir("invext");
  writeConfig(dir);
  const model = join(dir, "model.onnx");
  const inv = tensor("inv", [1, DIM / 2, 1], FLOAT, plainInvFreq(THETA, DIM));
  const bias = tensor("bias", [DIM], FLOAT, Array.from({ length: DIM }, (_, i) => i / 7));
  const data = new Uint8Array(4096 + 256);
  data.set(externalise(bias, "weights.bin", 0), 0);
  data.set(externalise(inv, "weights.bin", 4096), 4096);
  writeFileSync(join(dir, "weights.bin"), data);
  const nodes = invFreqGraphNodes({ inv: "inv", cosName: "cos0", sinName: "sin0" });
  // A scalar 1.0 shared by the attention-scale Muls and an unrelated Mul on the bias.
  nodes.push(
    node("Mul", ["cos0", "one"], ["cos"]),
    node("Mul", ["sin0", "one"], ["sin"]),
    node("Mul", ["bias", "one"], ["bias1"]),
  );
  writeModel({
    path: model,
    nodes,
    initializers: [inv, bias, tensor("one", [], FLOAT, [1]), int64Tensor("axes_1", [1])],
    inputs: posInput,
    outputs: [...trigOutputs, valueInfo("bias1", FLOAT, [DIM])],
  });
  const info = inspectOnnx(model);
  assert.equal(info.found.tensors[0].external, "weights.bin");
  const res = patchOnnx({ source: model, plan: yarn4, out: `${dir}-out` });
  assert.deepEqual(res.externalData, ["weights.bin"]);
  assert.deepEqual(readFileSync(join(`${dir}-out`, "weights.bin")), readFileSync(join(dir, "weights.bin")));
  const after = await runOrt(res.model, { position_ids: positions(PROBE) });
  assert.ok(trigError(after, yarn4.invFreq, yarn4.attentionFactor) < 2e-4);
  assert.deepEqual(Array.from(after.bias1), Array.from(Float32Array.from({ length: DIM }, (_, i) => i / 7)));
}, { timeoutMs: 60_000 });

test("onnx inv_freq as a float16 Constant node cast to float32: CastLike + Mul inserted, ORT agrees", async () => {
  const dir = tempDir("invf16");
  writeConfig(dir);
  const model = join(dir, "model.onnx");
  const nodes = [
    node("Constant", [], ["invc"], { attribute: [tensorAttr("value", tensor("", [DIM / 2], FLOAT16, plainInvFreq(THETA, DIM)))] }),
    node("Unsqueeze", ["invc", "axes_0"], ["inv3"]),
    node("Unsqueeze", ["inv3", "axes_2"], ["inv4"]),
    ...invFreqGraphNodes({ inv: "inv4", extraCastTo: FLOAT }),
  ];
  writeModel({
    path: model,
    nodes,
    initializers: [int64Tensor("axes_0", [0]), int64Tensor("axes_1", [1]), int64Tensor("axes_2", [2])],
    inputs: posInput,
    outputs: trigOutputs,
  });
  const info = inspectOnnx(model);
  assert.equal(info.found.tensors[0].kind, "constant");
  assert.equal(info.found.tensors[0].dtype, "float16");
  assert.equal(info.spec.theta, THETA);
  const res = patchOnnx({ source: model, plan: yarn4, out: `${dir}-out` });
  const after = await runOrt(res.model, { position_ids: positions(PROBE) });
  const stored = yarn4.invFreq.map((v) => halfToNumber(numberToHalf(v)));
  // f16 storage of inv_freq: compare with the reference of the stored values (the cast is exact in f32).
  assert.ok(trigError(after, stored, yarn4.attentionFactor) < 2e-4);
  assert.ok(trigError(after, yarn4.invFreq, yarn4.attentionFactor) < 0.6, "within the f16 rounding of inv_freq");
}, { timeoutMs: 60_000 });

// ---- cache styles ----

function cacheRows(invFreq: number[], af: number, rows: number): { cos: number[]; sin: number[] } {
  const cos: number[] = [];
  const sin: number[] = [];
  for (let p = 0; p < rows; p++) {
    const r = referenceRow(invFreq, af, p);
    cos.push(...r.cos.slice(0, DIM / 2));
    sin.push(...r.sin.slice(0, DIM / 2));
  }
  return { cos, sin };
}

const X = Array.from({ length: PROBE.length * DIM }, (_, i) => Math.sin(i * 0.37) + 0.5);

function rotatedReference(invFreq: number[], af: number): number[] {
  return PROBE.flatMap((p, i) => {
    const r = referenceRow(invFreq, af, p);
    return rotate(X.slice(i * DIM, (i + 1) * DIM), r.cos.slice(0, DIM / 2), r.sin.slice(0, DIM / 2));
  });
}

function cacheModel(p: { dir: string; standard: boolean; dataType: number; genai?: boolean }): string {
  const model = join(p.dir, "model.onnx");
  const { cos, sin } = cacheRows(plainInvFreq(THETA, DIM), 1, CONTEXT);
  const inits = [tensor("c_cache_a", [CONTEXT, DIM / 2], p.dataType, cos), tensor("s_cache_b", [CONTEXT, DIM / 2], p.dataType, sin)];
  // Inputs and outputs stay float32 with Casts around a float16 rotary: onnxruntime-node cannot pass float16
  // tensors on runtimes that have a Float16Array (Bun, Deno).
  const half = p.dataType !== FLOAT;
  const xIn = half ? "x16" : "x";
  const yOut = half ? "y16" : "y";
  const rotary = p.standard
    ? node("RotaryEmbedding", [xIn, "c_cache_a", "s_cache_b", "position_ids"], [yOut], { attribute: [intAttr("interleaved", 0)] })
    : node("RotaryEmbedding", [xIn, "position_ids", "c_cache_a", "s_cache_b"], [yOut], { domain: "com.microsoft", attribute: [intAttr("interleaved", 0)] });
  const nodes = half
    ? [node("Cast", ["x"], ["x16"], { attribute: [intAttr("to", p.dataType)] }), rotary, node("Cast", ["y16"], ["y"], { attribute: [intAttr("to", FLOAT)] })]
    : [rotary];
  const xShape = p.standard ? [1, 1, "seq", DIM] : [1, "seq", DIM];
  writeModel({
    path: model,
    nodes,
    initializers: inits,
    inputs: [valueInfo("x", FLOAT, xShape), ...posInput],
    outputs: [valueInfo("y", FLOAT, xShape)],
    opset: p.standard ? 23 : 18,
    msOpset: !p.standard,
  });
  if (p.genai) {
    writeFileSync(join(p.dir, "genai_config.json"), JSON.stringify({ model: { context_length: CONTEXT, decoder: { head_size: DIM } }, search: { max_length: CONTEXT } }));
  }
  return model;
}

async function runRotary(model: string, standard: boolean) {
  const dims = standard ? [1, 1, PROBE.length, DIM] : [1, PROBE.length, DIM];
  return (await runOrt(model, { x: { type: "float32", data: X, dims }, position_ids: positions(PROBE) })).y;
}

for (const [label, standard, dataType, tol] of [
  ["com.microsoft.RotaryEmbedding float32 (ORT GenAI)", false, FLOAT, 2e-4],
  ["com.microsoft.RotaryEmbedding float16 (ORT GenAI)", false, FLOAT16, 1e-2],
  ["opset-23 RotaryEmbedding float32", true, FLOAT, 2e-4],
] as const) {
  test(`onnx ${label}: cache rows grown to the plan's context, ORT rotation equals the reference`, async () => {
    const dir = tempDir("cache");
    const model = cacheModel({ dir, standard, dataType, genai: !standard });
    const info = inspectOnnx(model);
    assert.equal(info.found.style, standard ? "onnx-rotary-cache" : "ort-genai-cache");
    assert.deepEqual([info.spec.theta, info.spec.rotaryDim, info.spec.context, info.found.cacheRows], [THETA, DIM, CONTEXT, CONTEXT]);
    // Before patching, positions past the cache are rejected by ONNX Runtime.
    await assert.rejects(runRotary(model, standard));
    writeFileSync(join(dir, "tokenizer.json"), "{}");
    writeFileSync(join(dir, "model_fp16.onnx"), "another model, not carried");
    const dry = patchOnnx({ source: model, plan: yarn4, out: `${dir}-out`, dryRun: true });
    assert.ok(!existsSync(`${dir}-out`), "dry run writes nothing");
    assert.ok(dry.changes.some((c) => c.includes(`[${CONTEXT},${DIM / 2}] -> [${4 * CONTEXT},${DIM / 2}]`)));
    const res = patchOnnx({ source: model, plan: yarn4, out: `${dir}-out` });
    assert.deepEqual(readdirSync(`${dir}-out`).sort(), standard ? ["model.onnx", "tokenizer.json"] : ["genai_config.json", "model.onnx", "tokenizer.json"]);
    assert.deepEqual(res.files.map((f) => f.path).sort(), dry.files.map((f) => f.path).sort());
    if (!standard) assert.match(res.diff, /\+\s+"context_length": 1024/);
    const after = inspectOnnx(res.model);
    assert.equal(after.found.cacheRows, 4 * CONTEXT);
    assert.equal(verifyOnnx({ model: res.model, ...yarn4 }).status, "pass");
    assert.equal(verifyOnnx({ model: res.model, ...yarn4, context: 8 * CONTEXT }).status, "fail");
    assert.equal(verifyOnnx({ model, ...yarn4 }).status, "fail");
    const y = await runRotary(res.model, standard);
    const err = maxAbsDiff(y, rotatedReference(yarn4.invFreq, yarn4.attentionFactor));
    assert.ok(err < tol, `max error ${err}`);
    if (!standard) {
      const g = JSON.parse(readFileSync(join(`${dir}-out`, "genai_config.json"), "utf8"));
      assert.deepEqual([g.model.context_length, g.search.max_length, g.model.decoder.head_size], [4 * CONTEXT, 4 * CONTEXT, DIM]);
    }
  }, { timeoutMs: 60_000 });
}

test("onnx GroupQueryAttention (do_rotary=1) with bfloat16 caches: found, rows grown, values within bf16 rounding", () => {
  const dir = tempDir("gqa");
  const model = join(dir, "model.onnx");
  const { cos, sin } = cacheRows(plainInvFreq(THETA, DIM), 1, CONTEXT);
  const inputs = ["q", "k", "v", "past_k", "past_v", "seqlens_k", "total_len", "cc", "sc"];
  writeModel({
    path: model,
    nodes: [node("GroupQueryAttention", inputs, ["o", "present_k", "present_v"], { domain: "com.microsoft", attribute: [intAttr("do_rotary", 1), intAttr("num_heads", 1), intAttr("kv_num_heads", 1)] })],
    initializers: [tensor("cc", [CONTEXT, DIM / 2], BFLOAT16, cos), tensor("sc", [CONTEXT, DIM / 2], BFLOAT16, sin)],
    inputs: ["q", "k", "v", "past_k", "past_v"].map((n) => valueInfo(n, BFLOAT16, [1, "s", DIM])).concat([valueInfo("seqlens_k", 6, [1]), valueInfo("total_len", 6, [])]),
    outputs: [valueInfo("o", BFLOAT16, [1, "s", DIM])],
    msOpset: true,
  });
  const info = inspectOnnx(model);
  assert.equal(info.found.style, "ort-genai-cache");
  assert.deepEqual([info.spec.theta, info.spec.rotaryDim, info.found.tensors[0].dtype], [THETA, DIM, "bfloat16"]);
  const res = patchOnnx({ source: model, plan: yarn4, out: `${dir}-out` });
  const values = readCache(res.model, "cc");
  assert.equal(values.length, 4 * CONTEXT * (DIM / 2));
  const ref = cacheRows(yarn4.invFreq, yarn4.attentionFactor, 4 * CONTEXT).cos;
  // bfloat16 keeps 8 bits: half an ulp is 2^-8 of the value (≤ 1.14 here), plus the f32 angle rounding.
  assert.ok(maxAbsDiff(values, ref) < 1.14 * 2 ** -8 + 1e-4);
});

function readCache(model: string, name: string): Float64Array {
  const file = new FileSource(model);
  try {
    const layout = readLayout(file, model);
    const init = layout.initializers.find((i) => i.header.name === name);
    assert.ok(init);
    return readTensorValues(file, init.header, model);
  } finally {
    file.close();
  }
}

test("onnx GroupQueryAttention (do_rotary=1) float32: after patching, ORT's rotated keys at 1024 tokens equal the reference", async () => {
  const dir = tempDir("gqa32");
  const model = join(dir, "model.onnx");
  const { cos, sin } = cacheRows(plainInvFreq(THETA, DIM), 1, CONTEXT);
  writeModel({
    path: model,
    nodes: [
      node("GroupQueryAttention", ["q", "k", "v", "", "", "seqlens_k", "total_len", "cc", "sc"], ["o", "present_k", "present_v"], {
        domain: "com.microsoft",
        attribute: [intAttr("do_rotary", 1), intAttr("num_heads", 1), intAttr("kv_num_heads", 1)],
      }),
    ],
    initializers: [tensor("cc", [CONTEXT, DIM / 2], FLOAT, cos), tensor("sc", [CONTEXT, DIM / 2], FLOAT, sin)],
    inputs: [...["q", "k", "v"].map((n) => valueInfo(n, FLOAT, [1, "s", DIM])), valueInfo("seqlens_k", 6, [1]), valueInfo("total_len", 6, [])],
    outputs: [valueInfo("o", FLOAT, [1, "s", DIM]), valueInfo("present_k", FLOAT, [1, 1, "t", DIM]), valueInfo("present_v", FLOAT, [1, 1, "t", DIM])],
    msOpset: true,
  });
  const res = patchOnnx({ source: model, plan: yarn4, out: `${dir}-out` });
  const n = 4 * CONTEXT;
  const k = Array.from({ length: n * DIM }, (_, i) => Math.sin(i * 0.37) + 0.5);
  const qkv = new ort.Tensor("float32", Float32Array.from(k), [1, n, DIM]);
  const session = await ort.InferenceSession.create(res.model, { logSeverityLevel: 4 });
  // present_k holds the keys after GroupQueryAttention's own rotary, at positions 0..n-1.
  const out = await session.run({
    q: qkv,
    k: qkv,
    v: qkv,
    seqlens_k: new ort.Tensor("int32", Int32Array.from([n - 1]), [1]),
    total_len: new ort.Tensor("int32", Int32Array.from([n]), []),
  });
  await session.release();
  const present = out.present_k.data as Float32Array;
  let err = 0;
  for (const p of PROBE) {
    const ref = referenceRow(yarn4.invFreq, yarn4.attentionFactor, p);
    const expected = rotate(k.slice(p * DIM, (p + 1) * DIM), ref.cos.slice(0, DIM / 2), ref.sin.slice(0, DIM / 2));
    err = Math.max(err, maxAbsDiff(present.subarray(p * DIM, (p + 1) * DIM), expected));
  }
  assert.ok(err < 4e-4, `max error ${err}`);
}, { timeoutMs: 60_000 });

test("onnx llama3-scaled inv_freq: refused alone, recognised when the config.json beside it computes the same values", async () => {
  const dir = tempDir("llama3");
  const model = join(dir, "model.onnx");
  const llama3: RopeSpec = {
    theta: 500000,
    headDim: DIM,
    rotaryDim: DIM,
    context: 131072,
    originalContext: 8192,
    scaling: { method: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192 },
  };
  const inv = computeRope(llama3).invFreq;
  writeModel({
    path: model,
    nodes: invFreqGraphNodes({ inv: "inv" }),
    initializers: [tensor("inv", [1, DIM / 2, 1], FLOAT, inv), int64Tensor("axes_1", [1])],
    inputs: posInput,
    outputs: trigOutputs,
  });
  assert.throws(() => inspectOnnx(model), /not a geometric series/);
  writeFileSync(
    join(dir, "config.json"),
    JSON.stringify({
      model_type: "llama",
      head_dim: DIM,
      max_position_embeddings: 131072,
      rope_theta: 500000,
      rope_scaling: { rope_type: "llama3", factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8192 },
    }),
  );
  const info = inspectOnnx(model);
  assert.equal(info.spec.scaling.method, "llama3");
  assert.deepEqual([info.spec.theta, info.spec.context], [500000, 131072]);
});
